package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

func reconcileCommand() *command {
	return &command{
		name:  "reconcile",
		short: "run one full reconciliation, then exit",
		long: `Reads every source and Lightdash, plans, applies the plan and exits: for cron,
systemd timers and Kubernetes CronJobs.

--plan FILE applies a plan saved by 'plan --out FILE' instead of computing a
new one, and only if the directory and Lightdash still hold what it was
computed from; otherwise it refuses and says why.

--allow-deletions lets deletions and member removals through this once when a
safety threshold held them back. --dry-run plans and logs but writes nothing.

Exits 0 when everything was applied, 1 when any change failed or the run was
blocked by a safety limit (additions are still applied), 2 on a usage or
configuration error.`,
		flags: func(fs *flag.FlagSet, o *options) {
			configFlags(fs, o)
			fs.BoolVar(&o.dryRun, "dry-run", false, "plan and log, but write nothing (sync.dry_run)")
			fs.StringVar(&o.planFile, "plan", "", "apply this saved plan (from plan --out) instead of computing one")
			fs.BoolVar(&o.allowDeletions, "allow-deletions", false, "apply deletions and removals a safety threshold held back, this run only")
		},
		run: runReconcile,
	}
}

func runReconcile(ctx context.Context, o *options) error {
	cfg, log, err := setup(o)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr
	a, err := buildApp(ctx, cfg, log, nil, o.allowDeletions)
	if err != nil {
		return err
	}
	defer a.Close()

	if cfg.Sync.DryRun {
		if o.planFile != "" {
			return usageError{errors.New("--plan and --dry-run together: use plan to see a plan")}
		}
		p, err := a.worker.Plan(ctx)
		if err != nil {
			return err
		}
		log.Info("dry run: nothing written", zap.Bool("changes", p.HasChanges()), zap.Int("writes", p.Writes()))
		printPlan(o.stdout, p)
		return nil
	}

	var res *worker.Result
	if o.planFile != "" {
		p, err := readPlanFile(o.planFile)
		if err != nil {
			return usageError{err}
		}
		res, err = a.worker.ApplySaved(ctx, p)
		if err != nil {
			return err
		}
	} else if res, err = a.worker.Reconcile(ctx); err != nil {
		return err
	}
	return reportResult(o, res)
}

// reportResult prints the summary and turns failures or a block into exit 1.
func reportResult(o *options, res *worker.Result) error {
	fmt.Fprintf(o.stdout, "Reconciled: %s\n", res.Summary)
	for _, f := range res.Failures {
		fmt.Fprintf(o.stdout, "  FAILED %s %s: %s\n", f.Op, quote(f.Name), f.Error)
	}
	switch {
	case len(res.Failures) > 0:
		return fmt.Errorf("%d changes failed (see above); the next run retries them", len(res.Failures))
	case res.Blocked:
		return fmt.Errorf("blocked by a safety limit: %s; additions were applied; rerun with --allow-deletions after checking the plan", res.BlockedReason)
	}
	return nil
}
