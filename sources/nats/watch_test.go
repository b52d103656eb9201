package nats

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

func boolp(b bool) *bool { return &b }

// TestEventTypes sends one event of each type through a real server and
// checks the Change it causes and the view it leaves.
func TestEventTypes(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	ctx := context.Background()

	steps := []struct {
		name       string
		event      *Event
		wantGroups []string
		wantUsers  []string
		check      func(t *testing.T, snap *sources.Snapshot)
	}{
		{
			name:      "user upserted, in no group yet",
			event:     ev(TypeUserUpserted, "u-ada", Data{Email: "ada@example.com", DisplayName: "Ada"}),
			wantUsers: []string{"u-ada"},
		},
		{
			name: "group upserted with members by id and by email and a nested group",
			event: ev(TypeGroupUpserted, "grp-analysts", Data{Name: "Analysts",
				Members:      []Member{{ID: "u-ada"}, {Email: "Grace@Example.com"}},
				MemberGroups: []string{"grp-interns"}}),
			wantGroups: []string{"grp-analysts"},
			check: func(t *testing.T, snap *sources.Snapshot) {
				g := group(t, snap, "grp-analysts")
				if g.Name != "Analysts" || !sameSet(g.MemberUsers, []string{"u-ada", "grace@example.com"}) {
					t.Errorf("group = %+v", g)
				}
				if len(g.MemberGroups) != 0 {
					t.Errorf("MemberGroups = %v, want none until grp-interns exists", g.MemberGroups)
				}
				if u := user(t, snap, "grace@example.com"); u.Email != "Grace@Example.com" {
					t.Errorf("email-only member = %+v", u)
				}
			},
		},
		{
			name:       "nested group upserted: its parent is named too",
			event:      ev(TypeGroupUpserted, "grp-interns", Data{Name: "Interns", Members: []Member{{ID: "u-linus", Email: "linus@example.com"}}}),
			wantGroups: []string{"grp-analysts", "grp-interns"},
			check: func(t *testing.T, snap *sources.Snapshot) {
				if g := group(t, snap, "grp-analysts"); !slices.Equal(g.MemberGroups, []string{"grp-interns"}) {
					t.Errorf("MemberGroups = %v, want [grp-interns]", g.MemberGroups)
				}
			},
		},
		{
			name:       "members added",
			event:      ev(TypeMembersAdded, "grp-analysts", Data{Members: []Member{{ID: "u-bob", Email: "bob@example.com"}}}),
			wantGroups: []string{"grp-analysts"},
			wantUsers:  []string{"u-bob"},
			check: func(t *testing.T, snap *sources.Snapshot) {
				if g := group(t, snap, "grp-analysts"); !sameSet(g.MemberUsers, []string{"u-ada", "grace@example.com", "u-bob"}) {
					t.Errorf("members = %v", g.MemberUsers)
				}
			},
		},
		{
			name:       "members removed by email",
			event:      ev(TypeMembersRemoved, "grp-analysts", Data{Members: []Member{{Email: "grace@example.com"}}}),
			wantGroups: []string{"grp-analysts"},
			wantUsers:  []string{"grace@example.com"},
			check: func(t *testing.T, snap *sources.Snapshot) {
				if g := group(t, snap, "grp-analysts"); !sameSet(g.MemberUsers, []string{"u-ada", "u-bob"}) {
					t.Errorf("members = %v", g.MemberUsers)
				}
			},
		},
		{
			name:       "user disabled: names the groups it is in, and the groups above",
			event:      ev(TypeUserUpserted, "u-linus", Data{Email: "linus@example.com", Enabled: boolp(false)}),
			wantGroups: []string{"grp-analysts", "grp-interns"},
			wantUsers:  []string{"u-linus"},
			check: func(t *testing.T, snap *sources.Snapshot) {
				if u := user(t, snap, "u-linus"); !u.Disabled {
					t.Errorf("user = %+v, want disabled", u)
				}
			},
		},
		{
			name:       "user deleted: dropped from its groups",
			event:      ev(TypeUserDeleted, "u-bob", Data{}),
			wantGroups: []string{"grp-analysts"},
			wantUsers:  []string{"u-bob"},
			check: func(t *testing.T, snap *sources.Snapshot) {
				if g := group(t, snap, "grp-analysts"); !sameSet(g.MemberUsers, []string{"u-ada"}) {
					t.Errorf("members = %v", g.MemberUsers)
				}
				for _, u := range snap.Users {
					if u.ID == "u-bob" {
						t.Errorf("deleted user still in snapshot")
					}
				}
			},
		},
		{
			name:       "group deleted: gone, and unlinked from its parent",
			event:      ev(TypeGroupDeleted, "grp-interns", Data{}),
			wantGroups: []string{"grp-analysts", "grp-interns"},
			check: func(t *testing.T, snap *sources.Snapshot) {
				for _, g := range snap.Groups {
					if g.ID == "grp-interns" {
						t.Errorf("deleted group still in snapshot")
					}
				}
				if g := group(t, snap, "grp-analysts"); len(g.MemberGroups) != 0 {
					t.Errorf("MemberGroups = %v, want none", g.MemberGroups)
				}
			},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.publish(st.event)
			c := h.next()
			if c.Source != "hr" || !strings.Contains(c.Reason, st.event.ID) {
				t.Errorf("change = %+v", c)
			}
			if !sameSet(c.GroupIDs, st.wantGroups) {
				t.Errorf("GroupIDs = %v, want %v", c.GroupIDs, st.wantGroups)
			}
			if !sameSet(c.UserIDs, st.wantUsers) {
				t.Errorf("UserIDs = %v, want %v", c.UserIDs, st.wantUsers)
			}
			c.Done(nil)
			c.Done(nil) // a second call is ignored
			snap, err := h.src.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !snap.Complete || snap.Source != "hr" {
				t.Errorf("snapshot complete=%v source=%q", snap.Complete, snap.Source)
			}
			if st.check != nil {
				st.check(t, snap)
			}
		})
	}
	h.consumerSettled()
	for _, typ := range Types {
		if got := h.counter(h.src.m.applied, typ.Short()); got < 1 {
			t.Errorf("applied{%s} = %v, want >= 1", typ.Short(), got)
		}
	}
}

