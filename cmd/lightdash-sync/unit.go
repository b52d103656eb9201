package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/lease"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker/daemon"
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
		if w, ok := s.(sources.Watcher); ok {
			watched = append(watched, daemon.Watched{Name: s.Name(), Watcher: w})
		}
	}
	u.d, err = daemon.New(a.worker, watched, daemon.Config{
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
		lc.AcquireDelay = func() time.Duration { return spread.delay(cfg.TargetName, time.Now(), poll) }
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
		u.spread.elected(u.name)
		defer u.spread.ended()
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

// spreader counts, for one replica, the units it leads and the ones it
// is about to take, so that each unit's lease waits according to the
// others (see spreadDelay).
type spreader struct {
	mu      sync.Mutex
	leading int
	// claims holds, per unit, until when its attempt to take a free lease
	// counts as pending: units of one replica that find their leases free
	// at the same moment must not all go at once.
	claims map[string]time.Time
}

// delay is unit's lease AcquireDelay at now; poll is the lease's poll
// interval. A zero answer means the elector attempts at once, so the
// attempt is claimed for one poll: the replica's other units count it
// until its outcome is known.
func (s *spreader) delay(unit string, now time.Time, poll time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := s.leading
	for other, until := range s.claims {
		if other != unit && now.Before(until) {
			busy++
		}
	}
	d := spreadDelay(busy, 2*poll)
	if d == 0 {
		if s.claims == nil {
			s.claims = map[string]time.Time{}
		}
		s.claims[unit] = now.Add(poll)
	}
	return d
}

// elected counts a won term; its claim is settled.
func (s *spreader) elected(unit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leading++
	delete(s.claims, unit)
}

// ended counts a term's end.
func (s *spreader) ended() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leading--
}

// maxSpreadSteps caps spreadDelay: a replica leading many units still
// takes a free lease nobody else takes.
const maxSpreadSteps = 2

// spreadDelay is how long a replica that leads (or is taking) `busy`
// other units must have seen a lease free before it takes it: one step
// per unit, at most maxSpreadSteps. The step is two lease polls, so a
// replica with fewer units, which polls within one, gets there first; M
// targets then spread over N replicas instead of one replica winning
// them all. A replica with nothing to do takes a free lease at once.
func spreadDelay(busy int, step time.Duration) time.Duration {
	if busy <= 0 || step <= 0 {
		return 0
	}
	return time.Duration(min(busy, maxSpreadSteps)) * step
}
