package ldap

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// checkIndex recomputes the tracker's index from its records, the slow
// way, and fails on any difference: a missing or extra group under a key,
// a missing or extra owner, an entry nothing refers to, or a record
// string that is not the shared copy.
func checkIndex(t *testing.T, tr *tracker, when string) {
	t.Helper()
	groups := map[string]map[string]bool{}
	owners := map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, k, id string) {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][id] = true
	}
	groupIDs := map[string]bool{}
	for id, r := range tr.recs {
		if id != r.id {
			t.Fatalf("%s: record %q stored under %q", when, r.id, id)
		}
		add(owners, tr.key(r), id)
		if r.isGroup {
			groupIDs[id] = true
			for _, m := range r.members {
				add(groups, m, id)
			}
		}
	}
	if !reflect.DeepEqual(tr.groupIDs, groupIDs) {
		t.Errorf("%s: group ids %v, want %v", when, tr.groupIDs, groupIDs)
	}
	if tr.allGroups != nil && !slices.Equal(tr.allGroups, sortedKeys(groupIDs)) {
		t.Errorf("%s: stale list of all groups %v, want %v", when, tr.allGroups, sortedKeys(groupIDs))
	}
	for k, e := range tr.keys {
		if e.key != k {
			t.Errorf("%s: entry %q holds key %q", when, k, e.key)
		}
		if e.unused() {
			t.Errorf("%s: entry %q is kept although nothing refers to it", when, k)
		}
		got := map[string]bool{}
		for id := range e.groups.all() {
			got[id] = true
		}
		if want := groups[k]; !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Errorf("%s: groups listing %q: got %v, want %v", when, k, got, want)
		}
		got = map[string]bool{}
		if e.owner == "" && len(tr.moreOwners[k]) > 0 {
			t.Errorf("%s: more owners of %q without an owner", when, k)
		}
		for id := range tr.owners(k) {
			if got[id] {
				t.Errorf("%s: owner %q listed twice under %q", when, id, k)
			}
			got[id] = true
		}
		if want := owners[k]; !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Errorf("%s: records keyed %q: got %v, want %v", when, k, got, want)
		}
	}
	for k := range groups {
		if tr.keys[k] == nil {
			t.Errorf("%s: no entry for member %q", when, k)
		}
	}
	for k := range owners {
		if tr.keys[k] == nil {
			t.Errorf("%s: no entry for key %q", when, k)
		}
	}
	for k, more := range tr.moreOwners {
		if tr.keys[k] == nil || len(more) == 0 {
			t.Errorf("%s: more owners %v kept for key %q", when, more, k)
		}
	}
	shared := func(s, k string) bool {
		e := tr.keys[k]
		return e != nil && (len(s) == 0 || unsafe.StringData(s) == unsafe.StringData(e.key))
	}
	for _, r := range tr.recs {
		if !shared(tr.key(r), tr.key(r)) {
			t.Errorf("%s: record %q keeps its own copy of key %q", when, r.id, tr.key(r))
		}
		for _, m := range r.members {
			if !shared(m, m) {
				t.Errorf("%s: group %q keeps its own copy of member %q", when, r.id, m)
			}
		}
	}
}

// sameRecords fails unless both trackers hold the same records.
func sameRecords(t *testing.T, got *tracker, want *refTracker, when string) {
	t.Helper()
	if len(got.recs) != len(want.recs) {
		t.Fatalf("%s: %d records, want %d", when, len(got.recs), len(want.recs))
	}
	for id, w := range want.recs {
		g := got.recs[id]
		if g == nil || g.ndn != w.ndn || g.name != w.name || g.isGroup != w.isGroup ||
			g.groupName != w.groupName || !slices.Equal(g.members, w.members) || g.sum != w.sum {
			t.Fatalf("%s: record %q = %+v, want %+v", when, id, g, w)
		}
	}
}

