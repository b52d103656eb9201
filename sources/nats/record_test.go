package nats

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestRecordStale(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := func(n uint64) *uint64 { return &n }
	cases := []struct {
		name      string
		cur       record
		ev        Event
		wantStale bool
	}{
		{"higher sequence", record{Sequence: u(3), EventID: "a"}, Event{ID: "b", Sequence: u(4)}, false},
		{"lower sequence, even if newer time", record{Sequence: u(3), Time: t0, EventID: "a"}, Event{ID: "b", Sequence: u(2), Time: t0.Add(time.Hour)}, true},
		{"same sequence, other event", record{Sequence: u(3), EventID: "a"}, Event{ID: "b", Sequence: u(3)}, true},
		{"same sequence, same event", record{Sequence: u(3), EventID: "a"}, Event{ID: "a", Sequence: u(3)}, false},
		{"no sequences, older time", record{Time: t0, EventID: "a"}, Event{ID: "b", Time: t0.Add(-time.Second)}, true},
		{"no sequences, same time", record{Time: t0, EventID: "a"}, Event{ID: "b", Time: t0}, false},
		{"sequence on one side only: time decides", record{Sequence: u(9), Time: t0, EventID: "a"}, Event{ID: "b", Time: t0.Add(time.Second)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cur.stale(&tc.ev); got != tc.wantStale {
				t.Errorf("stale = %v, want %v", got, tc.wantStale)
			}
		})
	}
}

func TestRecordNext(t *testing.T) {
	base := &record{Kind: kindGroup, ID: "g", Name: "G",
		Members: []Member{{ID: "u1"}, {Email: "b@x.io"}}, MemberGroups: []string{"s1"}}
	cases := []struct {
		name string
		cur  *record
		ev   Event
		want string
	}{
		{"upsert replaces and de-duplicates",
			base, Event{Type: TypeGroupUpserted, Data: Data{ID: "g", Name: "New", Members: []Member{{ID: "u2"}, {ID: "u2"}}, MemberGroups: []string{"s2", "s2"}}},
			"New [{u2 }] [s2] false"},
		{"upsert without memberGroups keeps the nested groups",
			base, Event{Type: TypeGroupUpserted, Data: Data{ID: "g", Name: "G", Members: []Member{{ID: "u1"}}}},
			"G [{u1 }] [s1] false"},
		{"upsert with memberGroups [] empties them",
			base, Event{Type: TypeGroupUpserted, Data: Data{ID: "g", Name: "G", Members: []Member{{ID: "u1"}}, MemberGroups: []string{}}},
			"G [{u1 }] [] false"},
		{"add merges an email member with its id",
			base, Event{Type: TypeMembersAdded, Data: Data{ID: "g", Members: []Member{{ID: "u3", Email: "B@x.io"}, {ID: "u1"}}, MemberGroups: []string{"s1", "s2"}}},
			"G [{u1 } {u3 B@x.io}] [s1 s2] false"},
		{"remove by id and by email, any case",
			base, Event{Type: TypeMembersRemoved, Data: Data{ID: "g", Members: []Member{{ID: "u1"}, {Email: "B@X.IO"}}, MemberGroups: []string{"s1"}}},
			"G [] [] false"},
		{"add to an unknown group uses the event's name",
			nil, Event{Type: TypeMembersAdded, Data: Data{ID: "g", Name: "Named", Members: []Member{{ID: "u1"}}}},
			"Named [{u1 }] [] false"},
		{"add to a deleted group starts empty, named by id",
			&record{Kind: kindGroup, ID: "g", Deleted: true}, Event{Type: TypeMembersAdded, Data: Data{ID: "g", Members: []Member{{ID: "u1"}}}},
			"g [{u1 }] [] false"},
		{"delete leaves a tombstone",
			base, Event{Type: TypeGroupDeleted, Data: Data{ID: "g"}},
			" [] [] true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(tc.cur)
			n := next(tc.cur, &tc.ev)
			got := fmt.Sprintf("%s %v %v %v", n.Name, n.Members, n.MemberGroups, n.Deleted)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if fmt.Sprint(tc.cur) != before {
				t.Error("next modified its input")
			}
		})
	}
}

func TestUserRecordDisabled(t *testing.T) {
	for _, tc := range []struct {
		enabled *bool
		want    bool
	}{{nil, false}, {boolp(true), false}, {boolp(false), true}} {
		n := next(nil, &Event{Type: TypeUserUpserted, Data: Data{ID: "u", Email: "u@x.io", Enabled: tc.enabled}})
		if n.Disabled != tc.want {
			t.Errorf("enabled=%v: Disabled = %v, want %v", tc.enabled, n.Disabled, tc.want)
		}
	}
}

func TestKVKeyAcceptsAnyID(t *testing.T) {
	for _, id := range []string{"CN=Ops, OU=Groups, DC=example", "Финансы/Ελλάδα", "a.b*c>d", " "} {
		k := kvKey(kindGroup, id)
		for _, r := range k {
			if !(r == '-' || r == '_' || r == '.' || r == '=' || r == '/' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
				t.Errorf("key %q for %q has %q", k, id, r)
			}
		}
	}
	if kvKey(kindGroup, "x") == kvKey(kindUser, "x") {
		t.Error("group and user keys collide")
	}
}

// TestCorruptViewEntryMakesSnapshotIncomplete: an entry someone else wrote
// into the bucket is skipped and reported, not trusted.
func TestCorruptViewEntryMakesSnapshotIncomplete(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "G"}))
	h.next().Done(nil)
	ctx := context.Background()
	kv, err := h.js.KeyValue(ctx, DefaultViewBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "g.garbage", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	snap, err := h.src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Complete || snap.IncompleteReason == "" || len(snap.Groups) != 1 {
		t.Errorf("snapshot = %+v, want incomplete with the good group", snap)
	}
}
