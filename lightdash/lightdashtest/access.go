package lightdashtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// project and space are the fake's rows for group access (API-NOTES §9).
// Project roles live in one table read and written by both the v1 and the
// v2 endpoints, as on the real server.
type project struct {
	uuid    string
	name    string
	org     *org
	created time.Time
	roles   map[string]string // group uuid → project role
	spaces  map[string]*space
}

type space struct {
	uuid   string
	name   string
	shares map[string]string // group uuid → space role
}

// AddProject adds a project to the default organization with its root
// space "Shared", as a new Lightdash project has, and returns its uuid.
func (s *Server) AddProject(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &project{uuid: s.newUUIDLocked(), name: name, org: s.defaultOrg, created: s.now(),
		roles: map[string]string{}, spaces: map[string]*space{}}
	if s.projects == nil {
		s.projects = map[string]*project{}
	}
	s.projects[p.uuid] = p
	s.addSpaceLocked(p, "Shared")
	return p.uuid
}

// AddSpace adds a space to a project and returns its uuid ("" for an
// unknown project).
func (s *Server) AddSpace(projectUUID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[projectUUID]
	if !ok {
		return ""
	}
	return s.addSpaceLocked(p, name).uuid
}

func (s *Server) addSpaceLocked(p *project, name string) *space {
	sp := &space{uuid: s.newUUIDLocked(), name: name, shares: map[string]string{}}
	p.spaces[sp.uuid] = sp
	return sp
}

// ProjectRoles returns a copy of a project's group grants: group uuid → role.
func (s *Server) ProjectRoles(projectUUID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.projects[projectUUID]; ok {
		return clone(p.roles)
	}
	return nil
}

// SpaceShares returns a copy of a space's group shares: group uuid → role.
func (s *Server) SpaceShares(projectUUID, spaceUUID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.projects[projectUUID]; ok {
		if sp, ok := p.spaces[spaceUUID]; ok {
			return clone(sp.shares)
		}
	}
	return nil
}

// SetProjectRole grants a group a project role as an admin clicking in the
// UI would ("" revokes it).
func (s *Server) SetProjectRole(projectUUID, groupUUID, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.projects[projectUUID]; ok {
		if role == "" {
			delete(p.roles, groupUUID)
		} else {
			p.roles[groupUUID] = role
		}
	}
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// dropGroupAccessLocked is the ON DELETE CASCADE of a group's project
// access and space shares.
func (s *Server) dropGroupAccessLocked(g *group) {
	for _, p := range s.projects {
		delete(p.roles, g.uuid)
		for _, sp := range p.spaces {
			delete(sp.shares, g.uuid)
		}
	}
}

func (s *Server) accessRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /api/v1/org/projects", s.listProjects)
	s.handle(mux, "GET /api/v1/projects/{projectUuid}/groupAccesses", s.listGroupAccesses)
	s.handle(mux, "POST /api/v1/groups/{groupUuid}/projects/{projectUuid}", s.v1Grant)
	s.handle(mux, "PATCH /api/v1/groups/{groupUuid}/projects/{projectUuid}", s.v1Grant)
	s.handle(mux, "DELETE /api/v1/groups/{groupUuid}/projects/{projectUuid}", s.v1Revoke)
	s.handle(mux, "GET /api/v2/projects/{projectUuid}/roles/assignments", s.v2List)
	s.handle(mux, "POST /api/v2/projects/{projectUuid}/roles/assignments/group/{groupUuid}", s.v2Grant)
	s.handle(mux, "PATCH /api/v2/projects/{projectUuid}/roles/assignments/group/{groupUuid}", s.v2Grant)
	s.handle(mux, "DELETE /api/v2/projects/{projectUuid}/roles/assignments/group/{groupUuid}", s.v2Revoke)
	s.handle(mux, "GET /api/v1/projects/{projectUuid}/spaces", s.listSpaces)
	s.handle(mux, "GET /api/v1/projects/{projectUuid}/spaces/{spaceUuid}", s.getSpace)
	s.handle(mux, "POST /api/v1/projects/{projectUuid}/spaces/{spaceUuid}/group/share", s.shareSpace)
	s.handle(mux, "DELETE /api/v1/projects/{projectUuid}/spaces/{spaceUuid}/group/share/{groupUuid}", s.unshareSpace)
}

func errNoProject(w http.ResponseWriter, id string) {
	apiError(w, http.StatusNotFound, "NotFoundError", "Cannot find project with id: "+id, nil)
}

