package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/admin"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker/daemon"
	"github.com/lightdash-sync/lightdash-sync/worker/lease"
)

func runCommand() *command {
	return &command{
		name:  "run",
		short: "the daemon: follow directory changes live, reconcile on a schedule",
		long: `Runs until SIGTERM or SIGINT. Watches every source (LDAP syncrepl, DirSync or
polling; NATS JetStream events) and applies each change to Lightdash after a short
debounce; runs a full reconciliation at start-up, on schedule.reconcile, on SIGUSR1
and on POST /reconcile (with the admin token).

The admin listener (admin.listen, default 127.0.0.1:9464) serves /healthz,
/readyz, /metrics and, with the admin token, /status. SIGHUP reloads the
configuration file: the new configuration is connected before the running one
stops; one that does not load or cannot start is logged and the running one
goes on.

On SIGTERM it stops taking events, lets in-flight work finish (up to 30s),
hands pending events back for redelivery, saves its state and exits 0. With
ha.enabled in-flight work is handed back at once instead: the leadership term
is over, and another replica may already be writing.

With several targets (config targets:) each target is an independent unit with
its own sources, state and, with ha.enabled, lease; replicas share the targets.
POST /reconcile?target=NAME reconciles one.`,
		flags: func(fs *flag.FlagSet, o *options) {
			configFlags(fs, o)
			fs.BoolVar(&o.dryRun, "dry-run", false, "plan and log, but write nothing (sync.dry_run)")
		},
		run: runDaemon,
	}
}

func runDaemon(ctx context.Context, o *options) error {
	cfg, log, err := setup(o)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr
	tuneGC(os.Getenv, log)

	hup := make(chan os.Signal, 1)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(hup)
	defer signal.Stop(usr1)

	pm := newProcessMetrics()
	adm := &adminListener{log: log}
	defer adm.close()
	gen, ln, err := buildGeneration(ctx, cfg, log, adm)
	if err != nil {
		return err
	}
	gen.start(log, pm, adm, ln)
	for {
		select {
		case err := <-gen.done:
			gen.close()
			return err
		case <-usr1:
			log.Info("SIGUSR1: full reconciliation requested")
			_ = gen.h.requestReconcile("", false)
		case <-hup:
			next, err := reload(ctx, o, log, pm, adm, gen)
			if err != nil {
				return err
			}
			gen = next
		}
	}
}

// generation is the daemon running with one configuration.
type generation struct {
	cfg    *config.Config
	h      *daemonHandle
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error // h.run's result, once started
}

// buildGeneration builds the daemon from cfg, connecting its sources,
// state store and lease, and binds its admin address when that changed
// (see adminListener.prepare), without starting anything.
func buildGeneration(ctx context.Context, cfg *config.Config, log *zap.Logger, adm *adminListener) (*generation, net.Listener, error) {
	genCtx, cancel := context.WithCancel(ctx)
	h, err := startDaemon(genCtx, cfg, log)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	g := &generation{cfg: cfg, h: h, ctx: genCtx, cancel: cancel, done: make(chan error, 1)}
	ln, err := adm.prepare(cfg)
	if err != nil {
		g.close()
		return nil, nil, err
	}
	return g, ln, nil
}

// start points the admin listener at the generation (on ln when the
// address changed, see adminListener.prepare) and runs it.
func (g *generation) start(log *zap.Logger, pm *processMetrics, adm *adminListener, ln net.Listener) {
	adm.serve(g.cfg, ln, g.h.adminHandler(g.cfg, time.Now(), pm.reg).ServeMux())
	go func() { g.done <- g.h.run(g.ctx, log) }()
}

// stop ends a started generation's loops, then closes its connections.
func (g *generation) stop() error {
	g.cancel()
	err := <-g.done
	g.close()
	return err
}

// close closes the generation's connections.
func (g *generation) close() {
	g.h.Close()
	g.cancel()
}

