package ldap

import (
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// unsureTracker holds a user listed by a group and one listed by none.
func unsureTracker(uidMode, linksFollowRenames bool) (*tracker, *record, *record) {
	tr := newTracker(uidMode)
	tr.linksFollowRenames = linksFollowRenames
	listed := &record{id: "u1", ndn: "uid=grace,ou=people,dc=x", name: "grace"}
	listed.setUser(sources.DirUser{ID: "u1", Email: "grace@x"})
	alone := &record{id: "u2", ndn: "uid=hal,ou=people,dc=x", name: "hal"}
	alone.setUser(sources.DirUser{ID: "u2", Email: "hal@x"})
	member := listed.ndn
	if uidMode {
		member = listed.name
	}
	g := &record{id: "g1", isGroup: true, ndn: "cn=all,ou=groups,dc=x", groupName: "all", members: []string{member}}
	for _, r := range []*record{listed, alone, g} {
		tr.fill(r)
	}
	return tr, listed, alone
}

// renamed is r under another DN (and, for memberUid, another name).
func renamed(r *record, rdn string) *record {
	c := *r
	c.ndn, c.name = "uid="+rdn+",ou=people,dc=x", rdn
	return &c
}

// recreated is a new entry (another id) under r's DN.
func recreated(r *record) *record {
	c := *r
	c.id = r.id + "-again"
	c.setUser(sources.DirUser{ID: c.id, Email: "new@x"})
	return &c
}

// TestTrackerUnsureWhereRefIntWouldActUnseen: a change whose effect on
// the groups a server with referential integrity would apply without
// sending them (a listed member renamed; a listed member deleted and its
// DN taken again) leaves a DN-mode tracker unsure, once; the same changes
// to an entry no group lists, or under memberUid or AD's linked values,
// do not.
func TestTrackerUnsureWhereRefIntWouldActUnseen(t *testing.T) {
	for _, c := range []struct {
		name       string
		uid, links bool
		change     func(tr *tracker, listed, alone *record)
		unsure     bool
	}{
		{"listed member renamed", false, false, func(tr *tracker, l, _ *record) { tr.apply(renamed(l, "gracie"), false, "t") }, true},
		{"unlisted user renamed", false, false, func(tr *tracker, _, a *record) { tr.apply(renamed(a, "hal2"), false, "t") }, false},
		{"listed member deleted", false, false, func(tr *tracker, l, _ *record) { tr.remove(l.id, "t") }, false},
		{"listed member deleted, DN taken again", false, false, func(tr *tracker, l, _ *record) {
			tr.remove(l.id, "t")
			tr.apply(recreated(l), false, "t")
		}, true},
		{"DN taken again, then the old entry pruned", false, false, func(tr *tracker, l, _ *record) {
			tr.apply(recreated(l), false, "t")
			tr.prune(map[string]bool{"u2": true, "g1": true, l.id + "-again": true}, "t")
		}, true},
		{"unlisted user deleted, DN taken again", false, false, func(tr *tracker, _, a *record) {
			tr.remove(a.id, "t")
			tr.apply(recreated(a), false, "t")
		}, false},
		{"listed member deleted, group changed, DN taken again", false, false, func(tr *tracker, l, _ *record) {
			tr.remove(l.id, "t")
			tr.apply(&record{id: "g1", isGroup: true, ndn: "cn=all,ou=groups,dc=x", groupName: "all"}, false, "t")
			tr.apply(recreated(l), false, "t")
		}, false},
		{"memberUid: listed member renamed", true, false, func(tr *tracker, l, _ *record) { tr.apply(renamed(l, "gracie"), false, "t") }, false},
		{"memberUid: deleted, name taken again", true, false, func(tr *tracker, l, _ *record) {
			tr.remove(l.id, "t")
			tr.apply(recreated(l), false, "t")
		}, false},
		{"AD: listed member renamed", false, true, func(tr *tracker, l, _ *record) { tr.apply(renamed(l, "gracie"), false, "t") }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, listed, alone := unsureTracker(c.uid, c.links)
			if why := tr.takeUnsure(); why != "" {
				t.Fatalf("unsure after the load: %s", why)
			}
			c.change(tr, listed, alone)
			if why := tr.takeUnsure(); (why != "") != c.unsure {
				t.Errorf("unsure = %q, want unsure %v", why, c.unsure)
			}
			if why := tr.takeUnsure(); why != "" {
				t.Errorf("takeUnsure did not clear it: %q", why)
			}
		})
	}
}