// TestReadGroups reads a group with its nested groups and member users only.
func TestReadGroups(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	for _, e := range []*Event{
		ev(TypeUserUpserted, "u-ada", Data{Email: "ada@example.com"}),
		ev(TypeUserUpserted, "u-zed", Data{Email: "zed@example.com"}),
		ev(TypeGroupUpserted, "top", Data{Name: "Top", Members: []Member{{Email: "ADA@example.com"}}, MemberGroups: []string{"mid", "gone"}}),
		ev(TypeGroupUpserted, "mid", Data{Name: "Mid", Members: []Member{{ID: "u-eve", Email: "eve@example.com"}}}),
		ev(TypeGroupUpserted, "other", Data{Name: "Other", Members: []Member{{ID: "u-zed"}}}),
	} {
		h.publish(e)
		h.next().Done(nil)
	}
	snap, err := h.src.ReadGroups(context.Background(), []string{"top", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range snap.Groups {
		ids = append(ids, g.ID)
	}
	if !slices.Equal(ids, []string{"mid", "top"}) {
		t.Errorf("groups = %v, want [mid top]", ids)
	}
	if g := group(t, snap, "top"); !slices.Equal(g.MemberUsers, []string{"u-ada"}) || !slices.Equal(g.MemberGroups, []string{"mid"}) {
		t.Errorf("top = %+v: want the email member resolved to u-ada and only live nested groups", g)
	}
	var users []string
	for _, u := range snap.Users {
		users = append(users, u.ID)
	}
	if !slices.Equal(users, []string{"u-ada", "u-eve"}) {
		t.Errorf("users = %v, want [u-ada u-eve]", users)
	}
	if u := user(t, snap, "u-eve"); u.Email != "eve@example.com" {
		t.Errorf("u-eve = %+v, want the email from the group event", u)
	}
	if !snap.Complete {
		t.Error("incomplete")
	}
}

// TestDuplicatesAndStaleEvents: JetStream drops a re-sent event; an older
// event for a group is acknowledged and ignored; a newer one flows.
func TestDuplicatesAndStaleEvents(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))

	first := ev(TypeGroupUpserted, "g", Data{Name: "G", Members: []Member{{ID: "u1"}}}, seq(5))
	if ack := h.publish(first); ack.Duplicate {
		t.Fatal("first publish marked duplicate")
	}
	if ack := h.publish(first); !ack.Duplicate {
		t.Error("re-sent event not de-duplicated by JetStream")
	}
	h.next().Done(nil)

	h.publish(ev(TypeMembersAdded, "g", Data{Members: []Member{{ID: "u-old"}}}, seq(4)))                 // older
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "Old name"}, seq(5)))                                // same seq, other event
	h.publish(ev(TypeGroupDeleted, "g", Data{}, func(e *Event) { e.Time = first.Time.Add(-time.Hour) })) // no seq, older time
	newer := ev(TypeMembersAdded, "g", Data{Members: []Member{{ID: "u2"}}}, seq(6))
	h.publish(newer)

	c := h.next() // the stale ones made no change: the next one is the newer event
	if !strings.Contains(c.Reason, newer.ID) {
		t.Fatalf("change %q, want the one for %s", c.Reason, newer.ID)
	}
	c.Done(nil)
	h.consumerSettled()
	if got := h.counter(h.src.m.stale, "group.members_added") + h.counter(h.src.m.stale, "group.upserted") + h.counter(h.src.m.stale, "group.deleted"); got != 3 {
		t.Errorf("stale = %v, want 3", got)
	}
	snap, err := h.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := group(t, snap, "g"); g.Name != "G" || !sameSet(g.MemberUsers, []string{"u1", "u2"}) {
		t.Errorf("group = %+v", g)
	}
}