func errDatabase(w http.ResponseWriter, msg string) {
	apiError(w, http.StatusInternalServerError, "UnexpectedDatabaseError", msg, nil)
}

func errField(w http.ResponseWriter, field, msg string) {
	apiError(w, http.StatusUnprocessableEntity, "ValidateError", field+": "+msg,
		map[string]any{field: map[string]string{"message": msg}})
}

// oneOf is tsoa's enum message: should be one of the following; ['a','b'].
func oneOf(vals []string) string {
	return "should be one of the following; ['" + strings.Join(vals, "','") + "']"
}

// projectFor finds the project of the path in the caller's organization.
func (s *Server) projectFor(w http.ResponseWriter, r *http.Request, me *user) (*project, bool) {
	id := strings.ToLower(r.PathValue("projectUuid"))
	p, ok := s.projects[id]
	if !ok || p.org != me.org {
		errNoProject(w, r.PathValue("projectUuid"))
		return nil, false
	}
	return p, true
}

// groupInOrg finds a group of the caller's organization ("" when none).
func groupInOrg(me *user, id string) *group {
	return me.org.groups[strings.ToLower(id)]
}

// stringField decodes a JSON body and returns one string field.
func stringField(r *http.Request, name string) (string, bool) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return "", false
	}
	v, ok := body[name].(string)
	return v, ok
}

type projectJSON struct {
	ProjectUUID         string    `json:"projectUuid"`
	Name                string    `json:"name"`
	Type                string    `json:"type"`
	CreatedAt           time.Time `json:"createdAt"`
	CreatedByUserUUID   *string   `json:"createdByUserUuid"`
	UpstreamProjectUUID *string   `json:"upstreamProjectUuid"`
	WarehouseType       string    `json:"warehouseType"`
}

// listProjects is GET /api/v1/org/projects: a plain list.
func (s *Server) listProjects(w http.ResponseWriter, _ *http.Request, me *user) {
	out := []projectJSON{}
	for _, p := range s.projects {
		if p.org == me.org {
			out = append(out, projectJSON{ProjectUUID: p.uuid, Name: p.name, Type: "DEFAULT", CreatedAt: p.created, WarehouseType: "postgres"})
		}
	}
	shuffleLocked(s, out)
	ok(w, http.StatusOK, out)
}

type groupAccessJSON struct {
	ProjectUUID string `json:"projectUuid"`
	GroupUUID   string `json:"groupUuid"`
	Role        string `json:"role"`
}

// listGroupAccesses is GET /api/v1/projects/{p}/groupAccesses.
func (s *Server) listGroupAccesses(w http.ResponseWriter, r *http.Request, me *user) {
	p, found := s.projectFor(w, r, me)
	if !found {
		return
	}
	if me.role != lightdash.RoleAdmin {
		errNoAccess(w)
		return
	}
	out := []groupAccessJSON{}
	for g, role := range p.roles {
		out = append(out, groupAccessJSON{p.uuid, g, role})
	}
	shuffleLocked(s, out)
	ok(w, http.StatusOK, out)
}

// v1Grant is the deprecated POST and PATCH /api/v1/groups/{g}/projects/{p}:
// POST of an existing grant and PATCH of a missing one answer 500; an
// unknown role is a 500 on POST (taken for a custom role uuid) and a 422
// on PATCH.
func (s *Server) v1Grant(w http.ResponseWriter, r *http.Request, me *user) {
	role, has := stringField(r, "role")
	patch := r.Method == http.MethodPatch
	if !has {
		errField(w, "projectGroupAccess.role", "'role' is required")
		return
	}
	if patch && !slices.Contains(lightdash.ProjectRoles, role) {
		errField(w, "projectGroupAccess.role", oneOf(lightdash.ProjectRoles))
		return
	}
	g, found := s.groupFor(w, r, me)
	if !found {
		return
	}
	p, found := s.projectFor(w, r, me)
	if !found {
		return
	}
	_, exists := p.roles[g.uuid]
	switch {
	case !slices.Contains(lightdash.ProjectRoles, role):
		errUnexpected(w)
	case !patch && exists:
		errDatabase(w, "Failed to add project access")
	case patch && !exists:
		errDatabase(w, "Failed to update project access")
	default:
		p.roles[g.uuid] = role
		ok(w, http.StatusOK, groupAccessJSON{p.uuid, g.uuid, role})
	}
}

