package worker

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// ReconcileGroups reconciles only the named directory groups of one
// source, for change events. It reads them with GroupReader when the
// source has it, and never deletes a group: an event alone is not proof
// that a group is gone.
//
// It plans against the cached view of Lightdash and the in-memory state,
// so a typical event costs one Lightdash call (its write), and none when
// nothing changed. When a write is answered 404, 400 or 409 the view was
// wrong: it is read again and the groups are planned and applied once
// more. Calls for different groups run concurrently; calls that touch the
// same Lightdash group (by key or name) wait for each other.
func (w *Worker) ReconcileGroups(ctx context.Context, source string, groupIDs []string) (*Result, error) {
	w.runMu.RLock()
	defer w.runMu.RUnlock()
	start, ld := time.Now(), &counted{ld: w.ld}
	snap, err := w.readGroups(ctx, source, groupIDs)
	if err != nil {
		w.m.result("error", time.Since(start))
		return nil, err
	}
	d := w.mapper.Map(snap)
	unlock, err := w.locks.lock(ctx, lockKeys(d))
	if err != nil {
		w.m.result("error", time.Since(start))
		return nil, fmt.Errorf("reconcile groups: %w", err)
	}
	defer unlock()

	res, stale, err := w.planAndApply(ctx, ld, snap, d)
	if err == nil && stale {
		w.log.Info("a write found the cached Lightdash view stale; reading it again and replanning",
			zap.String("source", source), zap.Strings("groups", groupIDs))
		first := res
		w.view.invalidate()
		if res, _, err = w.planAndApply(ctx, ld, snap, w.mapper.Map(snap)); err == nil {
			res.Summary.addDone(first.Summary)
		}
	}
	if err != nil {
		w.m.failed(err, time.Since(start))
		return nil, err
	}
	return w.finish(res, ld, start)
}

// readGroups reads the named groups (and those nested below) of source.
func (w *Worker) readGroups(ctx context.Context, source string, groupIDs []string) (*sources.Snapshot, error) {
	var src sources.Source
	for _, s := range w.sources {
		if s.Name() == source {
			src = s
		}
	}
	if src == nil {
		return nil, fmt.Errorf("reconcile groups: unknown source %q", source)
	}
	var snap *sources.Snapshot
	var err error
	if gr, ok := src.(sources.GroupReader); ok {
		snap, err = gr.ReadGroups(ctx, groupIDs)
	} else {
		snap, err = src.Snapshot(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("read source %s: %w", source, err)
	}
	if snap == nil {
		return nil, fmt.Errorf("read source %s: no snapshot and no error", source)
	}
	if snap.Source == "" {
		snap.Source = source
	}
	return snap, nil
}

// planAndApply plans d against the view and the in-memory state and
// applies the plan. The caller holds the locks of d's groups.
func (w *Worker) planAndApply(ctx context.Context, ld Lightdash, snap *sources.Snapshot, d *Desired) (*Result, bool, error) {
	var cur Current
	var err error
	if len(d.Groups) == 0 {
		// No rule selects these groups: there is nothing to compare with
		// Lightdash, so nothing is read (problems are still reported).
		cur = w.view.current()
	} else if cur, err = w.viewFor(ctx, ld, d); err != nil {
		return nil, false, err
	}
	st, err := w.loadState(ctx, false)
	if err != nil {
		return nil, false, err
	}
	w.withSelf(ctx, ld, &cur, st)
	p := w.compute(&inputs{snaps: []*sources.Snapshot{snap}, cur: cur, state: st}, d)
	res, stale := w.applyPlan(ctx, ld, p)
	return res, stale, nil
}
