package lightdashtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// org, user and group are the fake's database rows. Every lookup the
// handlers need is a map, so the fake stays fast at 100,000 users and 10,000
// groups.
type org struct {
	uuid    string
	name    string
	created time.Time
	users   map[string]*user  // by uuid
	byEmail map[string]*user  // by lowercased email
	groups  map[string]*group // by uuid
	byName  map[string]*group // by exact (trimmed) name: unique, case-sensitive
}

type user struct {
	uuid      string
	email     string
	firstName string
	lastName  string
	org       *org
	role      lightdash.Role
	active    bool
	pending   bool
	created   time.Time
	updated   time.Time
}

type group struct {
	uuid      string
	name      string
	org       *org
	created   time.Time
	updated   time.Time
	createdBy string
	updatedBy string
	members   map[string]*user
	joined    map[string]uint64 // membership row order by member uuid: heap order
}

func (s *Server) newOrgLocked(name string) *org {
	o := &org{
		uuid: s.newUUIDLocked(), name: name, created: s.now(),
		users: map[string]*user{}, byEmail: map[string]*user{},
		groups: map[string]*group{}, byName: map[string]*group{},
	}
	s.orgs[o.uuid] = o
	return o
}

func (s *Server) addUserLocked(o *org, email string, role lightdash.Role, pending bool) *user {
	e := strings.ToLower(strings.TrimSpace(email))
	if u, ok := s.byEmail[e]; ok {
		return u
	}
	local, _, _ := strings.Cut(e, "@")
	first, last, _ := strings.Cut(local, ".")
	now := s.now()
	u := &user{
		uuid: s.newUUIDLocked(), email: e, firstName: first, lastName: last,
		org: o, role: role, active: true, pending: pending, created: now, updated: now,
	}
	o.users[u.uuid] = u
	o.byEmail[e] = u
	s.users[u.uuid] = u
	s.byEmail[e] = u
	return u
}

func (s *Server) addGroupLocked(o *org, name string, members []string, by *user) (*group, error) {
	n := lightdash.TrimName(name)
	if _, dup := o.byName[n]; dup {
		return nil, fmt.Errorf("group %q already exists", n)
	}
	now := s.now()
	g := &group{uuid: s.newUUIDLocked(), name: n, org: o, created: now, updated: now, members: map[string]*user{}, joined: map[string]uint64{}}
	if by != nil {
		g.createdBy, g.updatedBy = by.uuid, by.uuid
	}
	for _, m := range members {
		u, ok := o.users[strings.ToLower(m)]
		if !ok {
			return nil, fmt.Errorf("user %q is not in organization %s", m, o.uuid)
		}
		s.joinLocked(g, u)
	}
	o.groups[g.uuid] = g
	o.byName[n] = g
	return g, nil
}

// joinLocked makes u a member of g, its row after every existing one
// unless it is a member already (ON CONFLICT DO NOTHING keeps the row).
func (s *Server) joinLocked(g *group, u *user) {
	if _, member := g.members[u.uuid]; member {
		return
	}
	s.joinSeq++
	g.members[u.uuid], g.joined[u.uuid] = u, s.joinSeq
}

// setMembersLocked replaces g's members by ms, keeping the rows of those
// who stay.
func (s *Server) setMembersLocked(g *group, ms map[string]*user) {
	for id := range g.members {
		if ms[id] == nil {
			delete(g.members, id)
			delete(g.joined, id)
		}
	}
	for _, u := range ms {
		s.joinLocked(g, u)
	}
}

func (s *Server) deleteGroupLocked(g *group) {
	delete(g.org.groups, g.uuid)
	delete(g.org.byName, g.name)
	s.dropGroupAccessLocked(g)
}

func (u *user) member() lightdash.OrgMember {
	return lightdash.OrgMember{
		UserUUID: u.uuid, FirstName: u.firstName, LastName: u.lastName, Email: u.email,
		OrganizationUUID: u.org.uuid, Role: u.role, IsActive: u.active, IsPending: u.pending,
	}
}

func (g *group) snapshot() lightdash.GroupWithMembers {
	out := lightdash.GroupWithMembers{
		Group: lightdash.Group{
			UUID: g.uuid, Name: g.name, OrganizationUUID: g.org.uuid,
			CreatedAt: g.created, UpdatedAt: g.updated,
		},
		Members:     make([]lightdash.GroupMember, 0, len(g.members)),
		MemberUUIDs: make([]string, 0, len(g.members)),
	}
	for _, u := range sortedMembers(g) {
		out.Members = append(out.Members, lightdash.GroupMember{UserUUID: u.uuid, Email: u.email, FirstName: u.firstName, LastName: u.lastName})
		out.MemberUUIDs = append(out.MemberUUIDs, u.uuid)
	}
	return out
}

