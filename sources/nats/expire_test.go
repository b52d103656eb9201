package nats

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"
)

// applyOne applies e to the view and returns its outcome.
func applyOne(t *testing.T, v *view, e *Event) outcome {
	t.Helper()
	o := v.applyAll(context.Background(), []*Event{e})[0]
	if o.err != nil {
		t.Fatalf("apply %s: %v", e.ID, o.err)
	}
	return o
}

func groupIDs(t *testing.T, src *Source) []string {
	t.Helper()
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Complete {
		t.Errorf("snapshot incomplete: %s", snap.IncompleteReason)
	}
	var ids []string
	for _, g := range snap.Groups {
		ids = append(ids, g.ID)
	}
	return ids
}

// TestTombstoneExpires: a tombstone stays for TombstoneRetention after it
// was written (the clock injected), then leaves the bucket; a stale copy
// of an event it stopped, replayed afterwards, still cannot revive the
// group, also in a new process; a newer event can.
func TestTombstoneExpires(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	ctx := context.Background()
	src, err := New(ctx, cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v, retention := src.view, src.cfg.TombstoneRetention
	written := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	v.now = func() time.Time { return written }
	upsert := ev(TypeGroupUpserted, "gone", Data{Name: "Gone", Members: []Member{{ID: "u1"}}})
	applyOne(t, v, upsert)
	applyOne(t, v, ev(TypeGroupDeleted, "gone", Data{}))
	key := kvKey(kindGroup, "gone")

	if n, err := v.expire(ctx, written.Add(retention-time.Second), retention); err != nil || n != 0 {
		t.Fatalf("expire before retention: removed %d, err %v; want 0", n, err)
	}
	if r, _, err := v.get(ctx, key); err != nil || r == nil || !r.Deleted {
		t.Fatalf("tombstone before retention: %+v, %v", r, err)
	}
	if n, err := v.expire(ctx, written.Add(retention), retention); err != nil || n != 1 {
		t.Fatalf("expire at retention: removed %d, err %v; want 1", n, err)
	}
	if _, err := v.kv.Get(ctx, key); !errors.Is(err, jetstream.ErrKeyDeleted) && !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("tombstone still in the bucket after retention: %v", err)
	}

	replay := *upsert
	replay.ID = "replayed-" + upsert.ID // re-published past the duplicate window
	if o := applyOne(t, v, &replay); !o.Stale {
		t.Errorf("replayed upsert after expiry: %+v, want stale", o)
	}
	again, err := New(ctx, cfg, zaptest.NewLogger(t), nil) // the floor outlives the process
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	replay.ID += "-2"
	if o := applyOne(t, again.view, &replay); !o.Stale {
		t.Errorf("replayed upsert in a new process: %+v, want stale", o)
	}
	if ids := groupIDs(t, again); len(ids) != 0 {
		t.Fatalf("groups after replays: %v, want none", ids)
	}
	applyOne(t, again.view, ev(TypeGroupUpserted, "gone", Data{Name: "Back"}, func(e *Event) { e.Time = written.Add(time.Hour) }))
	if ids := groupIDs(t, again); len(ids) != 1 || ids[0] != "gone" {
		t.Errorf("groups after a newer upsert: %v, want [gone]", ids)
	}
}

// TestViewBucketMaxBytes: the view bucket is created with a size limit,
// and a bucket made without one gets it.
func TestViewBucketMaxBytes(t *testing.T) {
	srv := runServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	js := producer(t, srv)
	cfg := testConfig(srv)
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: DefaultViewBucket, History: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ set, want int64 }{{0, DefaultViewMaxBytes}, {32 << 20, 32 << 20}} {
		cfg.ViewMaxBytes = tc.set
		src, err := New(ctx, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.Close()
		s, err := js.Stream(ctx, "KV_"+DefaultViewBucket)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.MaxBytes; got != tc.want {
			t.Errorf("view_max_bytes %d: bucket MaxBytes %d, want %d", tc.set, got, tc.want)
		}
	}
}