// recordSpec builds the same record afresh for each tracker, so neither
// sees what the other does to its copy.
type recordSpec struct {
	id, ndn, name, groupName string
	isGroup, disabled        bool
	members                  []string
}

func (s recordSpec) record() *record {
	r := &record{id: s.id, dn: s.ndn, ndn: s.ndn, isGroup: s.isGroup, name: s.name, groupName: s.groupName,
		members: slices.Clone(s.members)}
	if !s.isGroup {
		r.setUser(sources.DirUser{ID: s.id, DN: s.ndn, Email: s.name + "@x", Disabled: s.disabled})
	}
	return r
}

func userSpec(id, uid string) recordSpec {
	return recordSpec{id: id, ndn: "uid=" + uid + ",ou=people,dc=x", name: uid}
}

func groupSpec(id, cn string, members ...string) recordSpec {
	return recordSpec{id: id, ndn: "cn=" + cn + ",ou=groups,dc=x", groupName: cn, isGroup: true, members: members}
}

func udn(uid string) string { return "uid=" + uid + ",ou=people,dc=x" }
func gdn(cn string) string  { return "cn=" + cn + ",ou=groups,dc=x" }

// trackerOp is one step applied to both trackers; it returns what each
// reported, to be compared.
type trackerOp struct {
	apply  *recordSpec
	fill   bool // fill instead of apply: nothing is compared but the state
	remove string
	prune  []string // ids still seen
}

func (op trackerOp) run(tr *tracker, ref *refTracker) (got, want any) {
	switch {
	case op.apply != nil && op.fill:
		tr.fill(op.apply.record())
		ref.apply(op.apply.record(), false, "")
		return nil, nil
	case op.apply != nil:
		return tr.apply(op.apply.record(), false, "x"), ref.apply(op.apply.record(), false, "x")
	case op.prune != nil:
		seen := map[string]bool{}
		for _, id := range op.prune {
			seen[id] = true
		}
		return tr.prune(seen, "x"), ref.prune(seen, "x")
	default:
		return tr.remove(op.remove, "x"), ref.remove(op.remove, "x")
	}
}

func applyOp(s recordSpec) trackerOp { return trackerOp{apply: &s} }
func fillOp(s recordSpec) trackerOp  { return trackerOp{apply: &s, fill: true} }

