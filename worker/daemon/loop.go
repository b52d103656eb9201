package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
	"github.com/lightdash-sync/lightdash-sync/worker/daemon/queue"
)

// key is a queue key: source names cannot hold "/", so the first one
// separates the source from the group id.
func key(source, groupID string) string { return source + "/" + groupID }

func splitKey(k string) (source, groupID string) {
	source, groupID, _ = strings.Cut(k, "/")
	return source, groupID
}

// enqueue moves changes from the watchers into the queue, one key per
// named group. The change's Done runs once, after every group it named
// was worked on, with the first error.
func (d *Daemon) enqueue(ctx context.Context, changes <-chan sources.Change) {
	for {
		var ch sources.Change
		select {
		case <-ctx.Done():
			return
		case ch = <-changes:
		}
		d.m.received.WithLabelValues(ch.Source).Inc()
		d.sawEvent(ch.Source)
		done := fanIn(len(ch.GroupIDs), ch.Done)
		if len(ch.GroupIDs) == 0 {
			done(nil)
			continue
		}
		if ce := d.log.Check(zap.DebugLevel, "change"); ce != nil { // no fields built per event unless logged
			ce.Write(zap.String("source", ch.Source), zap.Strings("groups", ch.GroupIDs), zap.String("reason", ch.Reason))
		}
		for i, id := range ch.GroupIDs {
			if err := d.q.Add(ctx, key(ch.Source, id), d.cfg.Now(), done); err != nil {
				// Shutting down: hand back this group and the ones not yet added.
				for range ch.GroupIDs[i:] {
					done(errShutdown)
				}
				return
			}
		}
	}
}

// fanIn returns a callback that must be called n times and calls done once,
// after the last call, with the first error.
func fanIn(n int, done func(error)) func(error) {
	if done == nil {
		return func(error) {}
	}
	var mu sync.Mutex
	var first error
	left := n
	if left == 0 {
		left = 1
	}
	return func(err error) {
		mu.Lock()
		if err != nil && first == nil {
			first = err
		}
		left--
		last := left == 0
		mu.Unlock()
		if last {
			done(first)
		}
	}
}