// TestPoisonEventsDoNotBlock: bad events are terminated and counted, and
// the good event behind them arrives.
func TestPoisonEventsDoNotBlock(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.MaxEventBytes = 4096
	h := start(t, srv, cfg)

	h.publishRaw("p1", []byte("this is not JSON"))
	h.publishRaw("p2", []byte(`{"specversion":"1.0","id":"evt-p2","source":"/t","type":"io.example.nope","time":"2026-01-01T00:00:00Z","data":{"id":"g"}}`))
	h.publishRaw("p3", []byte(`{"specversion":"1.0","id":"evt-p3","source":"/t","type":"io.lightdash-sync.group.upserted","time":"2026-01-01T00:00:00Z","data":{"id":"g","name":"`+strings.Repeat("x", 5000)+`"}}`))
	h.publishRaw("p4", []byte(`{"specversion":"1.0","id":"evt-p4","source":"/t","type":"io.lightdash-sync.group.upserted","time":"2026-01-01T00:00:00Z","data":{"id":"g\u0000","name":"G"}}`))
	good := ev(TypeGroupUpserted, "g", Data{Name: "G"})
	h.publish(good)

	c := h.next()
	if !strings.Contains(c.Reason, good.ID) {
		t.Fatalf("change %q, want the good event", c.Reason)
	}
	c.Done(nil)
	info := h.consumerSettled()
	if info.NumRedelivered != 0 {
		t.Errorf("redelivered = %d, want 0: poison must be terminated, not retried", info.NumRedelivered)
	}
	for reason, want := range map[string]float64{"malformed": 1, "unknown_type": 1, "oversize": 1, "bad_string": 1} {
		if got := h.counter(h.src.m.poison, reason); got != want {
			t.Errorf("poison{%s} = %v, want %v", reason, got, want)
		}
	}
}

func group(t *testing.T, s *sources.Snapshot, id string) sources.DirGroup {
	t.Helper()
	for _, g := range s.Groups {
		if g.ID == id {
			return g
		}
	}
	t.Fatalf("group %s not in snapshot %+v", id, s.Groups)
	return sources.DirGroup{}
}

func user(t *testing.T, s *sources.Snapshot, id string) sources.DirUser {
	t.Helper()
	for _, u := range s.Users {
		if u.ID == id {
			return u
		}
	}
	t.Fatalf("user %s not in snapshot %+v", id, s.Users)
	return sources.DirUser{}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
