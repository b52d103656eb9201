package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/worker"
	"github.com/lightdash-sync/lightdash-sync/worker/lease"
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
configuration error. With several targets (config targets:) it reconciles
each in turn, going on after a failure, and exits with the worst result;
--target NAME reconciles only that one.`,
		flags: func(fs *flag.FlagSet, o *options) {
			configFlags(fs, o)
			fs.BoolVar(&o.dryRun, "dry-run", false, "plan and log, but write nothing (sync.dry_run)")
			fs.StringVar(&o.planFile, "plan", "", "apply this saved plan (from plan --out) instead of computing one")
			fs.BoolVar(&o.allowDeletions, "allow-deletions", false, "apply deletions and removals a safety threshold held back, this run only")
			targetFlag(fs, o)
		},
		run: runReconcile,
	}
}

func runReconcile(ctx context.Context, o *options) error {
	defer startProgress(ctx, o)()
	cfg, log, err := setup(o)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr
	if o.planFile != "" && o.target == "" && len(cfg.Targets) > 1 {
		return usageError{errors.New("--plan applies one target's plan: add --target NAME")}
	}
	return forEachUnit(o, cfg, log, func(cfg *config.Config, log *zap.Logger) error {
		return reconcileUnit(ctx, o, cfg, log)
	})
}

// reconcileUnit reconciles one target.
func reconcileUnit(ctx context.Context, o *options, cfg *config.Config, log *zap.Logger) error {
	a, err := buildApp(ctx, cfg, log, appMode{allowDeletions: o.allowDeletions})
	if err != nil {
		return err
	}
	defer a.Close()
	o.followProgress(a.progress)

	if cfg.Sync.DryRun {
		if o.planFile != "" {
			return usageError{errors.New("--plan and --dry-run together: use plan to see a plan")}
		}
		p, err := a.worker.Plan(ctx)
		if err != nil {
			return err
		}
		log.Info("dry run: nothing written", zap.Bool("changes", p.HasChanges()), zap.Int("writes", p.Writes()))
		o.clearProgress()
		printPlan(o.stdout, p)
		return nil
	}

	var p *worker.Plan
	if o.planFile != "" {
		if p, err = readPlanFile(o.planFile); err != nil {
			return usageError{err}
		}
	}
	apply := func(ctx context.Context) (*worker.Result, error) {
		if p != nil {
			return a.worker.ApplySaved(ctx, p)
		}
		return a.worker.Reconcile(ctx)
	}
	var res *worker.Result
	if cfg.HA.Enabled {
		res, err = asLeader(ctx, a, log, apply)
	} else {
		res, err = apply(ctx)
	}
	if err != nil {
		return err
	}
	return reportResult(o, res)
}

// asLeader runs f holding the same lease the daemons campaign for, so a
// scheduled reconcile never writes at the same time as a running daemon.
// It waits two lease lifetimes for the lease, then gives up.
func asLeader(ctx context.Context, a *app, log *zap.Logger, f func(context.Context) (*worker.Result, error)) (*worker.Result, error) {
	cfg := a.cfg
	js, err := a.jetStream(ctx, cfg.HA.Source)
	if err != nil {
		return nil, err
	}
	el, err := lease.New(ctx, js, lease.Config{Bucket: cfg.HA.Bucket, Key: stateKey(cfg), TTL: cfg.HA.LeaseTTL}, log.Named("lease"), nil)
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	wait, cancel := context.WithTimeout(ctx, 2*cfg.HA.LeaseTTL+5*time.Second)
	defer cancel()
	var res *worker.Result
	var ferr error
	ran := false
	if err := el.Run(wait, func(leaderCtx context.Context) {
		ran = true
		res, ferr = f(leaderCtx)
		cancel()
	}); err != nil {
		return nil, err
	}
	if !ran {
		return nil, fmt.Errorf("another replica (%s) holds the lease for this Lightdash; reconcile does not write beside a running daemon: send it SIGUSR1 or POST /reconcile instead", el.Holder())
	}
	return res, ferr
}

// reportResult prints the summary and turns failures or a block into exit 1.
func reportResult(o *options, res *worker.Result) error {
	o.clearProgress()
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
