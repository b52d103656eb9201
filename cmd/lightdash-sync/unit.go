package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/daemon"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/lease"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// unit is one Lightdash target's daemon: its own sources (an LDAP
// session, a NATS durable consumer), worker, state, loop and, with
// ha.enabled, lease. Units share nothing but the process, the logger and
// the metrics registry (each unit's collectors carry a target label).
type unit struct {
	name    string // "" for a configuration without targets
	cfg     *config.Config
	log     *zap.Logger
	app     *app
	d       *daemon.Daemon
	elector *lease.Elector // nil without ha.enabled
	spread  *spreader
}

// startUnit builds one unit from its configuration (see config.Units).
func startUnit(ctx context.Context, cfg *config.Config, log *zap.Logger, reg *prometheus.Registry, spread *spreader) (*unit, error) {
	var ureg prometheus.Registerer = reg
	if cfg.TargetName != "" {
		log = log.With(zap.String("target", cfg.TargetName))
		ureg = prometheus.WrapRegistererWith(prometheus.Labels{"target": cfg.TargetName}, reg)
	}
	a, err := buildApp(ctx, cfg, log, ureg, false)
	if err != nil {
		return nil, err
	}
	u := &unit{name: cfg.TargetName, cfg: cfg, log: log, app: a, spread: spread}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	loc, _ := cfg.Schedule.Location()
	var watched []daemon.Watched
	for _, s := range a.sources {
		if w, ok := s.(worker.Watcher); ok {
			watched = append(watched, daemon.Watched{Name: s.Name(), Watcher: w})
		}
	}
	u.d, err = daemon.New(a.worker, watched, daemon.Config{
		Schedule: cfg.Schedule.Reconcile, Location: loc,
		Debounce: cfg.Schedule.Debounce, MaxDelay: cfg.Schedule.MaxDelay,
		Concurrency: cfg.Sync.Concurrency,
	}, log.Named("daemon"), ureg)
	if err != nil {
		return nil, usageError{err}
	}
	if cfg.HA.Enabled {
		js, err := a.jetStream(ctx, cfg.HA.Source)
		if err != nil {
			return nil, err
		}
		lc := lease.Config{Bucket: cfg.HA.Bucket, Key: stateKey(cfg), TTL: cfg.HA.LeaseTTL}
		if spread != nil {
			lc.AcquireDelay = func() time.Duration { return spreadDelay(spread.leading(), cfg.HA.LeaseTTL/3) }
		}
		u.elector, err = lease.New(ctx, js, lc, log.Named("lease"), ureg)
		if err != nil {
			return nil, fmt.Errorf("leader election: %w", err)
		}
	}
	log.Info("target ready to run", zap.String("lightdash", cfg.Lightdash.URL), zap.Int("watched", len(watched)))
	ok = true
	return u, nil
}

// run runs the unit until ctx ends: at once for a single instance, or
// for every leadership term this replica wins with ha.enabled. A standby
// watches nothing and writes nothing; the leader stops writing before its
// lease could have expired (see package lease).
func (u *unit) run(ctx context.Context) error {
	if u.elector == nil {
		return u.d.Run(ctx)
	}
	u.log.Info("campaigning for leadership", zap.String("identity", u.elector.Identity()), zap.String("unit", u.elector.Unit()))
	return u.elector.Run(ctx, func(leaderCtx context.Context) {
		if u.spread != nil {
			u.spread.n.Add(1)
			defer u.spread.n.Add(-1)
		}
		u.log.Info("elected leader: watching sources and applying changes")
		if err := u.d.Run(leaderCtx); err != nil {
			u.log.Error("daemon stopped", zap.Error(err))
		}
		u.log.Info("leadership term over: stopped writing")
	})
}

// spreader counts the units this replica leads, for spreadDelay.
type spreader struct{ n atomic.Int32 }

func (s *spreader) leading() int { return int(s.n.Load()) }

// maxSpreadSteps caps spreadDelay: a replica leading many units still
// takes a free lease nobody else takes within about one lease TTL.
const maxSpreadSteps = 3

// spreadDelay is how long a replica that leads `leading` units waits
// before taking a free lease: one step (the lease's poll interval, a
// third of its TTL) per unit led, at most maxSpreadSteps. A replica
// leading fewer units polls within one step, so it gets there first;
// every replica campaigning for every unit then spreads M targets over
// N replicas instead of one replica winning them all. A replica leading
// nothing takes a free lease at once.
func spreadDelay(leading int, step time.Duration) time.Duration {
	if leading <= 0 || step <= 0 {
		return 0
	}
	return time.Duration(min(leading, maxSpreadSteps)) * step
}