// TestTrackerIndex runs named sequences through the indexed tracker and
// the brute-force one side by side: every change reported, every record
// kept, containing and dangling must agree, and the index must match a
// recomputation after every step.
func TestTrackerIndex(t *testing.T) {
	alice, bob, carol := userSpec("u1", "alice"), userSpec("u2", "bob"), userSpec("u3", "carol")
	eng := groupSpec("g1", "eng", udn("alice"), gdn("platform"))
	platform := groupSpec("g2", "platform", udn("bob"), udn("carol"))
	all := groupSpec("g3", "all", gdn("eng"), udn("carol"))
	base := []trackerOp{applyOp(alice), applyOp(bob), applyOp(carol), applyOp(eng), applyOp(platform), applyOp(all)}
	renamed := func(s recordSpec, ndn string) recordSpec { s.ndn = ndn; return s }
	withMembers := func(s recordSpec, m ...string) recordSpec { s.members = m; return s }
	asGroup := groupSpec("u2", "bob-now-a-group", udn("alice"))
	cases := []struct {
		name    string
		uidMode bool
		ops     []trackerOp
		query   []string // keys for containing
		want    []string // containing(query...)
	}{
		{"nested walk", false, base, []string{udn("bob")}, []string{"g1", "g2", "g3"}},
		{"filled, not applied", false, []trackerOp{fillOp(alice), fillOp(bob), fillOp(carol), fillOp(eng), fillOp(platform), fillOp(all)},
			[]string{udn("carol")}, []string{"g1", "g2", "g3"}},
		{"member removed", false, append(slices.Clone(base), applyOp(withMembers(platform, udn("carol")))),
			[]string{udn("bob")}, []string{}},
		{"member added", false, append(slices.Clone(base), applyOp(withMembers(all, gdn("eng"), udn("carol"), udn("bob")))),
			[]string{udn("bob")}, []string{"g1", "g2", "g3"}},
		{"user renamed", false, append(slices.Clone(base), applyOp(renamed(bob, udn("robert")))),
			[]string{udn("robert")}, []string{"g1", "g2", "g3"}},
		{"nested group renamed", false, append(slices.Clone(base), applyOp(renamed(platform, gdn("plat")))),
			[]string{udn("bob")}, []string{"g1", "g2", "g3"}},
		{"renamed back", false, append(slices.Clone(base), applyOp(renamed(bob, udn("robert"))), applyOp(bob)),
			[]string{udn("robert")}, []string{}},
		{"group removed", false, append(slices.Clone(base), trackerOp{remove: "g1"}),
			[]string{udn("bob")}, []string{"g2"}},
		{"user removed", false, append(slices.Clone(base), trackerOp{remove: "u2"}),
			[]string{udn("bob")}, []string{"g1", "g2", "g3"}},
		{"unknown removed", false, append(slices.Clone(base), trackerOp{remove: "nobody"}),
			[]string{udn("bob")}, []string{"g1", "g2", "g3"}},
		{"pruned", false, append(slices.Clone(base), trackerOp{prune: []string{"u1", "u2", "g2"}}),
			[]string{udn("bob")}, []string{"g2"}},
		{"user becomes a group", false, append(slices.Clone(base), applyOp(asGroup)),
			[]string{udn("alice")}, []string{"g1", "g3", "u2"}},
		{"cycle", false, []trackerOp{applyOp(groupSpec("g1", "a", gdn("b"))), applyOp(groupSpec("g2", "b", gdn("a"), udn("x")))},
			[]string{udn("x")}, []string{"g1", "g2"}},
		{"duplicate member, one copy dropped", false, []trackerOp{applyOp(groupSpec("g1", "a", udn("x"), udn("x"))),
			applyOp(groupSpec("g1", "a", udn("x")))}, []string{udn("x")}, []string{"g1"}},
		{"uid mode", true, []trackerOp{applyOp(alice), applyOp(recordSpec{id: "g1", ndn: gdn("a"), isGroup: true, groupName: "a", members: []string{"alice", ""}}),
			applyOp(recordSpec{id: "g2", ndn: gdn("b"), isGroup: true, groupName: "b", members: []string{gdn("a")}}),
			applyOp(recordSpec{id: "u1", ndn: udn("alice2"), name: "alice2"})},
			[]string{"alice2"}, []string{"g1", "g2"}},
		{"three users share a key", true, []trackerOp{applyOp(userSpec("u1", "alice")), applyOp(userSpec("u2", "alice")),
			applyOp(userSpec("u3", "alice")), applyOp(recordSpec{id: "g1", ndn: gdn("a"), isGroup: true, groupName: "a", members: []string{"alice"}}),
			{remove: "u1"}, applyOp(userSpec("u1", "alice")), {remove: "u3"},
			applyOp(recordSpec{id: "g1", ndn: gdn("a"), isGroup: true, groupName: "a"}),
			applyOp(recordSpec{id: "g1", ndn: gdn("a"), isGroup: true, groupName: "a", members: []string{"alice"}}),
			applyOp(userSpec("u2", "bob")), {remove: "u1"}},
			[]string{"alice"}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, ref := newTracker(c.uidMode), newRefTracker(c.uidMode)
			for i, op := range c.ops {
				when := fmt.Sprintf("step %d", i)
				got, want := op.run(tr, ref)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: got %+v, want %+v", when, deref(got), deref(want))
				}
				checkIndex(t, tr, when)
				sameRecords(t, tr, ref, when)
			}
			if got := tr.containing(c.query...); !slices.Equal(got, c.want) {
				t.Errorf("containing(%q): got %v, want %v", c.query, got, c.want)
			}
			if got, want := tr.dangling(), ref.dangling(); !slices.Equal(got, want) {
				t.Errorf("dangling: got %v, want %v", got, want)
			}
		})
	}
}

