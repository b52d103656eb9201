package lightdash

// interner gives the strings of one list read a single canonical copy each.
// A full group list names each user in every group they belong to, twice
// (in members and in memberUuids): 500,000 memberships of 100,000 users
// would otherwise keep 1,000,000 uuid strings and 500,000 copies of each
// member's email and names. It lives for one read only, so it never grows
// with the life of the process.
type interner struct {
	// users maps a user uuid to the first GroupMember seen for it: its
	// uuid, email and names are the canonical copies.
	users map[string]GroupMember
	// strs holds the few values shared by every item: organization
	// uuids, roles.
	strs map[string]string
	// members and uuids are scratch arrays that group member lists are
	// decoded into before being copied out (GroupWithMembers.decodeItem).
	members []GroupMember
	uuids   []string
	// uuidsOnly: groups keep MemberUUIDs only (Client.MemberUUIDsOnly).
	uuidsOnly bool
}

func newInterner() *interner {
	return &interner{users: map[string]GroupMember{}, strs: map[string]string{}}
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
func (in *interner) uuid(u string) string {
	if c, ok := in.users[u]; ok {
		return c.UserUUID
	}
	in.users[u] = GroupMember{UserUUID: u}
	return u
}

// member replaces m's strings by the canonical copies of equal strings.
func (in *interner) member(m *GroupMember) {
	c, ok := in.users[m.UserUUID]
	if !ok {
		in.users[m.UserUUID] = *m
		return
	}
	m.UserUUID = c.UserUUID
	if c.Email == "" && c.FirstName == "" && c.LastName == "" {
		// Seen so far only as a bare uuid (memberUuids came first).
		c.Email, c.FirstName, c.LastName = m.Email, m.FirstName, m.LastName
		in.users[c.UserUUID] = c
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
// uuid and one of a few roles.
func (m *OrgMember) intern(in *interner) {
	m.OrganizationUUID = in.str(m.OrganizationUUID)
	m.Role = Role(in.str(string(m.Role)))
}
