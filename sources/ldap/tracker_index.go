package ldap

import (
	"iter"
	"slices"
)

// The tracker's indexes. A syncrepl refresh sends every entry of the
// directory and each one asks "which groups list this key, and which
// groups list those?"; scanning every group for that would make one
// refresh cost O(entries × memberships). The index answers it in time
// proportional to the groups named, and doubles as the interner of member
// strings.
//
// Invariants, kept by replace (the only writer of recs):
//   - keys[k].groups holds id exactly when recs[id] is a group listing k;
//   - keys[k].owner and moreOwners[k] hold id (once) exactly when recs[id]
//     exists and key(recs[id]) == k; moreOwners[k] is non-empty only while
//     keys[k].owner is set;
//   - keys[k] exists only while one of the two is non-empty, and keys[k].key
//     is the one copy of k that every stored record uses;
//   - groupIDs holds exactly the ids of the group records, and allGroups,
//     when not nil, is groupIDs sorted.

// keyEntry is what the tracker knows about one member key.
type keyEntry struct {
	key    string // canonical copy of the key, shared by the records
	groups idSet  // ids of the groups that list key
	// owner is the id of the record whose key is key ("" when none). Two
	// records rarely share a key; the others are in tracker.moreOwners.
	owner string
}

func (e *keyEntry) unused() bool { return e.groups.len() == 0 && e.owner == "" }

// entry returns the entry for k, creating it (with k as the canonical
// copy) when it is new.
func (t *tracker) entry(k string) *keyEntry {
	e := t.keys[k]
	if e == nil {
		e = &keyEntry{key: k}
		t.keys[k] = e
	}
	return e
}

// release drops the entry of k once nothing refers to it, so the index
// and the interned strings shrink with the directory.
func (t *tracker) release(k string) {
	if e := t.keys[k]; e != nil && e.unused() {
		delete(t.keys, k)
		delete(t.gone, k)
	}
}

// setOf is the distinct member keys of a group record (nil for a user).
func setOf(r *record) map[string]struct{} {
	if r == nil || !r.isGroup {
		return nil
	}
	s := make(map[string]struct{}, len(r.members))
	for _, m := range r.members {
		s[m] = struct{}{}
	}
	return s
}

// replace stores r in place of old (either may be nil; both have the same
// id) and keeps the indexes in step. The new record's key and members are
// swapped for the canonical copies, so the tracker keeps one string per
// distinct key however many groups list it.
func (t *tracker) replace(old, r *record) {
	var id string
	switch {
	case r != nil:
		id = r.id
	case old != nil:
		id = old.id
	default:
		return
	}
	t.reindexKey(id, old, r)
	t.reindexMembers(id, old, r)
	if wasGroup, isGroup := old != nil && old.isGroup, r != nil && r.isGroup; wasGroup != isGroup {
		if isGroup {
			t.groupIDs[id] = true
		} else {
			delete(t.groupIDs, id)
		}
		t.allGroups = nil
	}
	if r == nil {
		delete(t.recs, id)
		return
	}
	// The poller reads stamps as records are decoded, and changes are
	// told by the user's sum: neither is needed from here.
	r.stamp = ""
	if !t.keepUsers {
		r.user = nil
	}
	if !t.keepEntries {
		r.entry = nil
	}
	t.recs[id] = r
}

// reindexKey moves id from the owners of old's key to those of r's.
func (t *tracker) reindexKey(id string, old, r *record) {
	oldKey, newKey := "", ""
	if old != nil {
		oldKey = t.key(old)
	}
	if r != nil {
		newKey = t.key(r)
	}
	moved := old == nil || r == nil || oldKey != newKey
	if old != nil && moved {
		if e := t.keys[oldKey]; e != nil {
			t.removeOwner(e, id)
		}
	}
	if r != nil {
		e := t.entry(newKey)
		if moved {
			t.addOwner(e, id)
			t.reuseOfGone(newKey)
		}
		t.setKey(r, e.key)
	}
	if old != nil {
		t.release(oldKey)
	}
}