// dispatch hands due groups to up to Concurrency goroutines until ctx
// ends, then waits for those still working (workCtx bounds them).
func (d *Daemon) dispatch(ctx, workCtx context.Context) {
	sem := make(chan struct{}, d.cfg.Concurrency)
	defer func() {
		for range d.cfg.Concurrency {
			sem <- struct{}{}
		}
	}()
	for {
		// select picks at random among ready cases: check first, so no new
		// work starts once shutdown began.
		if ctx.Err() != nil {
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if ctx.Err() != nil {
			<-sem
			return
		}
		changed := d.q.Changed()
		now := d.cfg.Now()
		it, ok, wake := d.q.Next(now)
		if ok {
			go func() {
				defer func() { <-sem }()
				d.process(workCtx, it)
			}()
			continue
		}
		<-sem
		var timer *time.Timer
		var fire <-chan time.Time
		if !wake.IsZero() {
			timer = time.NewTimer(wake.Sub(now))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// process reconciles one due group. A failure is retried after
// RetryDelay; the source's own redelivery (NATS) may bring it back sooner.
func (d *Daemon) process(ctx context.Context, it queue.Item) {
	source, id := splitKey(it.Key)
	start := d.cfg.Now()
	res, err := d.r.ReconcileGroups(ctx, source, []string{id})
	if err == nil && res != nil && len(res.Failures) > 0 {
		err = fmt.Errorf("%s: %s", res.Failures[0].Name, res.Failures[0].Error)
	}
	d.m.groupWork.WithLabelValues(source, result(err)).Inc()
	d.m.eventLatency.Observe(d.cfg.Now().Sub(it.First).Seconds())
	log := d.log.With(zap.String("source", source), zap.String("group", id), zap.Int("changes", it.Changes), zap.Duration("took", d.cfg.Now().Sub(start)))
	d.q.Done(it, d.cfg.Now(), err)
	switch {
	case err == nil:
		if res != nil && (res.Summary.Created+res.Summary.Updated+res.Summary.Renamed+res.Summary.Adopted) > 0 {
			log.Info("applied change", zap.Stringer("summary", res.Summary))
		} else {
			log.Debug("change needed nothing")
		}
	case ctx.Err() != nil:
		log.Info("change handed back at shutdown", zap.Error(err))
	default:
		log.Warn("change failed; will retry", zap.Error(err), zap.Duration("retry_in", d.cfg.RetryDelay))
		// The time given is when the change counts as made: in the future,
		// so the retry waits RetryDelay.
		_ = d.q.Add(ctx, it.Key, d.cfg.Now().Add(d.cfg.RetryDelay), nil)
	}
}

func result(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

// fullLoop runs the start-up reconciliation, then scheduled and requested
// ones, one at a time, until ctx ends.
func (d *Daemon) fullLoop(ctx, workCtx context.Context) {
	trigger := "start-up"
	next := d.sched.Next(d.cfg.Now())
	for {
		d.runFull(workCtx, trigger)
		var skipped int
		next, skipped = nextRun(d.sched, next, d.cfg.Now())
		if skipped > 0 {
			d.m.skipped.Add(float64(skipped))
			d.log.Warn("scheduled reconciliations skipped: the previous one was still running", zap.Int("skipped", skipped))
		}
		t := time.NewTimer(next.Sub(d.cfg.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			trigger = "schedule"
			next = d.sched.Next(next) // this run takes the slot that was due
		case <-d.requests:
			t.Stop()
			trigger = "request"
		}
	}
}

// nextRun returns the first scheduled time after now, given next, the
// scheduled time nothing has run for yet. Every scheduled time that passed
// while a reconciliation was running is skipped, not run back to back (a
// CronJob's concurrencyPolicy: Forbid), and counted.
func nextRun(s cron.Schedule, next, now time.Time) (time.Time, int) {
	skipped := 0
	for !next.After(now) {
		next = s.Next(next)
		skipped++
	}
	return next, skipped
}

func (d *Daemon) runFull(ctx context.Context, trigger string) {
	start := d.cfg.Now()
	full := d.fullRead.Swap(false)
	if full {
		ctx = sources.WithFullRead(ctx)
	}
	d.log.Info("full reconciliation starting", zap.String("trigger", trigger), zap.Bool("forced_full_read", full))
	res, err := d.r.Reconcile(ctx)
	took := d.cfg.Now().Sub(start)
	run := &Run{Trigger: trigger, Started: start, Duration: took, Result: forStatus(res), Err: err}
	outcome := "ok"
	switch {
	case err != nil:
		outcome = "error"
		d.log.Error("full reconciliation failed", zap.String("trigger", trigger), zap.Error(err), zap.Duration("took", took))
	case len(res.Failures) > 0:
		outcome = "failed"
		d.log.Error("full reconciliation had failures", zap.String("trigger", trigger), zap.Int("failures", len(res.Failures)), zap.Stringer("summary", res.Summary))
	case res.Blocked:
		outcome = "blocked"
		d.log.Warn("full reconciliation blocked by a safety limit", zap.String("reason", res.BlockedReason), zap.Stringer("summary", res.Summary))
	default:
		d.log.Info("full reconciliation done", zap.String("trigger", trigger), zap.Stringer("summary", res.Summary),
			zap.Any("directory_read", res.DirectoryRead))
	}
	if res != nil {
		for src, how := range res.DirectoryRead {
			d.m.dirReads.WithLabelValues(src, how).Inc()
		}
	}
	if res != nil && trigger != "start-up" {
		if drift := Drift(res.Summary); drift > 0 {
			d.m.drift.Add(float64(drift))
			d.log.Warn("full reconciliation fixed changes that events should have made: events were missed", zap.Int("changes", drift))
		}
	}
	d.m.runs.WithLabelValues(trigger, outcome).Inc()
	d.m.duration.Observe(took.Seconds())
	d.mu.Lock()
	d.last = run
	d.runs++
	if outcome == "ok" || outcome == "blocked" {
		d.lastOK = d.cfg.Now()
		d.m.lastSuccess.Set(float64(d.lastOK.Unix()))
		d.blocked = ""
		if outcome == "blocked" {
			d.blocked = res.BlockedReason
		}
	}
	d.mu.Unlock()
}

// forStatus is what Last keeps of a run's result until the next run: all
// but the plan's actions. /status shows the summary, failures and the
// plan's findings (unmatched users, conflicts, held back, problems); the
// actions of a start-up run that created every group hold each group's
// member list, which at 10,000 groups was the largest thing the daemon
// kept afterwards (docs/benchmarks.md).
func forStatus(res *worker.Result) *worker.Result {
	if res == nil || res.Plan == nil {
		return res
	}
	// Built from what /status reads, so a field added to Plan is not kept
	// by default.
	r, p := *res, res.Plan
	r.Plan = &worker.Plan{Unmatched: p.Unmatched, Conflicts: p.Conflicts, HeldBack: p.HeldBack, Problems: p.Problems}
	return &r
}

// Drift counts the writes a full reconciliation made that events should
// have made: with every event delivered there would be none. Deletions are
// not drift: an event never deletes a group, so every deletion waits for a
// full read by design, whether its event was seen or not.
func Drift(s worker.Summary) int {
	return s.Created + s.Updated + s.Renamed + s.Adopted
}
