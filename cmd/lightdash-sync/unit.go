package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker/daemon"
	"github.com/lightdash-sync/lightdash-sync/worker/lease"
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
	spread  *lease.Spreader
}

// startUnit builds one unit from its configuration (see config.Units).
func startUnit(ctx context.Context, cfg *config.Config, log *zap.Logger, reg *prometheus.Registry, spread *lease.Spreader) (*unit, error) {
	var ureg prometheus.Registerer = reg
	if cfg.TargetName != "" {
		log = log.With(zap.String("target", cfg.TargetName))
		ureg = prometheus.WrapRegistererWith(prometheus.Labels{"target": cfg.TargetName}, reg)
	}
	a, err := buildApp(ctx, cfg, log, appMode{daemon: true, reg: ureg})
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
		if w, ok := s.(sources.Watcher); ok {
			watched = append(watched, daemon.Watched{Name: s.Name(), Watcher: w})
		}
	}
	u.d, err = daemon.New(releasing{a.worker}, watched, daemon.Config{
		Schedule: cfg.Schedule.Reconcile, Location: loc,
		Debounce: cfg.Schedule.Debounce, MaxDelay: cfg.Schedule.MaxDelay,
		Concurrency: cfg.Sync.Concurrency,
		// Under HA, Run's context is a leadership term: in-flight work
		// must stop with it, not drain past it (cmd/internal/chaos
		// TestFlapping caught late PATCHes after a NATS cut).
		AbortOnStop: cfg.HA.Enabled,
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
		poll := lease.DefaultRenewEvery(cfg.HA.LeaseTTL) // lc leaves RenewEvery at its default
		lc.AcquireDelay = func() time.Duration { return spread.Delay(cfg.TargetName, time.Now(), poll) }
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
		u.spread.Elected(u.name)
		defer u.spread.Ended()
		u.log.Info("elected leader: watching sources and applying changes")
		// Every Lightdash call runs under leaderCtx (daemon AbortOnStop),
		// so none starts once it ends: that instant, logged here, is when
		// this replica stops writing to Lightdash. Winding down (sources
		// closing, a state save waiting out a NATS reconnect, which the
		// state's revision check fences) can take seconds more; the line
		// after Run returns says when that is done.
		var once sync.Once
		writesEnded := func() {
			once.Do(func() {
				u.log.Info("leadership term ended: no more Lightdash writes", zap.NamedError("cause", context.Cause(leaderCtx)))
			})
		}
		stop := context.AfterFunc(leaderCtx, writesEnded)
		if err := u.d.Run(leaderCtx); err != nil {
			u.log.Error("daemon stopped", zap.Error(err))
		}
		stop()
		if leaderCtx.Err() != nil {
			writesEnded() // waits for the AfterFunc's line if it is being written: the lines stay in order
		}
		u.log.Info("leadership term over: stopped writing")
	})
}
