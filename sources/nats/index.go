package nats

import (
	"slices"
	"sync"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// index is the in-memory reverse index of the view: which groups hold a
// member (by id or email) or a nested group, and which user has an email.
// It lets a user event name every group the user is in, and a group event
// name the groups it is nested in, without reading the whole bucket. It is
// rebuilt from the bucket on start and kept current by this process's own
// writes.
type index struct {
	mu          sync.Mutex
	parents     map[ikey]map[string]struct{} // member id, lower-case email or nested group → group ids
	keysOfGroup map[string][]ikey            // group id → keys above it contributed, in member order
	userByEmail map[string]string            // lower-case email → user id
	emailsOf    map[string][]string          // user id → its lower-case emails
}

// ikey is what a group refers to: a member by id or by email, or a nested
// group. A struct rather than a prefixed string, so that indexing a big
// group allocates no key.
type ikey struct {
	kind byte // 'i' member id, 'e' lower-case email, 'g' group id
	v    string
}

func newIndex() *index {
	return &index{
		parents:     map[ikey]map[string]struct{}{},
		keysOfGroup: map[string][]ikey{},
		userByEmail: map[string]string{},
		emailsOf:    map[string][]string{},
	}
}

// put records r, replacing what the index knew of the same group or user.
func (x *index) put(r *record) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if r.Kind == kindUser {
		for _, e := range x.emailsOf[r.ID] {
			if x.userByEmail[e] == r.ID {
				delete(x.userByEmail, e)
			}
		}
		delete(x.emailsOf, r.ID)
		if !r.Deleted && r.Email != "" {
			e := ident.EmailKey(r.Email)
			x.userByEmail[e] = r.ID
			x.emailsOf[r.ID] = []string{e}
		}
		return
	}
	old := x.keysOfGroup[r.ID]
	if r.Deleted {
		for _, k := range old {
			x.unlink(k, r.ID)
		}
		delete(x.keysOfGroup, r.ID)
		return
	}
	// Only the difference is applied. The usual change, members added at
	// the end, leaves the old keys a prefix of the new ones: they are then
	// compared, not copied, and the new ones appended to the old slice
	// (the index's own), so a big group costs a comparison per member and
	// no allocation beyond the slice's growth.
	var keys []ikey // nil while the keys so far are old's first p
	p := 0
	add := func(k ikey) {
		switch {
		case keys == nil && p < len(old) && old[p] == k:
			p++
			return
		case keys == nil && p == len(old):
			keys = old[:p:cap(old)]
		case keys == nil:
			keys = append(make([]ikey, 0, len(old)+1), old[:p]...)
		}
		keys = append(keys, k)
	}
	for _, m := range r.Members {
		if m.ID != "" {
			add(ikey{'i', m.ID})
		}
		if m.Email != "" {
			add(ikey{'e', ident.EmailKey(m.Email)})
		}
	}
	for _, g := range r.MemberGroups {
		add(ikey{'g', g})
	}
	if keys == nil {
		keys = old[:p:p]
	}
	if p < len(old) {
		kept := make(map[ikey]struct{}, len(keys)) // all of them: a key may repeat
		for _, k := range keys {
			kept[k] = struct{}{}
		}
		for _, k := range old[p:] {
			if _, ok := kept[k]; !ok {
				x.unlink(k, r.ID)
			}
		}
	}
	for _, k := range keys[p:] {
		if x.parents[k] == nil {
			x.parents[k] = map[string]struct{}{}
		}
		x.parents[k][r.ID] = struct{}{}
	}
	x.keysOfGroup[r.ID] = keys
}

// unlink records that group no longer refers to k.
func (x *index) unlink(k ikey, group string) {
	delete(x.parents[k], group)
	if len(x.parents[k]) == 0 {
		delete(x.parents, k)
	}
}

// userIDByEmail returns the id of the user whose primary email is e.
func (x *index) userIDByEmail(e string) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.userByEmail[ident.EmailKey(e)]
	return id, ok
}

// userKeys are the index keys under which groups refer to user id: its id
// and its emails (old ones included, passed by the caller).
func (x *index) userKeys(id string, emails ...string) []ikey {
	x.mu.Lock()
	defer x.mu.Unlock()
	keys := []ikey{{'i', id}}
	for _, e := range append(slices.Clone(x.emailsOf[id]), emails...) {
		if e != "" {
			keys = append(keys, ikey{'e', ident.EmailKey(e)})
		}
	}
	return keys
}

// groupsContaining returns the groups that hold any of keys directly, and
// every group above those, sorted. start groups are included too.
func (x *index) groupsContaining(start []string, keys []ikey) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	seen := map[string]bool{}
	var queue []string
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			queue = append(queue, g)
		}
	}
	for _, g := range start {
		add(g)
	}
	for _, k := range keys {
		for g := range x.parents[k] {
			add(g)
		}
	}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		for p := range x.parents[ikey{'g', g}] {
			add(p)
		}
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}
