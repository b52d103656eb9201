package nats

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAdmit: what the view does with an event, given the state it holds
// for the event's group or user.
func TestAdmit(t *testing.T) {
	u := func(n uint64) *uint64 { return &n }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hr := func(r record) *record { r.Source = "/hr"; return &r }
	cases := []struct {
		name      string
		cur       *record
		ev        Event
		jump      uint64
		wantStale bool
		wantErr   error
	}{
		{name: "unknown group, no sequence", ev: Event{ID: "b", Source: "/hr", Type: TypeGroupUpserted}, jump: 10},
		{name: "unknown group, sequence within the jump", ev: Event{ID: "b", Source: "/hr", Sequence: u(10)}, jump: 10},
		{name: "unknown group, sequence beyond the jump", ev: Event{ID: "b", Source: "/hr", Sequence: u(11)}, jump: 10, wantErr: ErrSequenceJump},
		{name: "unknown group, 2^53-1", ev: Event{ID: "b", Source: "/hr", Sequence: u(maxSequence)}, jump: DefaultMaxSequenceJump, wantErr: ErrSequenceJump},
		{name: "jump measured from the last sequence", cur: hr(record{Sequence: u(100), EventID: "a"}), ev: Event{ID: "b", Source: "/hr", Sequence: u(110)}, jump: 10},
		{name: "jump beyond the last sequence", cur: hr(record{Sequence: u(100), EventID: "a"}), ev: Event{ID: "b", Source: "/hr", Sequence: u(111)}, jump: 10, wantErr: ErrSequenceJump},
		{name: "tombstone: jump beyond its sequence", cur: hr(record{Deleted: true, Sequence: u(3), EventID: "a"}), ev: Event{ID: "b", Source: "/hr", Sequence: u(maxSequence)}, jump: 10, wantErr: ErrSequenceJump},
		{name: "record without sequence: jump from 0", cur: hr(record{Time: t0, EventID: "a"}), ev: Event{ID: "b", Source: "/hr", Time: t0, Sequence: u(11)}, jump: 10, wantErr: ErrSequenceJump},
		{name: "older sequence is stale, not a jump", cur: hr(record{Sequence: u(100), EventID: "a"}), ev: Event{ID: "b", Source: "/hr", Sequence: u(1)}, jump: 10, wantStale: true},
		{name: "redelivery of the last event", cur: hr(record{Sequence: u(100), EventID: "a"}), ev: Event{ID: "a", Source: "/hr", Sequence: u(100)}, jump: 10},
		{name: "same source", cur: hr(record{Kind: kindGroup, EventID: "a"}), ev: Event{ID: "b", Source: "/hr", Type: TypeMembersAdded}, jump: 10},
		{name: "other source", cur: hr(record{Kind: kindGroup, EventID: "a"}), ev: Event{ID: "b", Source: "/evil", Type: TypeMembersRemoved}, jump: 10, wantErr: ErrForeignSource},
		{name: "other source, newer sequence", cur: hr(record{Kind: kindGroup, Sequence: u(1), EventID: "a"}), ev: Event{ID: "b", Source: "/evil", Type: TypeGroupUpserted, Sequence: u(2)}, jump: 10, wantErr: ErrForeignSource},
		{name: "other source, stale too", cur: hr(record{Kind: kindGroup, Sequence: u(5), EventID: "a"}), ev: Event{ID: "b", Source: "/evil", Sequence: u(1)}, jump: 10, wantErr: ErrForeignSource},
		{name: "other source reusing the last event id", cur: hr(record{Kind: kindGroup, EventID: "a"}), ev: Event{ID: "a", Source: "/evil"}, jump: 10, wantErr: ErrForeignSource},
		{name: "other source on a tombstone", cur: hr(record{Kind: kindGroup, Deleted: true, EventID: "a"}), ev: Event{ID: "b", Source: "/evil", Type: TypeGroupUpserted}, jump: 10, wantErr: ErrForeignSource},
		{name: "other source on a user", cur: hr(record{Kind: kindUser, EventID: "a"}), ev: Event{ID: "b", Source: "/evil", Type: TypeUserUpserted}, jump: 10, wantErr: ErrForeignSource},
		{name: "record from before sources were kept", cur: &record{Kind: kindGroup, EventID: "a"}, ev: Event{ID: "b", Source: "/any"}, jump: 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stale, err := admit(tc.cur, &tc.ev, tc.jump)
			if stale != tc.wantStale || !errors.Is(err, tc.wantErr) {
				t.Fatalf("got stale=%v err=%v, want stale=%v err=%v", stale, err, tc.wantStale, tc.wantErr)
			}
			var re *RejectError
			if err != nil && !errors.As(err, &re) {
				t.Errorf("got %T, want *RejectError", err)
			}
		})
	}
}

