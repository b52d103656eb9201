package nats

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// foldOneByOne is foldEvents as next applies it, one event and one new
// record at a time: the reference the fold's shared member set must match.
func foldOneByOne(cur *record, evs []*Event, maxSeqJump uint64, now time.Time) (steps []step, last *record, dirty bool) {
	steps = make([]step, len(evs))
	state := cur
	for i, e := range evs {
		if stale, err := admit(state, e, maxSeqJump); stale || err != nil {
			steps[i].stale, steps[i].rejected = stale, err
			continue
		}
		var oldEmail string
		if state != nil {
			oldEmail = state.Email
		}
		n := state
		if state == nil || state.EventID != e.ID {
			n, dirty = next(state, e), true
			if n.Deleted {
				n.DeletedAt = now.UTC()
			}
		}
		steps[i] = step{n: n, oldEmail: oldEmail}
		state = n
	}
	return steps, state, dirty
}

// TestFoldEventsMatchesOneByOne: random runs of deltas, upserts, deletes,
// redeliveries and stale events on one group leave the record that
// applying them one by one leaves, and never change the record they
// start from (the cache's).
func TestFoldEventsMatchesOneByOne(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ids := []string{"", "", "u1", "u2", "u3", "u4"}
	emails := []string{"", "a@x.io", "A@x.io", "b@x.io", "B@X.IO", "c@x.io", "d@x.io"}
	members := func() []Member {
		var out []Member
		for range 1 + r.IntN(2) {
			m := Member{ID: ids[r.IntN(len(ids))], Email: emails[r.IntN(len(emails))]}
			if m.ID == "" && m.Email == "" {
				m.ID = "u5"
			}
			out = append(out, m)
		}
		return out
	}
	types := []Type{TypeMembersAdded, TypeMembersAdded, TypeMembersAdded, TypeMembersRemoved, TypeGroupUpserted, TypeGroupDeleted}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for c := range 5000 {
		var cur *record
		if r.IntN(4) > 0 {
			cur = next(nil, ev(TypeGroupUpserted, "g", Data{Name: "G", Members: members()}, seq(1)))
		}
		before, _ := json.Marshal(cur)
		var evs []*Event
		for i := range 2 + r.IntN(12) {
			s := uint64(i + 2)
			switch r.IntN(10) {
			case 0: // an older event
				s = 1
			case 1: // a redelivery
				if len(evs) > 0 {
					evs = append(evs, evs[len(evs)-1])
					continue
				}
			}
			typ := types[r.IntN(len(types))]
			var d Data
			if typ != TypeGroupDeleted {
				d.Members = members()
			}
			evs = append(evs, ev(typ, "g", d, seq(s)))
		}
		wantSteps, want, wantDirty := foldOneByOne(cur, evs, 1000, now)
		gotSteps, got, gotDirty := foldEvents(cur, evs, 1000, time.Time{}, now)
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) || gotDirty != wantDirty {
			t.Fatalf("case %d: fold = %s (dirty %v), one by one = %s (dirty %v)", c, gj, gotDirty, wj, wantDirty)
		}
		for i := range evs {
			g, w := gotSteps[i], wantSteps[i]
			if g.stale != w.stale || (g.rejected == nil) != (w.rejected == nil) || g.oldEmail != w.oldEmail || (g.n == nil) != (w.n == nil) ||
				(g.n != nil && fmt.Sprint(g.n.Kind, g.n.ID, g.n.Email) != fmt.Sprint(w.n.Kind, w.n.ID, w.n.Email)) {
				t.Fatalf("case %d, event %d: step %+v, want %+v", c, i, g, w)
			}
		}
		if after, _ := json.Marshal(cur); string(after) != string(before) {
			t.Fatalf("case %d: the fold changed the record it started from: %s, was %s", c, after, before)
		}
	}
}

// BenchmarkFoldDeltas: a batch of 10 single-member additions to a group of
// 500, the shape of a burst of deltas over a few hundred groups.
func BenchmarkFoldDeltas(b *testing.B) {
	cur := &record{Kind: kindGroup, ID: "g", Name: "G"}
	for i := range 500 {
		cur.Members = append(cur.Members, Member{Email: fmt.Sprintf("user%d@example.com", i)})
	}
	var evs []*Event
	for i := range 10 {
		evs = append(evs, ev(TypeMembersAdded, "g", Data{Members: []Member{{Email: fmt.Sprintf("user%d@example.com", 1000+i)}}}))
	}
	b.ReportAllocs()
	for b.Loop() {
		foldEvents(cur, evs, 1000, time.Time{}, time.Now())
	}
}
