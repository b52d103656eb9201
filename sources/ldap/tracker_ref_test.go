package ldap

import (
	"slices"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// refTracker is the tracker as it was before its index (issue 9, the
// tree of 9e45578), kept as the brute-force reference the indexed one must
// agree with: every query scans every record, O(memberships) each. It
// tells a changed user by comparing the users field by field, as that
// tree did, not by the production sum, so a sum that misses a field
// disagrees with it. (Its records keep their users: it never drops them.)
type refTracker struct {
	uidMode bool
	recs    map[string]*record
}

func newRefTracker(uidMode bool) *refTracker {
	return &refTracker{uidMode: uidMode, recs: map[string]*record{}}
}

// key is how members refer to a record.
func (t *refTracker) key(r *record) string {
	if !r.isGroup && t.uidMode {
		return r.name
	}
	return r.ndn
}

// containing returns the groups whose members include any of keys, plus
// every group above them (a nested change changes the flattened parents).
func (t *refTracker) containing(keys ...string) []string {
	want := map[string]bool{}
	for _, k := range keys {
		if k != "" {
			want[k] = true
		}
	}
	found := map[string]bool{}
	for len(want) > 0 {
		next := map[string]bool{}
		for _, g := range t.recs {
			if !g.isGroup || found[g.id] {
				continue
			}
			for _, m := range g.members {
				if want[m] {
					found[g.id] = true
					next[g.ndn] = true
					break
				}
			}
		}
		want = next
	}
	return sortedKeys(found)
}

// apply records r and returns the change it makes, or nil when nothing a
// group depends on changed. force reports a change even so (an entry sent
// during a resumed refresh changed while we were away, but the tracker
// was filled after the change).
func (t *refTracker) apply(r *record, force bool, reason string) *sources.Change {
	old := t.recs[r.id]
	t.recs[r.id] = r
	if old != nil && old.isGroup != r.isGroup {
		old = nil
	}
	if old != nil && t.key(old) != t.key(r) {
		t.renameMember(t.key(old), t.key(r))
	}
	if r.isGroup {
		changed := old == nil || old.ndn != r.ndn || old.groupName != r.groupName || !sameSet(old.members, r.members)
		if !changed && !force {
			return nil
		}
		groups := map[string]bool{r.id: true}
		keys := []string{r.ndn}
		if old != nil {
			keys = append(keys, old.ndn)
		}
		for _, id := range t.containing(keys...) {
			groups[id] = true
		}
		return &sources.Change{GroupIDs: sortedKeys(groups), UserIDs: t.memberDiff(old, r), Reason: reason}
	}
	changed := old == nil || old.ndn != r.ndn || old.name != r.name || !sameUser(*old.user, *r.user)
	if !changed && !force {
		return nil
	}
	keys := []string{t.key(r)}
	if old != nil {
		keys = append(keys, t.key(old))
	}
	return &sources.Change{GroupIDs: t.containing(keys...), UserIDs: []string{r.id}, Reason: reason}
}

// renameMember rewrites member references from one key to another after
// an entry was renamed, as the refint overlay (or AD) does on the server,
// so that later changes to the renamed entry still name the groups that
// nest it. Without refint on the server the reference dangles there; the
// extra groups this names are only re-read, never trusted.
func (t *refTracker) renameMember(from, to string) {
	for id, g := range t.recs {
		if !g.isGroup || !slices.Contains(g.members, from) {
			continue
		}
		c := *g
		c.members = slices.Clone(g.members)
		for i, m := range c.members {
			if m == from {
				c.members[i] = to
			}
		}
		t.recs[id] = &c
	}
}

// memberDiff names the users that joined or left, for logs.
func (t *refTracker) memberDiff(old, r *record) []string {
	before := map[string]bool{}
	if old != nil {
		for _, m := range old.members {
			before[m] = true
		}
	}
	after := map[string]bool{}
	for _, m := range r.members {
		after[m] = true
	}
	diff := map[string]bool{}
	for m := range before {
		if !after[m] {
			diff[m] = true
		}
	}
	for m := range after {
		if !before[m] {
			diff[m] = true
		}
	}
	ids := map[string]bool{}
	for _, u := range t.recs {
		if !u.isGroup && diff[t.key(u)] {
			ids[u.id] = true
		}
	}
	return sortedKeys(ids)
}

// remove forgets id and returns the change. An id never seen (deleted
// before we knew it) names every known group: we cannot tell which held
// it, and a change is only a trigger.
func (t *refTracker) remove(id, reason string) *sources.Change {
	old, ok := t.recs[id]
	if !ok {
		all := map[string]bool{}
		for _, g := range t.recs {
			if g.isGroup {
				all[g.id] = true
			}
		}
		if len(all) == 0 {
			return nil
		}
		return &sources.Change{GroupIDs: sortedKeys(all), Reason: reason + " (unknown entry)"}
	}
	groups := map[string]bool{}
	for _, g := range t.containing(t.key(old)) {
		groups[g] = true
	}
	delete(t.recs, id)
	if old.isGroup {
		groups[id] = true
		return &sources.Change{GroupIDs: sortedKeys(groups), Reason: reason}
	}
	return &sources.Change{GroupIDs: sortedKeys(groups), UserIDs: []string{id}, Reason: reason}
}

// prune removes every record not in seen (a present phase or full read
// names everything that still exists) and returns the changes.
func (t *refTracker) prune(seen map[string]bool, reason string) []*sources.Change {
	var out []*sources.Change
	for _, id := range sortedKeys(func() map[string]bool {
		m := map[string]bool{}
		for id := range t.recs {
			if !seen[id] {
				m[id] = true
			}
		}
		return m
	}()) {
		if c := t.remove(id, reason); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// dangling returns the groups with a member that matches no known user or
// group: one deleted while we were away, or one outside the bases (named
// needlessly, which is harmless for a trigger).
func (t *refTracker) dangling() []string {
	known := map[string]bool{}
	for _, r := range t.recs {
		known[t.key(r)] = true
	}
	out := map[string]bool{}
	for _, g := range t.recs {
		if !g.isGroup {
			continue
		}
		for _, m := range g.members {
			if known[m] {
				continue
			}
			out[g.id] = true
			break
		}
	}
	for _, id := range sortedKeys(out) {
		for _, p := range t.containing(t.recs[id].ndn) {
			out[p] = true
		}
	}
	return sortedKeys(out)
}

func sameUser(a, b sources.DirUser) bool {
	return a.ID == b.ID && a.DN == b.DN && a.Email == b.Email && a.DisplayName == b.DisplayName &&
		a.Disabled == b.Disabled && slices.Equal(a.AltEmails, b.AltEmails)
}