// TestRecordKeepsItsSource: the source that first described a group stays
// with it, through deletion too, and a record from before sources were
// kept is claimed by the next event.
func TestRecordKeepsItsSource(t *testing.T) {
	up := &Event{ID: "a", Source: "/hr", Type: TypeGroupUpserted, Data: Data{ID: "g", Name: "G", Members: []Member{}}}
	r := next(nil, up)
	del := next(r, &Event{ID: "b", Source: "/hr", Type: TypeGroupDeleted, Data: Data{ID: "g"}})
	legacy := next(&record{Kind: kindGroup, ID: "g", EventID: "x"}, &Event{ID: "c", Source: "/it", Type: TypeMembersAdded, Data: Data{ID: "g", Members: []Member{{ID: "u"}}}})
	for _, tc := range []struct {
		name string
		r    *record
		want string
	}{{"upserted", r, "/hr"}, {"deleted", del, "/hr"}, {"claimed", legacy, "/it"}} {
		if tc.r.Source != tc.want {
			t.Errorf("%s: Source = %q, want %q", tc.name, tc.r.Source, tc.want)
		}
	}
}

// publishFuture sends e dated a year ahead, as Publish would refuse to.
func (h *harness) publishFuture(e *Event) {
	h.t.Helper()
	e.SpecVersion, e.Time = SpecVersion, time.Now().AddDate(1, 0, 0)
	b, err := json.Marshal(e)
	if err != nil {
		h.t.Fatal(err)
	}
	h.publishRaw(e.ID, b)
}

// TestNoEventFreezesAGroup: an event dated far ahead, or with a sequence
// near 2^53-1, is refused, so the ordinary events after it for the same
// group still apply.
func TestNoEventFreezesAGroup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		send   func(h *harness)
		reason error
	}{
		{"deleted a year ahead", func(h *harness) { h.publishFuture(ev(TypeGroupDeleted, "g", Data{})) }, ErrFutureTime},
		{"deleted with sequence 2^53-1", func(h *harness) { h.publish(ev(TypeGroupDeleted, "g", Data{}, seq(maxSequence))) }, ErrSequenceJump},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := runServer(t)
			h := start(t, srv, testConfig(srv))
			h.publish(ev(TypeGroupUpserted, "g", Data{Name: "G", Members: []Member{{ID: "u1"}}}, seq(1)))
			h.next().Done(nil)

			tc.send(h)
			later := ev(TypeMembersAdded, "g", Data{Members: []Member{{ID: "u2"}}}, seq(2))
			h.publish(later)
			c := h.next() // the refused event made no change: the next one is the later event
			if !strings.Contains(c.Reason, later.ID) {
				t.Fatalf("change %q, want the one for %s", c.Reason, later.ID)
			}
			c.Done(nil)
			h.consumerSettled()
			if got := h.counter(h.src.m.poison, tc.reason.Error()); got != 1 {
				t.Errorf("poison{%s} = %v, want 1", tc.reason, got)
			}
			snap, err := h.src.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if g := group(t, snap, "g"); !sameSet(g.MemberUsers, []string{"u1", "u2"}) {
				t.Errorf("group = %+v, want members u1 and u2", g)
			}
		})
	}
}

// TestForeignSourceCannotChangeAGroup: once /test has described a group,
// an event about it from another source is refused, and the owner's
// events still apply.
func TestForeignSourceCannotChangeAGroup(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "G", Members: []Member{{ID: "u1"}}}))
	h.next().Done(nil)

	from := func(src string) func(*Event) { return func(e *Event) { e.Source = src } }
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "Taken", Members: []Member{}}, from("/evil")))
	h.publish(ev(TypeGroupDeleted, "g", Data{}, from("/evil")))
	own := ev(TypeMembersAdded, "g", Data{Members: []Member{{ID: "u2"}}})
	h.publish(own)
	c := h.next()
	if !strings.Contains(c.Reason, own.ID) {
		t.Fatalf("change %q, want the one for %s", c.Reason, own.ID)
	}
	c.Done(nil)
	h.consumerSettled()
	if got := h.counter(h.src.m.poison, ErrForeignSource.Error()); got != 2 {
		t.Errorf("poison{foreign_source} = %v, want 2", got)
	}
	snap, err := h.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := group(t, snap, "g"); g.Name != "G" || !sameSet(g.MemberUsers, []string{"u1", "u2"}) {
		t.Errorf("group = %+v, want G with u1 and u2", g)
	}
}
