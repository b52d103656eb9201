package ldap

import (
	"slices"
	"sort"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// tracker is the watcher's memory of the last seen users and groups,
// keyed by id. Changes are computed against it: a syncrepl or DirSync
// message carries one entry (or only its id, for a delete), and the groups
// it affects are found here, through the index in tracker_index.go.
//
// The tracker owns the records it is given: it swaps their key and member
// strings for equal shared copies, drops their poll stamp, unless
// keepUsers is set their user (their sum stays) and, unless keepEntries is
// set, their decoded entry. It
// never changes a record in any other way once stored (renameMember stores
// copies), but to point a user record at an equal user a snapshot holds
// (shareUsers).
type tracker struct {
	uidMode bool
	// keepEntries keeps each record's decoded entry, which DirSync needs to
	// merge a delta into; the other watchers let it go (at 100,000 entries
	// it is most of the tracker's memory).
	keepEntries bool
	// keepUsers keeps each user record's DirUser, so that a snapshot can
	// be built from the tracker (watchstate.go).
	keepUsers bool
	// linksFollowRenames: the server rewrites the values naming a renamed
	// entry (AD's linked attributes), so a read returns the renamed values
	// and listed is not kept.
	linksFollowRenames bool
	// listed holds, with keepUsers, the member values the server last
	// sent for each group renameMember rewrote: what a read returns.
	listed map[string][]string
	// unsure says, once, why the tracker may no longer be what a read
	// returns (see blindToRefInt); the watcher takes it (takeUnsure).
	unsure string
	// gone holds, where blindToRefInt, the keys of entries deleted while
	// groups listed them.
	gone map[string]struct{}
	recs map[string]*record
	keys map[string]*keyEntry // member key -> the groups listing it and the records it names
	// moreOwners holds, for a key more than one record has, the ids
	// besides keys[key].owner.
	moreOwners map[string][]string
	groupIDs   map[string]bool
	allGroups  []string // groupIDs sorted; nil when stale
}

func newTracker(uidMode bool) *tracker {
	return &tracker{uidMode: uidMode, recs: map[string]*record{}, keys: map[string]*keyEntry{}, groupIDs: map[string]bool{}}
}

func (t *tracker) empty() bool { return len(t.recs) == 0 }

// users is how many user records t holds.
func (t *tracker) users() int { return len(t.recs) - len(t.groupIDs) }

// key is how members refer to a record.
func (t *tracker) key(r *record) string {
	if !r.isGroup && t.uidMode {
		return r.name
	}
	return r.ndn
}

// blindToRefInt reports whether the server may change groups without
// sending them: OpenLDAP's refint overlay (and 389-DS's referential
// integrity plugin) rewrite or drop the member DNs naming a renamed or
// deleted entry, and syncrepl does not send the groups it changed. The
// tracker cannot tell whether the server does, so a change whose outcome
// depends on it leaves the tracker unsure. (memberUid values are names no
// server rewrites; AD's DirSync sends its linked-value changes.)
func (t *tracker) blindToRefInt() bool { return !t.uidMode && !t.linksFollowRenames }

// doubtIf records why as unsure, unless the tracker is unsure already.
func (t *tracker) doubtIf(cond bool, why string) {
	if cond && t.unsure == "" {
		t.unsure = why
	}
}

// takeUnsure returns, and clears, why the tracker became unsure ("" when
// it did not) since the last call.
func (t *tracker) takeUnsure() string {
	why := t.unsure
	t.unsure = ""
	return why
}

// containing returns the groups whose members include any of keys, plus
// every group above them (a nested change changes the flattened parents).
// It costs in proportion to the groups it returns and their parents.
func (t *tracker) containing(keys ...string) []string {
	found := map[string]bool{}
	want := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" {
			want = append(want, k)
		}
	}
	for len(want) > 0 {
		var next []string
		for _, k := range want {
			for id := range t.holders(k).all() {
				if !found[id] {
					found[id] = true
					next = append(next, t.recs[id].ndn)
				}
			}
		}
		want = next
	}
	return sortedKeys(found)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}

// store records r in place of the record with its id and returns that
// record (nil when new). A changed key is followed into the groups that
// list the old one (see renameMember).
func (t *tracker) store(r *record) *record {
	old := t.recs[r.id]
	delete(t.listed, r.id) // r is as the server sent it
	t.replace(old, r)
	if old != nil && old.isGroup == r.isGroup {
		if from, to := t.key(old), t.key(r); from != to {
			t.renameMember(from, to)
		}
	}
	return old
}

// fill records r without working out what it changed: the first load of
// a session, whose entries the worker's full reconciliation covers.
func (t *tracker) fill(r *record) { t.store(r) }

