package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// kvWrites is how many writes the view bucket has taken so far.
func kvWrites(t *testing.T, js jetstream.JetStream, bucket string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq
}

// TestApplyAllCoalesces: a batch costs one write per key however many
// events it holds for the key, and leaves what the events one by one
// would have left, stale ones skipped.
func TestApplyAllCoalesces(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	ctx := context.Background()
	var events []*Event
	for i := range 10 {
		for _, g := range []string{"a", "b", "c"} {
			events = append(events, ev(TypeMembersAdded, g, Data{Members: []Member{{ID: fmt.Sprintf("u%d", i)}}}, seq(uint64(i+10))))
		}
	}
	events = append(events,
		ev(TypeMembersRemoved, "a", Data{Members: []Member{{ID: "u0"}}}, seq(20)),
		ev(TypeMembersAdded, "b", Data{Members: []Member{{ID: "too-old"}}}, seq(3)))
	before := kvWrites(t, h.js, h.src.cfg.ViewBucket)
	outs := h.src.view.applyAll(ctx, events)
	if got := kvWrites(t, h.js, h.src.cfg.ViewBucket) - before; got != 3 {
		t.Errorf("%d writes for %d events on 3 groups, want 3", got, len(events))
	}
	for i, o := range outs {
		wantStale := i == len(events)-1
		if o.err != nil || o.Stale != wantStale {
			t.Errorf("event %d (%s): stale=%v err=%v, want stale=%v", i, events[i].ID, o.Stale, o.err, wantStale)
		}
		if !o.Stale && !sameSet(o.GroupIDs, []string{events[i].Data.ID}) {
			t.Errorf("event %d: GroupIDs = %v", i, o.GroupIDs)
		}
	}
	snap, err := h.src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	for g, want := range map[string][]string{"a": all[1:], "b": all, "c": all} {
		if got := group(t, snap, g).MemberUsers; !sameSet(got, want) {
			t.Errorf("group %s = %v, want %v", g, got, want)
		}
	}
}

// TestApplyAllRereadsOnConflict: an entry written meanwhile by someone
// else (another instance) is read again and the events applied on top of
// it, not over it, although this process remembers its own last write.
func TestApplyAllRereadsOnConflict(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	ctx := context.Background()
	if o := h.src.view.applyAll(ctx, []*Event{ev(TypeMembersAdded, "g", Data{Members: []Member{{ID: "mine"}}})}); o[0].err != nil {
		t.Fatal(o[0].err)
	}
	other := &record{Kind: kindGroup, ID: "g", Name: "g", Members: []Member{{ID: "mine"}, {ID: "theirs"}},
		Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), EventID: "their-event"}
	b, err := json.Marshal(other)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := h.js.KeyValue(ctx, h.src.cfg.ViewBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, kvKey(kindGroup, "g"), b); err != nil {
		t.Fatal(err)
	}
	if o := h.src.view.applyAll(ctx, []*Event{ev(TypeMembersAdded, "g", Data{Members: []Member{{ID: "later"}}})}); o[0].err != nil {
		t.Fatalf("apply after a foreign write: %v", o[0].err)
	}
	r, _, err := h.src.view.get(ctx, kvKey(kindGroup, "g"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range r.Members {
		ids = append(ids, m.ID)
	}
	if !sameSet(ids, []string{"mine", "theirs", "later"}) {
		t.Errorf("members = %v, want the foreign write kept", ids)
	}
}

// TestApplyAllFailsPerKey: when a key's write fails, every event of the
// batch for that key fails (none may be acked ahead of an earlier one that
// will be redelivered), and the other keys' events succeed.
func TestApplyAllFailsPerKey(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.ViewBucket = "small-view"
	// A bucket whose values cannot hold a big group: its write fails.
	js := producer(t, srv)
	ctx := context.Background()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: cfg.ViewBucket, MaxValueSize: 512}); err != nil {
		t.Fatal(err)
	}
	h := start(t, srv, cfg)
	var many []Member
	for i := range 40 {
		many = append(many, Member{ID: fmt.Sprintf("user-with-a-long-id-%d", i)})
	}
	events := []*Event{
		ev(TypeMembersAdded, "big", Data{Members: many[:1]}),
		ev(TypeMembersAdded, "small", Data{Members: many[:1]}),
		ev(TypeMembersAdded, "big", Data{Members: many}),
	}
	outs := h.src.view.applyAll(ctx, events)
	for i, wantErr := range []bool{true, false, true} {
		if (outs[i].err != nil) != wantErr {
			t.Errorf("event %d: err = %v, want an error: %v", i, outs[i].err, wantErr)
		}
	}
	snap, err := h.src.ReadGroups(ctx, []string{"big", "small"})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 1 || snap.Groups[0].ID != "small" {
		t.Errorf("groups in the view = %+v, want only small", snap.Groups)
	}
}

