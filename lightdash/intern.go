package lightdash

import (
	"context"
	"sync"
)

// interner gives the strings of one list read a single canonical copy each.
// A full group list names each user in every group they belong to, twice
// (in members and in memberUuids): 500,000 memberships of 100,000 users
// would otherwise keep 1,000,000 uuid strings and 500,000 copies of each
// member's email and names. It lives for one read only, so it never grows
// with the life of the process.
type interner struct {
	// uuids maps a user uuid to its canonical copy. Kept apart from
	// people: a read of member uuids only (Client.MemberUUIDsOnly, the
	// daemon's) then holds a string per user, not a whole GroupMember,
	// which at 100,000 users halved the read's transient map.
	uuids *uuidTable
	// people maps a canonical user uuid to the first member summary
	// seen for it: its email and names are the canonical copies.
	people map[string]GroupMember
	// strs holds the few values shared by every item: organization
	// uuids, roles.
	strs map[string]string
	// members and scratch are scratch arrays that group member lists are
	// decoded into before being copied out (GroupWithMembers.decodeItem).
	members []GroupMember
	scratch []string
	// uuidsOnly: groups keep MemberUUIDs only (Client.MemberUUIDsOnly).
	uuidsOnly bool
	// noNames: users are decoded without names (Client.SkipUserNames),
	// each through noNamesUser.
	noNames     bool
	noNamesUser orgMemberNoNames
}

// newInterner returns an interner for one list read, of the uuids of
// shared (ShareUUIDs) when not nil.
func newInterner(shared *uuidTable) *interner {
	in := &interner{uuids: shared, people: map[string]GroupMember{}, strs: map[string]string{}}
	if shared == nil {
		in.uuids = newUUIDTable()
	}
	return in
}

type uuidTableKey struct{}

// ShareUUIDs returns a context whose list reads (ListUsers, ListGroups)
// give each user uuid one string across all of them, not one per list: a
// users list and a groups list read with it, at once or not, name each
// user with the same string, as a cache of both wants. The uuids of known
// (users the caller holds already, e.g. an earlier list) are those
// strings, so a user still there costs no new one. The strings are looked
// up in a table that lives as long as the context; known is only read.
func ShareUUIDs(ctx context.Context, known []OrgMember) context.Context {
	t := &uuidTable{m: make(map[string]string, len(known))}
	for _, u := range known {
		t.m[u.UserUUID] = u.UserUUID
	}
	return context.WithValue(ctx, uuidTableKey{}, t)
}

// users replaces each user's uuid by the table's copy.
func (t *uuidTable) users(us []OrgMember) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range us {
		us[i].UserUUID = t.strLocked(us[i].UserUUID)
	}
}

// sharedUUIDs is the table ShareUUIDs put in ctx, or nil.
func sharedUUIDs(ctx context.Context) *uuidTable {
	t, _ := ctx.Value(uuidTableKey{}).(*uuidTable)
	return t
}

// uuidTable maps a user uuid to its canonical copy.
type uuidTable struct {
	mu sync.Mutex
	m  map[string]string
}

func newUUIDTable() *uuidTable { return &uuidTable{m: map[string]string{}} }

// str returns the canonical copy of u.
func (t *uuidTable) str(u string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.strLocked(u)
}

func (t *uuidTable) strLocked(u string) string {
	if c, ok := t.m[u]; ok {
		return c
	}
	t.m[u] = u
	return u
}

// bytesLocked returns the canonical copy of the uuid b, allocating only
// for one not held yet (Go does not allocate for m[string(b)]).
func (t *uuidTable) bytesLocked(b []byte) string {
	if c, ok := t.m[string(b)]; ok {
		return c
	}
	u := string(b)
	t.m[u] = u
	return u
}

// str returns the canonical copy of s.
func (in *interner) str(s string) string {
	if s == "" {
		return s
	}
	if c, ok := in.strs[s]; ok {
		return c
	}
	in.strs[s] = s
	return s
}

// uuid returns the canonical copy of a user uuid.
func (in *interner) uuid(u string) string { return in.uuids.str(u) }

// member replaces m's strings by the canonical copies of equal strings.
func (in *interner) member(m *GroupMember) {
	m.UserUUID = in.uuid(m.UserUUID)
	c, ok := in.people[m.UserUUID]
	if !ok {
		in.people[m.UserUUID] = *m
		return
	}
	if m.Email == c.Email {
		m.Email = c.Email
	}
	if m.FirstName == c.FirstName {
		m.FirstName = c.FirstName
	}
	if m.LastName == c.LastName {
		m.LastName = c.LastName
	}
}

func (g *GroupWithMembers) intern(in *interner) {
	g.OrganizationUUID = in.str(g.OrganizationUUID)
	for i := range g.Members {
		in.member(&g.Members[i])
	}
	for i, u := range g.MemberUUIDs {
		g.MemberUUIDs[i] = in.uuid(u)
	}
}

// intern for users: every user is distinct, but all share an organization
// uuid and one of a few roles. (With ShareUUIDs, userPage interns the
// uuids a page at a time: one lock per page, not per user.)
func (m *OrgMember) intern(in *interner) {
	m.OrganizationUUID = in.str(m.OrganizationUUID)
	m.Role = Role(in.str(string(m.Role)))
}
