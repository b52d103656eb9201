package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
)

// targetFlag adds --target to a one-shot command.
func targetFlag(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.target, "target", "", "with several targets (config targets:), run only the one with this name")
}

// selectUnits returns the units a one-shot command runs: every target in
// configuration order, or the one --target names (an unknown name is a
// usage error).
func selectUnits(cfg *config.Config, target string) ([]*config.Config, error) {
	if target == "" {
		return cfg.Units(), nil
	}
	if u := cfg.Unit(target); u != nil {
		return []*config.Config{u}, nil
	}
	if len(cfg.Targets) == 0 {
		return nil, usageError{fmt.Errorf("--target %q: the configuration has no targets (it uses lightdash:)", target)}
	}
	return nil, usageError{fmt.Errorf("--target %q: no such target (targets: %s)", target, strings.Join(cfg.TargetNames(), ", "))}
}

// forEachUnit runs f for every selected unit in turn, going on after a
// failure, with a heading per target when the configuration has targets.
// The result is the worst: a usage error, then a failure (exit 1), then
// the highest exitError (plan's "changes pending").
func forEachUnit(o *options, cfg *config.Config, log *zap.Logger, f func(u *config.Config, log *zap.Logger) error) error {
	units, err := selectUnits(cfg, o.target)
	if err != nil {
		return err
	}
	if len(units) == 1 && units[0].TargetName == "" {
		return f(units[0], log)
	}
	var usage, failed []error
	code := 0
	for i, u := range units {
		if i > 0 {
			fmt.Fprintln(o.stdout)
		}
		fmt.Fprintf(o.stdout, "== target %s (%s)\n", u.TargetName, u.Lightdash.URL)
		err := f(u, log.With(zap.String("target", u.TargetName)))
		var ee exitError
		var ue usageError
		switch {
		case err == nil:
		case errors.As(err, &ue):
			usage = append(usage, fmt.Errorf("target %s: %w", u.TargetName, err))
		case errors.As(err, &ee):
			if ee.code == exitFailure {
				failed = append(failed, fmt.Errorf("target %s failed", u.TargetName))
			}
			code = max(code, ee.code)
		default:
			failed = append(failed, fmt.Errorf("target %s: %w", u.TargetName, err))
		}
	}
	switch {
	case len(usage) > 0:
		return usageError{errors.Join(append(usage, failed...)...)}
	case len(failed) > 0:
		return errors.Join(failed...)
	case code != 0:
		return exitError{code: code}
	}
	return nil
}