// TestFloorReachesOtherInstances: an instance that opened the view before
// another one removed tombstones learns the floor at its next sweep, so a
// replay through it cannot revive the group either.
func TestFloorReachesOtherInstances(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	ctx := context.Background()
	a, err := New(ctx, cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(ctx, cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	written := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	a.view.now = func() time.Time { return written }
	upsert := ev(TypeGroupUpserted, "gone", Data{Name: "Gone"})
	applyOne(t, a.view, upsert)
	applyOne(t, a.view, ev(TypeGroupDeleted, "gone", Data{}))
	later := written.Add(cfg.withDefaults().TombstoneRetention)
	if n, err := a.view.expire(ctx, later, cfg.withDefaults().TombstoneRetention); err != nil || n != 1 {
		t.Fatalf("expire: removed %d, err %v; want 1", n, err)
	}
	if n, err := b.view.expire(ctx, later, cfg.withDefaults().TombstoneRetention); err != nil || n != 0 {
		t.Fatalf("expire on the other instance: removed %d, err %v; want 0", n, err)
	}
	replay := *upsert
	replay.ID = "replayed-" + upsert.ID
	if o := applyOne(t, b.view, &replay); !o.Stale {
		t.Errorf("replayed upsert through the other instance: %+v, want stale", o)
	}
}

// TestListedUserTombstoneStays: a deleted user that a group still lists
// keeps its tombstone past the retention, since without it the group's
// member would count again; once no group lists it, it expires.
func TestListedUserTombstoneStays(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv).withDefaults()
	ctx := context.Background()
	src, err := New(ctx, cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v := src.view
	written := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	v.now = func() time.Time { return written }
	member := Member{ID: "u1", Email: "ada@example.com"}
	applyOne(t, v, ev(TypeGroupUpserted, "g", Data{Name: "G", Members: []Member{member}}))
	applyOne(t, v, ev(TypeUserUpserted, "u1", Data{Email: "ada@example.com"}))
	applyOne(t, v, ev(TypeUserDeleted, "u1", Data{}))
	later := written.Add(cfg.TombstoneRetention)
	if n, err := v.expire(ctx, later, cfg.TombstoneRetention); err != nil || n != 0 {
		t.Fatalf("expire while listed: removed %d, err %v; want 0", n, err)
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 1 || len(snap.Groups[0].MemberUsers) != 0 {
		t.Fatalf("groups after expiry: %+v, want g without members", snap.Groups)
	}
	applyOne(t, v, ev(TypeMembersRemoved, "g", Data{Members: []Member{{ID: "u1"}}}))
	if n, err := v.expire(ctx, later, cfg.TombstoneRetention); err != nil || n != 1 {
		t.Errorf("expire once unlisted: removed %d, err %v; want 1", n, err)
	}
}

// TestListedUserTombstoneStaysOnAnotherInstance: the instance that
// expires tombstones (a standby that took over) did not write the group
// that lists the deleted user, so its own index does not know the
// listing; the bucket does, and the tombstone stays.
func TestListedUserTombstoneStaysOnAnotherInstance(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv).withDefaults()
	ctx := context.Background()
	standby, err := New(ctx, cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close()
	leader, err := New(ctx, cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	written := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	leader.view.now = func() time.Time { return written }
	applyOne(t, leader.view, ev(TypeGroupUpserted, "g", Data{Name: "G", Members: []Member{{ID: "u1", Email: "ada@example.com"}}}))
	applyOne(t, leader.view, ev(TypeUserUpserted, "u1", Data{Email: "ada@example.com"}))
	applyOne(t, leader.view, ev(TypeUserDeleted, "u1", Data{}))
	later := written.Add(cfg.TombstoneRetention)
	if n, err := standby.view.expire(ctx, later, cfg.TombstoneRetention); err != nil || n != 0 {
		t.Fatalf("expire on the instance that did not write the group: removed %d, err %v; want 0", n, err)
	}
	snap, err := standby.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 1 || len(snap.Groups[0].MemberUsers) != 0 {
		t.Fatalf("groups after expiry: %+v, want g without the deleted user", snap.Groups)
	}
}