// apply records r and returns the change it makes, or nil when nothing a
// group depends on changed. force reports a change even so (an entry sent
// during a resumed refresh changed while we were away, but the tracker
// was filled after the change).
func (t *tracker) apply(r *record, force bool, reason string) *sources.Change {
	old := t.store(r)
	if old != nil && old.isGroup != r.isGroup {
		old = nil
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
	changed := old == nil || old.ndn != r.ndn || old.name != r.name || old.sum != r.sum
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
// extra groups this names are only re-read, never trusted. Only the
// groups listing from are touched, and they are copied, not changed in
// place: the records may still be read elsewhere.
func (t *tracker) renameMember(from, to string) {
	ids := slices.Collect(t.holders(from).all()) // replace changes the set
	t.doubtIf(len(ids) > 0 && t.blindToRefInt(), "a renamed entry is listed by groups, which a server with referential integrity rewrites unseen")
	for _, id := range ids {
		g := t.recs[id]
		if _, ok := t.listed[id]; !ok && t.keepUsers && !t.linksFollowRenames {
			if t.listed == nil {
				t.listed = map[string][]string{}
			}
			t.listed[id] = g.members
		}
		c := *g
		c.members = slices.Clone(g.members)
		for i, m := range c.members {
			if m == from {
				c.members[i] = to
			}
		}
		t.replace(g, &c)
	}
}

// dropMember takes key out of the members of the groups that list it, as
// AD does with the links to an entry it deletes (without a change to those
// groups DirSync would report). Like renameMember it stores copies.
func (t *tracker) dropMember(key string) {
	ids := slices.Collect(t.holders(key).all()) // replace changes the set
	for _, id := range ids {
		g := t.recs[id]
		c := *g
		c.members = slices.DeleteFunc(slices.Clone(g.members), func(m string) bool { return m == key })
		t.replace(g, &c)
	}
}

// memberDiff names the users that joined or left, for logs. Keys are
// resolved through the index, so it costs in proportion to the two
// member lists, not to the directory.
func (t *tracker) memberDiff(old, r *record) []string {
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
	ids := map[string]bool{}
	note := func(k string) {
		for id := range t.owners(k) {
			if !t.recs[id].isGroup {
				ids[id] = true
			}
		}
	}
	for m := range before {
		if !after[m] {
			note(m)
		}
	}
	for m := range after {
		if !before[m] {
			note(m)
		}
	}
	return sortedKeys(ids)
}

// remove forgets id and returns the change. An id never seen (deleted
// before we knew it) names every known group: we cannot tell which held
// it, and a change is only a trigger.
func (t *tracker) remove(id, reason string) *sources.Change {
	old, ok := t.recs[id]
	if !ok {
		if len(t.groupIDs) == 0 {
			return nil
		}
		if t.allGroups == nil { // kept: a refresh may name many unknown ids in a row
			t.allGroups = sortedKeys(t.groupIDs)
		}
		return &sources.Change{GroupIDs: slices.Clone(t.allGroups), Reason: reason + " (unknown entry)"}
	}
	groups := map[string]bool{}
	for _, g := range t.containing(t.key(old)) {
		groups[g] = true
	}
	t.replace(old, nil)
	t.noteGone(t.key(old))
	delete(t.listed, id)
	if old.isGroup {
		groups[id] = true
		return &sources.Change{GroupIDs: sortedKeys(groups), Reason: reason}
	}
	return &sources.Change{GroupIDs: sortedKeys(groups), UserIDs: []string{id}, Reason: reason}
}

// prune removes every record not in seen (a present phase or full read
// names everything that still exists) and returns the changes.
func (t *tracker) prune(seen map[string]bool, reason string) []*sources.Change {
	gone := map[string]bool{}
	for id := range t.recs {
		if !seen[id] {
			gone[id] = true
		}
	}
	var out []*sources.Change
	for _, id := range sortedKeys(gone) {
		if c := t.remove(id, reason); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// dangling returns the groups with a member that matches no known user or
// group: one deleted while we were away, or one outside the bases (named
// needlessly, which is harmless for a trigger), and every group above them.
func (t *tracker) dangling() []string {
	out := map[string]bool{}
	var ndns []string
	for _, e := range t.keys {
		if e.owner != "" {
			continue
		}
		for id := range e.groups.all() {
			if !out[id] {
				out[id] = true
				ndns = append(ndns, t.recs[id].ndn)
			}
		}
	}
	for _, p := range t.containing(ndns...) {
		out[p] = true
	}
	return sortedKeys(out)
}