// reindexMembers moves id from the groups listing keys only old lists to
// those listing keys only r lists; keys both list are left alone.
func (t *tracker) reindexMembers(id string, old, r *record) {
	if r != nil && r.isGroup && old != nil && old.isGroup && slices.Equal(old.members, r.members) {
		for i, m := range r.members { // the same keys: only share the strings
			if e := t.keys[m]; e != nil {
				r.members[i] = e.key
			}
		}
		return
	}
	before := setOf(old)
	if len(before) > 0 {
		after := setOf(r)
		for m := range before {
			if _, kept := after[m]; !kept && t.keys[m] != nil {
				t.keys[m].groups.remove(id)
			}
		}
	}
	if r != nil && r.isGroup {
		for i, m := range r.members {
			e := t.entry(m)
			if _, had := before[m]; !had {
				e.groups.add(id)
			}
			r.members[i] = e.key
		}
	}
	for m := range before {
		t.release(m)
	}
}

// reuseOfGone notes an entry taking the key of a deleted member that groups
// still list: with referential integrity the server dropped those values,
// without it the new entry is their member, and the tracker cannot tell.
func (t *tracker) reuseOfGone(k string) {
	if _, ok := t.gone[k]; ok {
		delete(t.gone, k)
		t.doubtIf(true, "an entry took the DN of a deleted member, which a server with referential integrity dropped from its groups unseen")
	}
}

// noteGone notes the deletion of the entry whose key was k, if groups
// list k: with referential integrity the server dropped those values.
// While another entry holds k the tracker cannot tell whether it is
// their member; otherwise an entry taking k later cannot be told
// (reuseOfGone).
func (t *tracker) noteGone(k string) {
	if !t.blindToRefInt() || t.holders(k).len() == 0 {
		return
	}
	if t.owned(k) {
		t.doubtIf(true, "a deleted member shared its DN with another entry, which a server with referential integrity dropped from its groups unseen")
		return
	}
	if t.gone == nil {
		t.gone = map[string]struct{}{}
	}
	t.gone[k] = struct{}{}
}

// setKey makes r's key field the canonical string k (equal to it).
func (t *tracker) setKey(r *record, k string) {
	if !r.isGroup && t.uidMode {
		r.name = k
	} else {
		r.ndn = k
	}
}

// holders returns the ids of the groups that list k (nil when none).
func (t *tracker) holders(k string) *idSet {
	if e := t.keys[k]; e != nil {
		return &e.groups
	}
	return nil
}

// owners yields the ids of the records whose key is k.
func (t *tracker) owners(k string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if !t.owned(k) || !yield(t.keys[k].owner) {
			return
		}
		for _, id := range t.moreOwners[k] {
			if !yield(id) {
				return
			}
		}
	}
}

// owned reports whether a record's key is k.
func (t *tracker) owned(k string) bool {
	e := t.keys[k]
	return e != nil && e.owner != ""
}

// addOwner records that id's key is e's.
func (t *tracker) addOwner(e *keyEntry, id string) {
	if e.owner == "" {
		e.owner = id
		return
	}
	if t.moreOwners == nil {
		t.moreOwners = map[string][]string{}
	}
	t.moreOwners[e.key] = append(t.moreOwners[e.key], id)
}

// removeOwner records that id's key is no longer e's.
func (t *tracker) removeOwner(e *keyEntry, id string) {
	more := t.moreOwners[e.key]
	switch i := slices.Index(more, id); {
	case e.owner == id && len(more) > 0:
		e.owner, more = more[0], more[1:]
	case e.owner == id:
		e.owner = ""
	case i >= 0:
		more = slices.Delete(more, i, i+1)
	default:
		return
	}
	if len(more) == 0 {
		delete(t.moreOwners, e.key)
	} else {
		t.moreOwners[e.key] = more
	}
}
