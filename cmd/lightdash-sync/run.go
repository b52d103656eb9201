package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
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
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/daemon"
	"github.com/lightdash-sync/lightdash-sync/worker"
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
/readyz, /metrics and /status. SIGHUP reloads the configuration file: a new
configuration that does not load is rejected and the running one goes on.

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

	for {
		reload, err := runGeneration(ctx, o, cfg, log, hup, usr1)
		if err != nil || reload == nil {
			return err
		}
		log.Info("configuration reloaded; restarting with it")
		cfg = reload
	}
}

// runGeneration runs the daemon with one configuration until ctx ends
// (returns nil, nil) or SIGHUP brings a valid new configuration (returns it).
func runGeneration(ctx context.Context, o *options, cfg *config.Config, log *zap.Logger, hup, usr1 <-chan os.Signal) (*config.Config, error) {
	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	h, err := startDaemon(genCtx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	done := make(chan error, 1)
	go func() { done <- h.run(genCtx, log) }()
	for {
		select {
		case err := <-done:
			return nil, err
		case <-usr1:
			log.Info("SIGUSR1: full reconciliation requested")
			_ = h.requestReconcile("")
		case <-hup:
			next, err := loadConfig(o)
			if err != nil {
				log.Error("SIGHUP: new configuration rejected; keeping the running one", zap.Error(err))
				continue
			}
			cancel()
			if err := <-done; err != nil {
				return nil, err
			}
			return next, nil
		}
	}
}

// daemonHandle is the daemon built from a configuration: one unit per
// Lightdash target, and the admin listener up, ready to run.
type daemonHandle struct {
	units     []*unit
	adminAddr string
	closers   []func()
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
// reconciliation.
func (h *daemonHandle) requestReconcile(target string) error {
	for _, u := range h.units {
		if target == "" || u.name == target {
			u.d.RequestReconcile()
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

// Close stops the admin listener and closes the sources.
func (h *daemonHandle) Close() {
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
}

// startDaemon builds one unit per target and starts the admin listener.
func startDaemon(ctx context.Context, cfg *config.Config, log *zap.Logger) (*daemonHandle, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := &daemonHandle{}
	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	spread := &spreader{}
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
	if cfg.Admin.Listen != "" {
		addr, stop, err := serveAdmin(cfg, log, reg, h, time.Now())
		if err != nil {
			return nil, err
		}
		h.adminAddr = addr
		h.closers = append(h.closers, stop)
	}
	log.Info("lightdash-sync running", zap.String("version", versionString()), zap.Int("targets", len(h.units)), zap.Int("sources", len(cfg.Sources)),
		zap.String("schedule", cfg.Schedule.Reconcile), zap.Bool("leader_election", cfg.HA.Enabled))
	if !cfg.HA.Enabled {
		log.Info("running as a single instance (ha.enabled is false): do not run a second replica against the same Lightdash")
	}
	ok = true
	return h, nil
}

// serveAdmin starts the admin listener; stop shuts it down.
func serveAdmin(cfg *config.Config, log *zap.Logger, reg *prometheus.Registry, dh *daemonHandle, started time.Time) (addr string, stop func(), err error) {
	host, _, _ := net.SplitHostPort(cfg.Admin.Listen)
	loopback := config.IsLoopbackHost(host)
	if !loopback {
		log.Warn("the admin listener is reachable from other machines; /status and /status.json need admin.token", zap.String("listen", cfg.Admin.Listen))
	}
	h := &admin.Handler{
		Status:        func() admin.Status { return dh.status(cfg, started) },
		StatusVersion: dh.runs,
		Ready:         func() (bool, string) { return dh.ready(cfg) },
		Gatherer:      reg,
		Token:         cfg.Admin.Token.Reveal(),
		Loopback:      loopback,
		Reconcile:     dh.requestReconcile,
	}
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return "", nil, fmt.Errorf("admin listener: %w", err)
	}
	srv := &admin.Server{}
	srv.SetHandler(h.ServeMux())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", zap.Error(err))
		}
	}()
	log.Info("admin listener up", zap.String("addr", ln.Addr().String()))
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// runs counts the full reconciliations every unit ended: the status
// pages are rendered again when it changes.
func (h *daemonHandle) runs() uint64 {
	var n uint64
	for _, u := range h.units {
		n += u.d.Runs()
	}
	return n
}

// connectionReporter is implemented by sources that know their connection
// state (NATS).
type connectionReporter interface {
	Connected() bool
	State() string
}

// sourceUp says whether a source is usable: its watcher runs and, when it
// can tell, its connection is up.
func sourceUp(d *daemon.Daemon, s worker.Source) (bool, string) {
	if _, ok := s.(worker.Watcher); ok && !d.Watching(s.Name()) {
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
