package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// floorKey holds the view's expiry floor; it is no group or user (those
// keys start with "g." or "u.").
const floorKey = "x.expired-floor"

// sweepInterval is how often Watch drops expired tombstones: far below any
// sensible retention, and one pass over the bucket costs a full read.
const sweepInterval = time.Hour

// floor is the newest time a tombstone removed from the view had: an event
// for a group or user the view does not know, at or before that time, may
// be a stale copy of what such a tombstone stopped, so it is stale too.
// It lives in the bucket, so that it outlives the process.
type floor struct {
	mu sync.Mutex
	t  time.Time
}

func (f *floor) get() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *floor) raise(t time.Time) {
	f.mu.Lock()
	if t.After(f.t) {
		f.t = t
	}
	f.mu.Unlock()
}

type floorValue struct {
	Time time.Time `json:"time"`
}

// loadFloor reads the floor from the bucket; none means the zero time.
func (v *view) loadFloor(ctx context.Context) (time.Time, uint64, error) {
	e, err := v.kv.Get(ctx, floorKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return time.Time{}, 0, nil
	}
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("read view floor: %w", err)
	}
	var fv floorValue
	if err := json.Unmarshal(e.Value(), &fv); err != nil {
		return time.Time{}, 0, fmt.Errorf("view floor is not a time: %w", err)
	}
	v.floor.raise(fv.Time)
	return fv.Time, e.Revision(), nil
}

// raiseFloor makes the bucket's floor at least t, compare-and-set, before
// any tombstone at or before t is removed.
func (v *view) raiseFloor(ctx context.Context, t time.Time) error {
	for attempt := 0; ; attempt++ {
		cur, rev, err := v.loadFloor(ctx)
		if err != nil {
			return err
		}
		if !t.After(cur) {
			return nil
		}
		b, _ := json.Marshal(floorValue{Time: t.UTC()})
		if rev == 0 {
			_, err = v.kv.Create(ctx, floorKey, b)
		} else {
			_, err = v.kv.Update(ctx, floorKey, b, rev)
		}
		if err == nil {
			v.floor.raise(t)
			return nil
		}
		if attempt >= 5 || !(errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)) {
			return fmt.Errorf("write view floor: %w", err)
		}
	}
}

// removedAt is when r became a tombstone: when this process wrote it, or
// for a tombstone written before that was recorded, its event's time.
func removedAt(r *record) time.Time {
	if r.DeletedAt.IsZero() {
		return r.Time
	}
	return r.DeletedAt
}

// expire removes the tombstones written more than retention before now,
// having first raised the floor to their newest event time (capped at
// when each was written, so that a future-dated event cannot push the
// floor ahead of the clock). A tombstone rewritten meanwhile stays, and
// so does a deleted user that a group in the bucket still lists by id
// (read in the same scan, not from this process's index, which misses
// what another instance wrote): the tombstone keeps it out of that group.
// It first reads the floor, which another instance may have raised, and
// returns how many tombstones were removed.
func (v *view) expire(ctx context.Context, now time.Time, retention time.Duration) (int, error) {
	if _, _, err := v.loadFloor(ctx); err != nil {
		return 0, err
	}
	type old struct {
		key string
		rev uint64
		r   *record
	}
	var candidates []old
	listed := map[string]bool{} // users a live group lists by id, in the bucket as it is now
	_, err := v.scan(ctx, func(key string, rev uint64, r *record) {
		if r.Kind == kindGroup && !r.Deleted {
			for _, m := range r.Members {
				if m.ID != "" {
					listed[m.ID] = true
				}
			}
		}
		if r.Deleted && now.Sub(removedAt(r)) >= retention {
			candidates = append(candidates, old{key, rev, r})
		}
	})
	var expired []old
	var newest time.Time
	for _, c := range candidates {
		if c.r.Kind == kindUser && listed[c.r.ID] {
			continue
		}
		expired = append(expired, c)
		if t := minTime(c.r.Time, removedAt(c.r)); t.After(newest) {
			newest = t
		}
	}
	if err != nil || len(expired) == 0 {
		return 0, err
	}
	if err := v.raiseFloor(ctx, newest); err != nil {
		return 0, err
	}
	n := 0
	for _, o := range expired {
		v.cache.forget(o.key)
		err := v.kv.Purge(ctx, o.key, jetstream.LastRevision(o.rev))
		switch {
		case err == nil:
			n++
		case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			// written again meanwhile: no longer this tombstone
		default:
			return n, fmt.Errorf("remove expired tombstone: %w", err)
		}
	}
	// The purges leave markers; drop those older than the library's
	// threshold (30 minutes), so the bucket keeps no id for ever.
	if err := v.kv.PurgeDeletes(ctx); err != nil {
		return n, fmt.Errorf("remove old delete markers: %w", err)
	}
	return n, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sweep runs expire at once and every sweepInterval until ctx ends.
func (s *Source) sweep(ctx context.Context) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		n, err := s.view.expire(ctx, s.view.now(), s.cfg.TombstoneRetention)
		switch {
		case err != nil && ctx.Err() == nil:
			s.m.viewErrors.Inc()
			s.log.Warn("expire view tombstones", zap.Error(err))
		case n > 0:
			s.m.tombstonesExpired.Add(float64(n))
			s.log.Info("expired view tombstones", zap.Int("removed", n), zap.Duration("retention", s.cfg.TombstoneRetention))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
