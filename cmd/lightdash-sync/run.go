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
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/lease"
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
hands pending events back for redelivery, saves its state and exits 0.`,
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
			h.d.RequestReconcile()
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

// daemonHandle is a daemon built from a configuration, with its admin
// listener up, ready to Run.
type daemonHandle struct {
	app       *app
	d         *daemon.Daemon
	elector   *lease.Elector // nil without ha.enabled
	adminAddr string
	closers   []func()
}

// run runs the daemon until ctx ends: at once for a single instance, or
// for every leadership term this replica wins with ha.enabled. A standby
// watches nothing and writes nothing; the leader stops writing before its
// lease could have expired (see package lease).
func (h *daemonHandle) run(ctx context.Context, log *zap.Logger) error {
	if h.elector == nil {
		return h.d.Run(ctx)
	}
	log.Info("campaigning for leadership", zap.String("identity", h.elector.Identity()), zap.String("unit", h.elector.Unit()))
	return h.elector.Run(ctx, func(leaderCtx context.Context) {
		log.Info("elected leader: watching sources and applying changes")
		if err := h.d.Run(leaderCtx); err != nil {
			log.Error("daemon stopped", zap.Error(err))
		}
		log.Info("leadership term over: stopped writing")
	})
}

// Close stops the admin listener and closes the sources.
func (h *daemonHandle) Close() {
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
}

// startDaemon builds the app and the daemon and starts the admin listener.
func startDaemon(ctx context.Context, cfg *config.Config, log *zap.Logger) (*daemonHandle, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := buildApp(ctx, cfg, log, reg, false)
	if err != nil {
		return nil, err
	}
	h := &daemonHandle{app: a, closers: []func(){a.Close}}
	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	loc, _ := cfg.Schedule.Location()
	var watched []daemon.Watched
	for _, s := range a.sources {
		if w, ok := s.(worker.Watcher); ok {
			watched = append(watched, daemon.Watched{Name: s.Name(), Watcher: w})
		}
	}
	h.d, err = daemon.New(a.worker, watched, daemon.Config{
		Schedule: cfg.Schedule.Reconcile, Location: loc,
		Debounce: cfg.Schedule.Debounce, MaxDelay: cfg.Schedule.MaxDelay,
		Concurrency: cfg.Sync.Concurrency,
	}, log.Named("daemon"), reg)
	if err != nil {
		return nil, usageError{err}
	}
	if cfg.HA.Enabled {
		js, err := a.jetStream(ctx, cfg.HA.Source)
		if err != nil {
			return nil, err
		}
		h.elector, err = lease.New(ctx, js, lease.Config{Bucket: cfg.HA.Bucket, Key: stateKey(cfg), TTL: cfg.HA.LeaseTTL}, log.Named("lease"), reg)
		if err != nil {
			return nil, fmt.Errorf("leader election: %w", err)
		}
	}
	if cfg.Admin.Listen != "" {
		addr, stop, err := serveAdmin(cfg, log, reg, h, time.Now())
		if err != nil {
			return nil, err
		}
		h.adminAddr = addr
		h.closers = append(h.closers, stop)
	}
	log.Info("lightdash-sync running", zap.String("version", versionString()), zap.Int("sources", len(a.sources)),
		zap.Int("watched", len(watched)), zap.String("schedule", cfg.Schedule.Reconcile), zap.Bool("leader_election", cfg.HA.Enabled))
	if !cfg.HA.Enabled {
		log.Info("running as a single instance (ha.enabled is false): do not run a second replica against the same Lightdash")
	}
	ok = true
	return h, nil
}

// serveAdmin starts the admin listener; stop shuts it down.
func serveAdmin(cfg *config.Config, log *zap.Logger, reg *prometheus.Registry, dh *daemonHandle, started time.Time) (addr string, stop func(), err error) {
	d := dh.d
	if host, _, _ := net.SplitHostPort(cfg.Admin.Listen); !config.IsLoopbackHost(host) {
		log.Warn("the admin listener is reachable from other machines; /status names groups and users", zap.String("listen", cfg.Admin.Listen))
	}
	h := &admin.Handler{
		Status:   func() admin.Status { return daemonStatus(cfg, dh, started) },
		Ready:    func() (bool, string) { return ready(cfg, dh) },
		Gatherer: reg,
		Token:    cfg.Admin.Token.Reveal(),
		Reconcile: func() error {
			d.RequestReconcile()
			return nil
		},
	}
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return "", nil, fmt.Errorf("admin listener: %w", err)
	}
	srv := &http.Server{Handler: h.ServeMux(), ReadHeaderTimeout: 10 * time.Second}
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

func ready(cfg *config.Config, h *daemonHandle) (bool, string) {
	d := h.d
	if h.elector != nil && !h.elector.IsLeader() {
		// A standby is ready to take over, which is what it is for; it must
		// not block a rolling update by never turning ready.
		return true, ""
	}
	for _, s := range h.app.sources {
		if up, why := sourceUp(d, s); !up {
			return false, "source " + s.Name() + " " + why
		}
	}
	_, lastOK := d.Last()
	if lastOK.IsZero() {
		return false, "no successful full reconciliation yet"
	}
	if age := time.Since(lastOK); age > cfg.Admin.ReadyMaxAge {
		return false, "last successful full reconciliation was " + age.Round(time.Second).String() + " ago (admin.ready_max_age " + cfg.Admin.ReadyMaxAge.String() + ")"
	}
	return true, ""
}

func daemonStatus(cfg *config.Config, h *daemonHandle, started time.Time) admin.Status {
	d := h.d
	st := admin.Status{Version: versionString(), StartedAt: started, Now: time.Now(), DryRun: cfg.Sync.DryRun}
	st.Leader = admin.Leader{Identity: hostname()}
	if e := h.elector; e != nil {
		st.Leader = admin.Leader{Enabled: true, IsLeader: e.IsLeader(), Identity: e.Identity(), Holder: e.Holder()}
	}
	for i, sc := range cfg.Sources {
		up, why := sourceUp(d, h.app.sources[i])
		st.Sources = append(st.Sources, admin.Source{Name: sc.Name, Type: sc.Type, Connected: up, Detail: why})
	}
	st.Queue.Pending, st.Queue.InFlight = d.QueueDepth()
	run, lastOK := d.Last()
	st.LastSuccess = lastOK
	if run != nil {
		r := &admin.Reconcile{Started: run.Started, Duration: run.Duration.Round(time.Millisecond).String(), Result: "ok"}
		if run.Err != nil {
			r.Result, r.Error = "failed", run.Err.Error()
		}
		if res := run.Result; res != nil {
			s := res.Summary
			r.Summary = map[string]int{"created": s.Created, "renamed": s.Renamed, "updated": s.Updated, "deleted": s.Deleted,
				"members added": s.MembersAdded, "members removed": s.MembersRemoved, "unmatched users": s.Unmatched,
				"conflicts": s.Conflicts, "failed": s.Failed, "API calls": int(s.APICalls)}
			if res.Blocked {
				r.Result, r.Blocked = "blocked", res.BlockedReason
			}
			if p := res.Plan; p != nil {
				r.Unmatched, r.Conflicts, r.HeldBack, r.Problems = p.Unmatched, p.Conflicts, p.HeldBack, p.Problems
			}
			if len(res.Failures) > 0 {
				r.Result = "failed"
			}
		}
		st.LastReconcile = r
	}
	return st
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
