package nats

import (
	"slices"
	"strings"
	"sync"
)

// index is the in-memory reverse index of the view: which groups hold a
// member (by id or email) or a nested group, and which user has an email.
// It lets a user event name every group the user is in, and a group event
// name the groups it is nested in, without reading the whole bucket. It is
// rebuilt from the bucket on start and kept current by this process's own
// writes.
type index struct {
	mu          sync.Mutex
	parents     map[string]map[string]struct{} // "id:u", "email:a@b", "group:g" → group ids
	keysOfGroup map[string][]string            // group id → keys above it contributed
	userByEmail map[string]string              // lower-case email → user id
	emailsOf    map[string][]string            // user id → its lower-case emails
}

func newIndex() *index {
	return &index{
		parents:     map[string]map[string]struct{}{},
		keysOfGroup: map[string][]string{},
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
			e := strings.ToLower(r.Email)
			x.userByEmail[e] = r.ID
			x.emailsOf[r.ID] = []string{e}
		}
		return
	}
	for _, k := range x.keysOfGroup[r.ID] {
		delete(x.parents[k], r.ID)
		if len(x.parents[k]) == 0 {
			delete(x.parents, k)
		}
	}
	delete(x.keysOfGroup, r.ID)
	if r.Deleted {
		return
	}
	var keys []string
	for _, m := range r.Members {
		if m.ID != "" {
			keys = append(keys, "id:"+m.ID)
		}
		if m.Email != "" {
			keys = append(keys, "email:"+strings.ToLower(m.Email))
		}
	}
	for _, g := range r.MemberGroups {
		keys = append(keys, "group:"+g)
	}
	for _, k := range keys {
		if x.parents[k] == nil {
			x.parents[k] = map[string]struct{}{}
		}
		x.parents[k][r.ID] = struct{}{}
	}
	x.keysOfGroup[r.ID] = keys
}

// userIDByEmail returns the id of the user whose primary email is e.
func (x *index) userIDByEmail(e string) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.userByEmail[strings.ToLower(e)]
	return id, ok
}

// userKeys are the index keys under which groups refer to user id: its id
// and its emails (old ones included, passed by the caller).
func (x *index) userKeys(id string, emails ...string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	keys := []string{"id:" + id}
	for _, e := range append(slices.Clone(x.emailsOf[id]), emails...) {
		if e != "" {
			keys = append(keys, "email:"+strings.ToLower(e))
		}
	}
	return keys
}

// groupsContaining returns the groups that hold any of keys directly, and
// every group above those, sorted. start groups are included too.
func (x *index) groupsContaining(start []string, keys []string) []string {
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
		for p := range x.parents["group:"+g] {
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
