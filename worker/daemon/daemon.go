// Package daemon is lightdash-sync's long-running loop: change events from
// every watcher feed one debouncing work queue keyed by directory group;
// due groups are reconciled concurrently up to a limit (one group never
// twice at once); a cron schedule, start-up and on-demand requests run
// full reconciliations, which never overlap.
//
// Events are triggers, not truth: a due group is re-read from its source
// and from Lightdash before anything is decided (worker.ReconcileGroups),
// and the full reconciliation repairs whatever events missed — it counts
// what it had to fix as drift, because that means events were lost.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
	"github.com/lightdash-sync/lightdash-sync/worker/daemon/queue"
)

// Reconciler is the part of *worker.Worker the daemon drives. The daemon
// calls Reconcile and ReconcileGroups from different goroutines and relies
// on the Reconciler to keep them apart: a full run excludes group work,
// which may run concurrently with itself (as *worker.Worker does with one
// lock for every caller, the daemon and the one-shot commands alike).
type Reconciler interface {
	Reconcile(ctx context.Context) (*worker.Result, error)
	ReconcileGroups(ctx context.Context, source string, groupIDs []string) (*worker.Result, error)
}

// Watched is a source that reports changes.
type Watched struct {
	Name    string
	Watcher sources.Watcher
}

// Config tunes the loop. Zero values take the defaults noted.
type Config struct {
	// Schedule is a 5-field cron expression or descriptor (@hourly,
	// @every 15m) in Location (UTC when nil). Empty means @hourly.
	Schedule string
	Location *time.Location
	// Debounce and MaxDelay shape the coalescing of bursts (package
	// queue): a quiet group's first change goes at once, the rest are
	// gathered. Debounce 0 applies each change as soon as it is seen (the
	// configuration's default is 500ms); MaxDelay is raised to at least
	// Debounce.
	Debounce time.Duration
	MaxDelay time.Duration
	// QueueCapacity bounds the pending groups (10000); Concurrency the
	// groups reconciled at once (4).
	QueueCapacity int
	Concurrency   int
	// ShutdownTimeout bounds how long in-flight work may finish after the
	// context ends (30s); what is still pending is handed back.
	ShutdownTimeout time.Duration
	// AbortOnStop cancels in-flight work the moment Run's context ends,
	// instead of giving it ShutdownTimeout to finish. Set it when that
	// context is a leadership term: once the term is over another replica
	// may be writing, and a write finished "gracefully" afterwards (say a
	// reconcile that was blocked on a cut NATS connection and resumes when
	// it heals) would interleave with the new leader's and could undo them.
	// The work is handed back instead: NATS redelivers it, and the next
	// leader's start-up reconciliation covers the rest.
	AbortOnStop bool
	// RetryDelay is how long a failed group waits before it is tried again
	// (30s); sources with their own redelivery (NATS) also retry.
	RetryDelay time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Schedule == "" {
		c.Schedule = "@hourly"
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.Debounce < 0 {
		c.Debounce = 0
	}
	if c.MaxDelay < c.Debounce {
		c.MaxDelay = c.Debounce
	}
	if c.QueueCapacity <= 0 {
		c.QueueCapacity = 10000
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ParseSchedule parses a cron expression or descriptor in loc.
func ParseSchedule(expr string, loc *time.Location) (cron.Schedule, error) {
	if loc != nil && loc != time.UTC && !strings.HasPrefix(expr, "CRON_TZ=") && !strings.HasPrefix(expr, "TZ=") {
		expr = "CRON_TZ=" + loc.String() + " " + expr
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return s, nil
}

// Daemon runs the loop. Build it with New.
type Daemon struct {
	r        Reconciler
	watchers []Watched
	cfg      Config
	sched    cron.Schedule
	log      *zap.Logger
	m        *metrics
	q        *queue.Queue
	requests chan struct{}
	// fullRead: a pending request wants every source read in full.
	fullRead atomic.Bool

	mu      sync.Mutex
	running bool
	last    *Run
	lastOK  time.Time
	blocked string // why the last run that got to the end was blocked, or ""
	runs    uint64
	conns   map[string]time.Time
	events  map[string]time.Time // by source: when its last change arrived
}

// Run is the outcome of one full reconciliation, for /status.
type Run struct {
	Trigger  string
	Started  time.Time
	Duration time.Duration
	Result   *worker.Result
	Err      error
}

// New builds a daemon.
func New(r Reconciler, watchers []Watched, cfg Config, log *zap.Logger, reg prometheus.Registerer) (*Daemon, error) {
	cfg = cfg.withDefaults()
	sched, err := ParseSchedule(cfg.Schedule, cfg.Location)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	d := &Daemon{
		r: r, watchers: watchers, cfg: cfg, sched: sched, log: log,
		q:        queue.New(cfg.Debounce, cfg.MaxDelay, cfg.QueueCapacity),
		requests: make(chan struct{}, 1),
		conns:    map[string]time.Time{},
		events:   map[string]time.Time{},
	}
	if d.m, err = newMetrics(reg, d); err != nil {
		return nil, err
	}
	return d, nil
}

// RequestReconcile asks for a full reconciliation as soon as possible
// (SIGUSR1, POST /reconcile). Requests made while one is pending merge.
func (d *Daemon) RequestReconcile() {
	select {
	case d.requests <- struct{}{}:
	default:
	}
}

// RequestFullRead asks for a full reconciliation, as RequestReconcile,
// whose sources read the directory in full instead of taking a change
// watcher's state (sources.WithFullRead). The next full run honours it.
func (d *Daemon) RequestFullRead() {
	d.fullRead.Store(true)
	d.RequestReconcile()
}

// Last returns the latest full reconciliation and when one last succeeded.
func (d *Daemon) Last() (*Run, time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.lastOK
}

// Ready says whether the full reconciliations are keeping Lightdash in
// step, for /readyz: one succeeded within maxAge of now, and the latest
// that ran to the end was not blocked by a safety limit (a blocked run
// leaves deletions or removals undone until a human decides).
func (d *Daemon) Ready(now time.Time, maxAge time.Duration) (bool, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch age := now.Sub(d.lastOK); {
	case d.lastOK.IsZero():
		return false, "no successful full reconciliation yet"
	case d.blocked != "":
		return false, "last full reconciliation blocked by a safety limit: " + d.blocked
	case age > maxAge:
		return false, "last successful full reconciliation was " + age.Round(time.Second).String() + " ago (admin.ready_max_age " + maxAge.String() + ")"
	}
	return true, ""
}

// Runs counts the full reconciliations that ended: Last changes when it
// does.
func (d *Daemon) Runs() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.runs
}

// queue returns the current term's queue.
func (d *Daemon) queue() *queue.Queue {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.q
}

// QueueDepth is the pending and in-flight group count.
func (d *Daemon) QueueDepth() (pending, inFlight int) {
	q := d.queue()
	return q.Len(), q.InFlight()
}

// Run runs until ctx ends: a full reconciliation at once, then events and
// the schedule. On return nothing is in flight and every pending change
// has been handed back to its source (NATS redelivers it). Run may be
// called again after it returns (a new leadership term), never twice at
// once.
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("daemon: Run is already running")
	}
	d.running = true
	d.q = queue.New(d.cfg.Debounce, d.cfg.MaxDelay, d.cfg.QueueCapacity)
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()
	var wg sync.WaitGroup
	changes := make(chan sources.Change)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	for _, w := range d.watchers {
		// Told before its Watch starts, since the reconciliation's read,
		// started next, may begin first; that read then waits for the
		// watcher's instead of running beside it.
		if e, ok := w.Watcher.(sources.WatchExpecter); ok {
			e.ExpectWatch()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.watch(watchCtx, w, changes)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.enqueue(watchCtx, changes)
	}()

	workParent := context.WithoutCancel(ctx)
	if d.cfg.AbortOnStop {
		workParent = ctx
	}
	workCtx, stopWork := context.WithCancel(workParent)
	defer stopWork()
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.dispatch(ctx, workCtx)
	}()

	d.fullLoop(ctx, workCtx)

	// Shutting down: stop taking events, give in-flight work a deadline,
	// hand back everything else.
	stopWatch()
	d.q.Close()
	timer := time.AfterFunc(d.cfg.ShutdownTimeout, stopWork)
	<-done
	timer.Stop()
	wg.Wait()
	if n := d.q.Drain(errShutdown); n > 0 {
		d.log.Info("handed back pending changes for redelivery", zap.Int("groups", n))
	}
	return nil
}

var errShutdown = errors.New("lightdash-sync is shutting down; the change will be redelivered")

// watch runs one watcher until ctx ends, restarting it after failures.
func (d *Daemon) watch(ctx context.Context, w Watched, out chan<- sources.Change) {
	backoff := time.Second
	for ctx.Err() == nil {
		d.setConnected(w.Name, true)
		err := w.Watcher.Watch(ctx, out)
		d.setConnected(w.Name, false)
		if ctx.Err() != nil {
			return
		}
		d.log.Error("watcher stopped; restarting", zap.String("source", w.Name), zap.Error(err), zap.Duration("in", backoff))
		d.m.watchRestarts.WithLabelValues(w.Name).Inc()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (d *Daemon) setConnected(name string, up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if up {
		d.conns[name] = d.cfg.Now()
	} else {
		delete(d.conns, name)
	}
}

// LastEvent is when the named source's watcher last reported a change;
// zero when it never did.
func (d *Daemon) LastEvent(name string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.events[name]
}

func (d *Daemon) sawEvent(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events[name] = d.cfg.Now()
}

// Watching reports whether the named source's watcher is running.
func (d *Daemon) Watching(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.conns[name]
	return ok
}