// TestBurstKeepsStreamOrder: a burst taken in batches still gives one
// change per event, in stream order, each once its event is in the view,
// and leaves every event acknowledged.
func TestBurstKeepsStreamOrder(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	var ids []string
	for i := range 60 {
		g := fmt.Sprintf("g%d", i%3)
		e := ev(TypeMembersAdded, g, Data{Members: []Member{{ID: fmt.Sprintf("u%d", i)}}})
		if i%10 == 9 { // now and then a removal of the member added just before
			e = ev(TypeMembersRemoved, g, Data{Members: []Member{{ID: fmt.Sprintf("u%d", i-3)}}})
		}
		h.publish(e)
		ids = append(ids, e.ID)
	}
	for i, id := range ids {
		c := h.next()
		if !strings.HasSuffix(c.Reason, " "+id) {
			t.Fatalf("change %d = %q, want the one for %s", i, c.Reason, id)
		}
		snap, err := h.src.ReadGroups(context.Background(), c.GroupIDs)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Groups) != 1 {
			t.Fatalf("change %d: the view holds %+v for %v", i, snap.Groups, c.GroupIDs)
		}
		// The event is in the view before its change is sent (the view may
		// be further on: a later removal of the same member).
		if added := fmt.Sprintf("u%d", i); i%10 != 9 && (i+3)%10 != 9 && !slices.Contains(snap.Groups[0].MemberUsers, added) {
			t.Fatalf("change %d: %s not yet in the view: %v", i, added, snap.Groups[0].MemberUsers)
		}
		c.Done(nil)
	}
	h.consumerSettled()
	snap, err := h.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for g := range 3 {
		var want []string
		for i := g; i < 60; i += 3 {
			if i%10 != 9 && (i+3)%10 != 9 {
				want = append(want, fmt.Sprintf("u%d", i))
			}
		}
		if got := group(t, snap, fmt.Sprintf("g%d", g)).MemberUsers; !sameSet(got, want) {
			t.Errorf("g%d = %v, want %v", g, got, want)
		}
	}
}

// TestManyHeldChangesAreNotRedelivered: tens of events held together for
// longer than AckWait all stay with this consumer (one ticker extends
// them all).
func TestManyHeldChangesAreNotRedelivered(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.AckWait = time.Second
	h := start(t, srv, cfg)
	const n = 40
	for i := range n {
		h.publish(ev(TypeGroupUpserted, fmt.Sprintf("g%d", i), Data{Name: "G"}))
	}
	var held []func(error)
	for range n {
		held = append(held, h.next().Done)
	}
	select {
	case again := <-h.changes:
		t.Fatalf("redelivered while held: %+v", again)
	case <-time.After(5 * cfg.AckWait / 2): // the daemon is slow
	}
	for _, done := range held {
		done(nil)
	}
	if info := h.consumerSettled(); info.NumRedelivered != 0 {
		t.Errorf("redelivered = %d, want 0", info.NumRedelivered)
	}
}

// TestMaxAckPendingReachesConsumer: the configured window is on the
// durable consumer, and a changed value updates an existing consumer.
func TestMaxAckPendingReachesConsumer(t *testing.T) {
	srv := runServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	js := producer(t, srv)
	cfg := testConfig(srv)
	for _, tc := range []struct{ set, want int }{{1000, 1000}, {0, DefaultMaxAckPending}, {50000, 50000}} {
		cfg.MaxAckPending = tc.set
		src, err := New(ctx, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.Close()
		c, err := js.Consumer(ctx, testStream, cfg.Consumer)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.CachedInfo().Config.MaxAckPending; got != tc.want {
			t.Errorf("MaxAckPending %d: consumer has %d, want %d", tc.set, got, tc.want)
		}
	}
}
