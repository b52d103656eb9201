package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func planCommand() *command {
	return &command{
		name:  "plan",
		short: "dry run: read everything, write nothing, print the plan",
		long: `Reads every source and Lightdash, computes what a reconciliation would do and
prints it. Writes nothing to Lightdash and nothing to the state store.

--output table (the default) prints one line per change for people;
--output json prints the plan for machines, and --out FILE saves that JSON so
that 'reconcile --plan FILE' can apply exactly it later (it refuses if the
directory or Lightdash changed in between).

With --detailed-exitcode the exit code says what the plan holds, as Terraform's
does: 0 nothing to do, 2 changes pending, 1 error.

With several targets (config targets:) it plans each in turn and exits with
the worst result; --target NAME plans only that one (needed with --out).`,
		flags: func(fs *flag.FlagSet, o *options) {
			configFlags(fs, o)
			fs.StringVar(&o.output, "output", "table", "output format: table or json")
			fs.StringVar(&o.outFile, "out", "", "also save the plan as JSON to this file")
			fs.BoolVar(&o.detailedExitCode, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when changes are pending, 1 on error")
			targetFlag(fs, o)
		},
		run: runPlan,
	}
}

func runPlan(ctx context.Context, o *options) error {
	if o.output != "table" && o.output != "json" {
		return usageError{fmt.Errorf("--output %q: want table or json", o.output)}
	}
	defer startProgress(ctx, o)()
	cfg, log, err := setup(o)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr
	if o.outFile != "" && o.target == "" && len(cfg.Targets) > 1 {
		return usageError{errors.New("--out saves one target's plan: add --target NAME")}
	}
	return forEachUnit(o, cfg, log, func(cfg *config.Config, log *zap.Logger) error {
		return planUnit(ctx, o, cfg, log)
	})
}

// planUnit plans one target.
func planUnit(ctx context.Context, o *options, cfg *config.Config, log *zap.Logger) error {
	a, err := buildApp(ctx, cfg, log, appMode{})
	if err != nil {
		return err
	}
	defer a.Close()
	o.followProgress(a.progress)
	p, err := a.worker.Plan(ctx)
	o.clearProgress()
	if err != nil {
		return err
	}
	// Reading is the cost of a warm run: the calls (each list page is one) show it.
	log.Info("plan read Lightdash", zap.Int64("apiCalls", a.ld.RequestCount()))
	if o.outFile != "" {
		if err := writePlanFile(o.outFile, p); err != nil {
			return err
		}
	}
	switch o.output {
	case "json":
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return err
		}
	default:
		printPlan(o.stdout, p)
	}
	if o.detailedExitCode && p.HasChanges() {
		return exitError{code: exitChanges}
	}
	return nil
}

// writePlanFile saves the plan atomically, readable only by its owner: it
// names every group and member uuid.
func writePlanFile(path string, p *worker.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-*.json")
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save plan: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

// readPlanFile loads a plan saved by plan --out.
func readPlanFile(path string) (*worker.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var p worker.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("read plan %s: not a saved plan: %w", path, err)
	}
	return &p, nil
}