// TestTrackerIndexRandomized runs a few thousand random operations with a
// fixed seed through both trackers: renames into and out of names other
// entries hold, members that match nothing, cycles, type changes,
// removals of unknown ids and prunes.
func TestTrackerIndexRandomized(t *testing.T) {
	for _, uidMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("uidMode=%v", uidMode), func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, uint64(len(fmt.Sprint(uidMode)))))
			tr, ref := newTracker(uidMode), newRefTracker(uidMode)
			userKey := func() string {
				n := fmt.Sprintf("a%d", r.IntN(25))
				if uidMode {
					return n
				}
				return udn(n)
			}
			groupKey := func() string { return gdn(fmt.Sprintf("g%d", r.IntN(14))) }
			id := func() string {
				switch n := r.IntN(10); {
				case n < 5:
					return fmt.Sprintf("u%d", r.IntN(20))
				case n < 9:
					return fmt.Sprintf("g%d", r.IntN(10))
				default:
					return fmt.Sprintf("x%d", r.IntN(3)) // either kind, over time
				}
			}
			for step := range 3000 {
				var op trackerOp
				switch n := r.IntN(100); {
				case n < 35:
					uid := fmt.Sprintf("a%d", r.IntN(25))
					s := recordSpec{id: id(), ndn: udn(uid), name: uid, disabled: r.IntN(4) == 0}
					op = trackerOp{apply: &s, fill: r.IntN(5) == 0}
				case n < 80:
					s := recordSpec{id: id(), isGroup: true, ndn: groupKey(), groupName: fmt.Sprint("n", r.IntN(3))}
					for range r.IntN(7) {
						switch k := r.IntN(10); {
						case k < 6:
							s.members = append(s.members, userKey())
						case k < 9:
							s.members = append(s.members, groupKey())
						default:
							s.members = append(s.members, "")
						}
					}
					op = trackerOp{apply: &s, fill: r.IntN(5) == 0}
				case n < 95:
					op = trackerOp{remove: id()}
				default:
					op.prune = []string{}
					for _, k := range sortedKeys(func() map[string]bool {
						m := map[string]bool{}
						for k := range ref.recs {
							m[k] = true
						}
						return m
					}()) {
						if r.IntN(8) != 0 {
							op.prune = append(op.prune, k)
						}
					}
				}
				when := fmt.Sprintf("step %d (remove %q, prune %v)", step, op.remove, op.prune)
				if op.apply != nil {
					when = fmt.Sprintf("step %d (apply %+v, fill %v)", step, *op.apply, op.fill)
				}
				got, want := op.run(tr, ref)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: got %+v, want %+v", when, deref(got), deref(want))
				}
				checkIndex(t, tr, when)
				sameRecords(t, tr, ref, when)
				keys := []string{userKey(), groupKey()}
				if got, want := tr.containing(keys...), ref.containing(keys...); !slices.Equal(got, want) {
					t.Fatalf("%s: containing(%q): got %v, want %v", when, keys, got, want)
				}
				if step%50 == 0 {
					if got, want := tr.dangling(), ref.dangling(); !slices.Equal(got, want) {
						t.Fatalf("%s: dangling: got %v, want %v", when, got, want)
					}
				}
				if t.Failed() {
					t.FailNow()
				}
			}
		})
	}
}

// deref shows changes by value in failure messages.
func deref(v any) any {
	switch c := v.(type) {
	case *sources.Change:
		if c != nil {
			return *c
		}
	case []*sources.Change:
		out := make([]sources.Change, 0, len(c))
		for _, x := range c {
			out = append(out, *x)
		}
		return out
	}
	return v
}