// reload answers SIGHUP. The new configuration is loaded, its sources
// connected and its admin address bound while the old one still runs;
// only then is the old one stopped and the new one started. One that
// does not load or cannot start leaves the old one running (and counted
// in lightdash_sync_config_reloads_total). The error is the old
// generation's, which ends the daemon as it always did.
func reload(ctx context.Context, o *options, log *zap.Logger, pm *processMetrics, adm *adminListener, old *generation) (*generation, error) {
	cfg, err := loadConfig(o)
	if err != nil {
		pm.reloads.WithLabelValues("rejected").Inc()
		log.Error("SIGHUP: new configuration rejected; keeping the running one", zap.Error(err))
		return old, nil
	}
	next, ln, err := buildGeneration(ctx, cfg, log, adm)
	if err != nil {
		pm.reloads.WithLabelValues("failed").Inc()
		log.Error("SIGHUP: new configuration did not start; keeping the running one", zap.Error(err))
		return old, nil
	}
	if err := old.stop(); err != nil {
		next.close()
		if ln != nil {
			ln.Close()
		}
		return nil, err
	}
	next.start(log, pm, adm, ln)
	pm.reloads.WithLabelValues("ok").Inc()
	log.Info("configuration reloaded; running with it")
	return next, nil
}

// processMetrics outlive a configuration reload: each generation
// registers its own metrics afresh, /metrics serves both.
type processMetrics struct {
	reg     *prometheus.Registry
	reloads *prometheus.CounterVec
}

func newProcessMetrics() *processMetrics {
	pm := &processMetrics{reg: prometheus.NewRegistry(), reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lightdash_sync_config_reloads_total",
		Help: "SIGHUP configuration reloads by result: ok, rejected (the file does not load), failed (it did not start; the running configuration goes on).",
	}, []string{"result"})}
	pm.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), pm.reloads)
	return pm
}

// daemonHandle is the daemon built from a configuration: one unit per
// Lightdash target, and the admin listener up, ready to run.
type daemonHandle struct {
	units   []*unit
	reg     *prometheus.Registry // the units' metrics
	closers []func()
}

// run runs every unit until ctx ends. A unit whose loop fails stops the
// others, as a single target's failure always stopped the daemon.
func (h *daemonHandle) run(ctx context.Context, log *zap.Logger) error {
	if len(h.units) == 1 {
		return h.units[0].run(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(h.units))
	for _, u := range h.units {
		go func() {
			err := u.run(ctx)
			if err != nil {
				err = fmt.Errorf("target %s: %w", u.name, err)
				cancel()
			}
			errs <- err
		}()
	}
	var all []error
	for range h.units {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// requestReconcile asks every unit, or the one named target, for a full
// reconciliation; with fullRead its sources read the directory in full.
func (h *daemonHandle) requestReconcile(target string, fullRead bool) error {
	for _, u := range h.units {
		if target == "" || u.name == target {
			if fullRead {
				u.d.RequestFullRead()
			} else {
				u.d.RequestReconcile()
			}
			if target != "" {
				return nil
			}
		}
	}
	if target != "" {
		return fmt.Errorf("%w: %q", admin.ErrUnknownTarget, target)
	}
	return nil
}

// Close closes the sources.
func (h *daemonHandle) Close() {
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
}

// startDaemon builds one unit per target.
func startDaemon(ctx context.Context, cfg *config.Config, log *zap.Logger) (*daemonHandle, error) {
	reg := prometheus.NewRegistry()
	h := &daemonHandle{reg: reg}
	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	spread := &lease.Spreader{}
	for _, ucfg := range cfg.Units() {
		u, err := startUnit(ctx, ucfg, log, reg, spread)
		if err != nil {
			if ucfg.TargetName != "" {
				err = fmt.Errorf("target %s: %w", ucfg.TargetName, err)
			}
			return nil, err
		}
		h.closers = append(h.closers, u.app.Close)
		h.units = append(h.units, u)
	}
	log.Info("lightdash-sync running", zap.String("version", versionString()), zap.Int("targets", len(h.units)), zap.Int("sources", len(cfg.Sources)),
		zap.String("schedule", cfg.Schedule.Reconcile), zap.Bool("leader_election", cfg.HA.Enabled))
	if !cfg.HA.Enabled {
		log.Info("running as a single instance (ha.enabled is false): do not run a second replica against the same Lightdash")
	}
	ok = true
	return h, nil
}

// connectionReporter is implemented by sources that know their connection
// state (NATS).
type connectionReporter interface {
	Connected() bool
	State() string
}

// sourceUp says whether a source is usable: its watcher runs and, when it
// can tell, its connection is up.
func sourceUp(d *daemon.Daemon, s sources.Source) (bool, string) {
	if _, ok := s.(sources.Watcher); ok && !d.Watching(s.Name()) {
		return false, "is not watching"
	}
	if c, ok := s.(connectionReporter); ok && !c.Connected() {
		return false, "is " + strings.ToLower(c.State())
	}
	return true, ""
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
