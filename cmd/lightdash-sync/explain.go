package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func explainCommand() *command {
	return &command{
		name:  "explain",
		arg:   "EMAIL",
		short: "say why a person has, or lacks, their Lightdash groups",
		long: `Reads every source and Lightdash once, as plan does, and explains one person
(EMAIL, compared as Lightdash compares addresses; alternative addresses count):
their directory entries per source (disabled or not), every directory group
they are in and how (directly, or the nesting path), what the mapping makes of
each group (the rule, or why none: no rule, excluded, name collision, invalid
name), their Lightdash user (active, pending, deactivated, or none and what
identity.unmatched does about it), the Lightdash groups they are in now and
should be in, and what is held back or pending for them (grace period, safety
limits, conflicts, an incomplete read). Writes nothing.

--output json prints the same for scripts. A running daemon answers the same
question from its last full reconciliation at /explain?email=EMAIL.`,
		flags: func(fs *flag.FlagSet, o *options) {
			configFlags(fs, o)
			fs.StringVar(&o.output, "output", "table", "output format: table or json")
			targetFlag(fs, o)
		},
		run: runExplain,
	}
}

func runExplain(ctx context.Context, o *options) error {
	if o.output != "table" && o.output != "json" {
		return usageError{fmt.Errorf("--output %q: want table or json", o.output)}
	}
	cfg, log, err := setup(o)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr
	return forEachUnit(o, cfg, log, func(cfg *config.Config, log *zap.Logger) error {
		return explainUnit(ctx, o, cfg, log)
	})
}

// explainUnit explains o.arg in one target.
func explainUnit(ctx context.Context, o *options, cfg *config.Config, log *zap.Logger) error {
	a, err := buildApp(ctx, cfg, log, appMode{})
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.worker.Explain(ctx, o.arg)
	if errors.Is(err, worker.ErrBadEmail) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if o.output == "json" {
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(x)
	}
	printExplanation(o.stdout, x)
	return nil
}