// v1Revoke is DELETE /api/v1/groups/{g}/projects/{p}: 200, or 204 without
// a body when the group had no access.
func (s *Server) v1Revoke(w http.ResponseWriter, r *http.Request, me *user) {
	g, found := s.groupFor(w, r, me)
	if !found {
		return
	}
	p, found := s.projectFor(w, r, me)
	if !found {
		return
	}
	if _, exists := p.roles[g.uuid]; !exists {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	delete(p.roles, g.uuid)
	ok(w, http.StatusOK, nil)
}

type assignmentJSON struct {
	RoleID       string    `json:"roleId"`
	RoleName     string    `json:"roleName"`
	OwnerType    string    `json:"ownerType"`
	AssigneeType string    `json:"assigneeType"`
	AssigneeID   string    `json:"assigneeId"`
	AssigneeName string    `json:"assigneeName"`
	ProjectID    string    `json:"projectId"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// roleLabel is the label POST and PATCH answer as roleName ("Interactive Viewer").
func roleLabel(role string) string {
	words := strings.Split(role, "_")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func errNoManage(w http.ResponseWriter, what string) {
	apiError(w, http.StatusForbidden, "ForbiddenError", "You do not have permission to manage this "+what, nil)
}

// v2List is GET /api/v2/projects/{p}/roles/assignments: the group grants
// (the fake has no user grants), roleName the role id, ownerType "system".
func (s *Server) v2List(w http.ResponseWriter, r *http.Request, me *user) {
	p, found := s.projectFor(w, r, me)
	if !found {
		return
	}
	if me.role != lightdash.RoleAdmin {
		errNoManage(w, "project")
		return
	}
	out := []assignmentJSON{}
	now := s.now()
	for gid, role := range p.roles {
		name := ""
		if g := p.org.groups[gid]; g != nil {
			name = g.name
		}
		out = append(out, assignmentJSON{role, role, "system", "group", gid, name, p.uuid, now, now})
	}
	shuffleLocked(s, out)
	ok(w, http.StatusOK, out)
}

// v2Grant is POST and PATCH of /api/v2/projects/{p}/roles/assignments/group/{g}:
// both upsert. A role that is neither a system role nor a uuid is a 500, an
// unknown role uuid a 404, an unknown group a 500 (foreign key).
func (s *Server) v2Grant(w http.ResponseWriter, r *http.Request, me *user) {
	role, has := stringField(r, "roleId")
	if !has {
		errField(w, "body.roleId", "'roleId' is required")
		return
	}
	if me.role != lightdash.RoleAdmin {
		errNoManage(w, "organization")
		return
	}
	p, found := s.projectFor(w, r, me)
	if !found {
		return
	}
	g := groupInOrg(me, r.PathValue("groupUuid"))
	switch {
	case !slices.Contains(lightdash.ProjectRoles, role) && validUUID(role):
		apiError(w, http.StatusNotFound, "NotFoundError", "Role with uuid "+role+" not found", nil)
	case !slices.Contains(lightdash.ProjectRoles, role), g == nil:
		errUnexpected(w)
	default:
		p.roles[g.uuid] = role
		now := s.now()
		ok(w, http.StatusOK, assignmentJSON{role, roleLabel(role), "user", "group", g.uuid, g.name, p.uuid, now, now})
	}
}

// v2Revoke is DELETE .../roles/assignments/group/{g}: 200 whatever there was.
func (s *Server) v2Revoke(w http.ResponseWriter, r *http.Request, me *user) {
	if me.role != lightdash.RoleAdmin {
		errNoManage(w, "organization")
		return
	}
	p, found := s.projectFor(w, r, me)
	if !found {
		return
	}
	delete(p.roles, strings.ToLower(r.PathValue("groupUuid")))
	ok(w, http.StatusOK, nil)
}

type spaceJSON struct {
	UUID         string            `json:"uuid"`
	Name         string            `json:"name"`
	ProjectUUID  string            `json:"projectUuid"`
	GroupsAccess *[]spaceShareJSON `json:"groupsAccess,omitempty"`
}

type spaceShareJSON struct {
	GroupUUID string `json:"groupUuid"`
	GroupName string `json:"groupName"`
	SpaceRole string `json:"spaceRole"`
}

// listSpaces is GET /api/v1/projects/{p}/spaces.
func (s *Server) listSpaces(w http.ResponseWriter, r *http.Request, me *user) {
	p, found := s.projectFor(w, r, me)
	if !found {
		return
	}
	out := []spaceJSON{}
	for _, sp := range p.spaces {
		out = append(out, spaceJSON{UUID: sp.uuid, Name: sp.name, ProjectUUID: p.uuid})
	}
	shuffleLocked(s, out)
	ok(w, http.StatusOK, out)
}

// spaceFor finds the space of the path.
func (s *Server) spaceFor(w http.ResponseWriter, r *http.Request, me *user) (*project, *space, bool) {
	p, found := s.projectFor(w, r, me)
	if !found {
		return nil, nil, false
	}
	sp, found := p.spaces[strings.ToLower(r.PathValue("spaceUuid"))]
	if !found {
		apiError(w, http.StatusNotFound, "NotFoundError", fmt.Sprintf("Space with uuid %s does not exist", r.PathValue("spaceUuid")), nil)
		return nil, nil, false
	}
	return p, sp, true
}

// getSpace is GET /api/v1/projects/{p}/spaces/{s}, with groupsAccess.
func (s *Server) getSpace(w http.ResponseWriter, r *http.Request, me *user) {
	p, sp, found := s.spaceFor(w, r, me)
	if !found {
		return
	}
	shares := []spaceShareJSON{}
	for gid, role := range sp.shares {
		shares = append(shares, spaceShareJSON{gid, p.org.groups[gid].name, role})
	}
	shuffleLocked(s, shares)
	countRows(w, spaceReadRows(spaceAccessLocked(p, sp)))
	ok(w, http.StatusOK, spaceJSON{UUID: sp.uuid, Name: sp.name, ProjectUUID: p.uuid, GroupsAccess: &shares})
}

// spaceAccessLocked counts the users whose access a space read resolves
// (SpaceModel._getSpaceAccess) in a space open to its project, as the
// fake's spaces are: every organization member with a role above member,
// and every member of a group with a role on the project or a share on
// the space.
func spaceAccessLocked(p *project, sp *space) int {
	users := map[string]bool{}
	for id, u := range p.org.users {
		if u.role != lightdash.RoleMember {
			users[id] = true
		}
	}
	for gid, g := range p.org.groups {
		if p.roles[gid] == "" && sp.shares[gid] == "" {
			continue
		}
		for id := range g.members {
			users[id] = true
		}
	}
	return len(users)
}

// spaceSpreadRows is how many resolved users one more user's step of a
// space read copies for the cost of one list row: Lightdash builds the
// answer by copying the list so far for each user, so the read grows with
// the square of the users resolved. Calibrated on a real Lightdash
// 0.2340.1 (docs/benchmarks.md, by hand): 143 s for 53,797 users, about
// (53,797 + 53,797² / 1,200) rows at ~60 µs a users-list row.
const spaceSpreadRows = 1200

// spaceReadRows is the row cost (WithRowCost) of a space read that
// resolves n users: one row each, as a list answer, plus the copying.
func spaceReadRows(n int) int { return n + n*n/spaceSpreadRows }

// shareSpace is POST .../spaces/{s}/group/share: an upsert; an unknown
// group is a 500 (foreign key).
func (s *Server) shareSpace(w http.ResponseWriter, r *http.Request, me *user) {
	var body struct {
		GroupUUID string `json:"groupUuid"`
		SpaceRole string `json:"spaceRole"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if !slices.Contains(lightdash.SpaceRoles, body.SpaceRole) {
		errField(w, "body.spaceRole", oneOf(lightdash.SpaceRoles))
		return
	}
	if me.role != lightdash.RoleAdmin {
		errNoAccess(w)
		return
	}
	_, sp, found := s.spaceFor(w, r, me)
	if !found {
		return
	}
	g := groupInOrg(me, body.GroupUUID)
	if g == nil {
		errUnexpected(w)
		return
	}
	sp.shares[g.uuid] = body.SpaceRole
	ok(w, http.StatusOK, nil)
}

// unshareSpace is DELETE .../spaces/{s}/group/share/{g}: 200 whatever there was.
func (s *Server) unshareSpace(w http.ResponseWriter, r *http.Request, me *user) {
	if me.role != lightdash.RoleAdmin {
		errNoAccess(w)
		return
	}
	_, sp, found := s.spaceFor(w, r, me)
	if !found {
		return
	}
	delete(sp.shares, strings.ToLower(r.PathValue("groupUuid")))
	ok(w, http.StatusOK, nil)
}