// sortedMembers orders members by email: stable paging for
// GET /groups/{uuid}?includeMembers=N&offset=M and stable snapshots.
func sortedMembers(g *group) []*user {
	ms := make([]*user, 0, len(g.members))
	for _, u := range g.members {
		ms = append(ms, u)
	}
	slices.SortFunc(ms, func(a, b *user) int { return strings.Compare(a.email, b.email) })
	return ms
}

// AddOrganization adds another organization and returns its uuid. Tokens of
// its users see only it, as on a real multi-tenant instance.
func (s *Server) AddOrganization(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newOrgLocked(name).uuid
}

// OrganizationUUID is the uuid of the default organization, the admin token's.
func (s *Server) OrganizationUUID() string { return s.defaultOrg.uuid }

// AddUser adds an active user to the default organization. Emails are
// lowercased and unique on the instance; adding an existing email returns
// the existing user unchanged.
func (s *Server) AddUser(email string, role lightdash.Role) lightdash.OrgMember {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(s.defaultOrg, email, role, false).member()
}

// AddUserToOrg adds an active user to the organization orgUUID.
func (s *Server) AddUserToOrg(orgUUID, email string, role lightdash.Role) (lightdash.OrgMember, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgUUID]
	if !ok {
		return lightdash.OrgMember{}, fmt.Errorf("lightdashtest: no organization %q", orgUUID)
	}
	return s.addUserLocked(o, email, role, false).member(), nil
}

// AddPendingUser adds an invited user who never logged in (isPending) to the
// default organization.
func (s *Server) AddPendingUser(email string) lightdash.OrgMember {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(s.defaultOrg, email, lightdash.RoleMember, true).member()
}

// DeactivateUser marks a user inactive: still listed and still a possible
// group member, but their tokens stop working (401).
func (s *Server) DeactivateUser(userUUID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userUUID]
	if !ok {
		return fmt.Errorf("lightdashtest: no user %q", userUUID)
	}
	u.active = false
	u.updated = s.now()
	return nil
}

// AddGroup creates a group in the default organization with the given
// member uuids, as the admin would. Unlike the API it refuses unknown members.
func (s *Server) AddGroup(name string, memberUUIDs ...string) (lightdash.GroupWithMembers, error) {
	return s.AddGroupToOrg(s.defaultOrg.uuid, name, memberUUIDs...)
}

// AddGroupToOrg creates a group in the organization orgUUID.
func (s *Server) AddGroupToOrg(orgUUID, name string, memberUUIDs ...string) (lightdash.GroupWithMembers, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgUUID]
	if !ok {
		return lightdash.GroupWithMembers{}, fmt.Errorf("lightdashtest: no organization %q", orgUUID)
	}
	g, err := s.addGroupLocked(o, name, memberUUIDs, nil)
	if err != nil {
		return lightdash.GroupWithMembers{}, fmt.Errorf("lightdashtest: %w", err)
	}
	return g.snapshot(), nil
}

// Groups returns the default organization's groups sorted by name, members
// sorted by email: a stable snapshot for assertions, whatever the flag or
// the token would let the API show.
func (s *Server) Groups() []lightdash.GroupWithMembers {
	gs, _ := s.GroupsOf(s.defaultOrg.uuid)
	return gs
}

// GroupMembers returns the members of the default organization's group
// called name, each shown as label[uuid], sorted; ok is false when there is
// no such group.
func (s *Server) GroupMembers(name string, label map[string]string) (members []string, ok bool) {
	for _, g := range s.Groups() {
		if g.Name == name {
			for _, m := range g.MemberUUIDs {
				members = append(members, label[m])
			}
			slices.Sort(members)
			return members, true
		}
	}
	return nil, false
}

// GroupsOf is Groups for any organization.
func (s *Server) GroupsOf(orgUUID string) ([]lightdash.GroupWithMembers, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgUUID]
	if !ok {
		return nil, fmt.Errorf("lightdashtest: no organization %q", orgUUID)
	}
	out := make([]lightdash.GroupWithMembers, 0, len(o.groups))
	for _, g := range o.groups {
		out = append(out, g.snapshot())
	}
	slices.SortFunc(out, func(a, b lightdash.GroupWithMembers) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Users returns the default organization's users sorted by email.
func (s *Server) Users() []lightdash.OrgMember {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]lightdash.OrgMember, 0, len(s.defaultOrg.users))
	for _, u := range s.defaultOrg.users {
		out = append(out, u.member())
	}
	slices.SortFunc(out, func(a, b lightdash.OrgMember) int { return strings.Compare(a.Email, b.Email) })
	return out
}
