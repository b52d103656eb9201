package lightdashtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// groupJSON is Group, or GroupWithMembers when Members is set.
type groupJSON struct {
	UUID              string        `json:"uuid"`
	Name              string        `json:"name"`
	CreatedAt         time.Time     `json:"createdAt"`
	CreatedByUserUUID *string       `json:"createdByUserUuid"`
	UpdatedAt         time.Time     `json:"updatedAt"`
	UpdatedByUserUUID *string       `json:"updatedByUserUuid"`
	OrganizationUUID  string        `json:"organizationUuid"`
	Members           *[]memberJSON `json:"members,omitempty"`
	MemberUUIDs       *[]string     `json:"memberUuids,omitempty"`
}

// memberJSON is GroupMember.
type memberJSON struct {
	UserUUID  string `json:"userUuid"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (g *group) json() groupJSON {
	return groupJSON{
		UUID: g.uuid, Name: g.name, CreatedAt: g.created, UpdatedAt: g.updated,
		CreatedByUserUUID: nullable(g.createdBy), UpdatedByUserUUID: nullable(g.updatedBy),
		OrganizationUUID: g.org.uuid,
	}
}

// withMembersLocked attaches members[offset:offset+limit] (limit < 0: all)
// and the complete memberUuids. Lightdash reads each with a query of its
// own and no ORDER BY (GroupsModel.getGroupWithMembers), so both come
// unordered, each its own way. Pages are cut in uuid order, as the fake's
// list pages are (listResults), then shuffled.
func (s *Server) withMembersLocked(g *group, limit, offset int) groupJSON {
	j := g.json()
	ms := make([]*user, 0, len(g.members))
	ids := make([]string, 0, len(g.members))
	for _, u := range g.members {
		ms = append(ms, u)
		ids = append(ids, u.uuid)
	}
	slices.SortFunc(ms, func(a, b *user) int { return strings.Compare(a.uuid, b.uuid) })
	shuffleLocked(s, ids)
	start := min(max(offset, 0), len(ms))
	end := len(ms)
	if limit >= 0 {
		end = min(start+limit, len(ms))
	}
	ms = ms[start:end]
	shuffleLocked(s, ms)
	members := make([]memberJSON, 0, len(ms))
	for _, u := range ms {
		members = append(members, memberJSON{u.uuid, u.email, u.firstName, u.lastName})
	}
	j.Members, j.MemberUUIDs = &members, &ids
	return j
}

// groupBody is the body of POST /org/groups and PATCH /groups/{uuid} after
// tsoa's checks: name must be a string; members an array of {userUuid: string}.
type groupBody struct {
	name       *string
	members    []string
	hasMembers bool
}

// decodeGroupBody validates like tsoa: it writes a 422 and returns false on
// a wrong shape. Extra fields are ignored.
func decodeGroupBody(w http.ResponseWriter, r *http.Request, nameRequired bool) (groupBody, bool) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		apiError(w, http.StatusBadRequest, "ParameterError", "Invalid JSON body", nil)
		return groupBody{}, false
	}
	var b groupBody
	if n, present := raw["name"]; present && !bytes.Equal(n, []byte("null")) {
		var s string
		if err := json.Unmarshal(n, &s); err != nil {
			errValidate(w, "body.name", "invalid string value")
			return b, false
		}
		b.name = &s
	} else if nameRequired {
		errValidate(w, "body.name", "'name' is required")
		return b, false
	}
	if m, present := raw["members"]; present && !bytes.Equal(m, []byte("null")) {
		var refs []struct {
			UserUUID *string `json:"userUuid"`
		}
		if err := json.Unmarshal(m, &refs); err != nil {
			errValidate(w, "body.members", "invalid array")
			return b, false
		}
		b.hasMembers = true
		b.members = make([]string, 0, len(refs))
		for _, ref := range refs {
			if ref.UserUUID == nil {
				errValidate(w, "body.members.userUuid", "'userUuid' is required")
				return b, false
			}
			b.members = append(b.members, *ref.UserUUID)
		}
	}
	return b, true
}

// listGroups is GET /api/v1/org/groups: unordered; includeMembers (any
// value) attaches every member of every group; empty, not refused, for a
// non-admin token and with the groups flag off.
func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, me *user) {
	page, size, paged, valid := s.paginationLocked(w, r)
	if !valid {
		return
	}
	_, withMembers := r.URL.Query()["includeMembers"]
	q := r.URL.Query().Get("searchQuery")
	var rows []*group
	if s.groupsFlag && me.role == lightdash.RoleAdmin {
		rows = make([]*group, 0, len(me.org.groups))
		for _, g := range me.org.groups {
			if matchesSearch(q, g.name) {
				rows = append(rows, g)
			}
		}
	}
	if !paged {
		shuffleLocked(s, rows)
	}
	results, data := listResults(s, rows, func(g *group) string { return g.uuid }, func(g *group) groupJSON {
		if withMembers {
			return s.withMembersLocked(g, -1, 0)
		}
		return g.json()
	}, paged, page, size)
	cost := len(data)
	for _, g := range data {
		if g.MemberUUIDs != nil {
			cost += len(*g.MemberUUIDs)
		}
	}
	countRows(w, cost)
	ok(w, http.StatusOK, results)
}

// createGroup is POST /api/v1/org/groups: not gated by the flag; 201; the
// name trimmed; >255 characters, a non-uuid member or more members than
// lightdash.MaxMembersPerInsert is a 500 (nothing created); a duplicate
// name a 409; members outside the organization silently dropped.
func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, me *user) {
	b, valid := decodeGroupBody(w, r, true)
	if !valid {
		return
	}
	if me.role != lightdash.RoleAdmin {
		errNoAccess(w)
		return
	}
	name := lightdash.TrimName(*b.name) // JavaScript's trim, as Lightdash
	if utf8.RuneCountInString(name) > lightdash.MaxNameLength {
		errUnexpected(w)
		return
	}
	if _, dup := me.org.byName[name]; dup {
		apiError(w, http.StatusConflict, "AlreadyExistsError", "Group name already exists", nil)
		return
	}
	for _, m := range b.members {
		if !validUUID(m) {
			errUnexpected(w)
			return
		}
	}
	keep, status := createMembersLocked(me.org, b.members)
	if status != 0 {
		errUnexpected(w) // the transaction rolls back: no group
		return
	}
	g, err := s.addGroupLocked(me.org, name, keep, me)
	if err != nil {
		errUnexpected(w)
		return
	}
	ok(w, http.StatusCreated, s.withMembersLocked(g, -1, 0))
}

// groupFor does what every /api/v1/groups/{groupUuid} endpoint does first:
// the flag check (403), the uuid reaching PostgreSQL (500), the lookup (404),
// then the permission check (403).
func (s *Server) groupFor(w http.ResponseWriter, r *http.Request, me *user) (*group, bool) {
	if !s.groupsFlag {
		errFlagOff(w)
		return nil, false
	}
	id := r.PathValue("groupUuid")
	if !validUUID(id) {
		errUnexpected(w)
		return nil, false
	}
	id = strings.ToLower(id)
	var g *group
	for _, o := range s.orgs {
		if found, ok := o.groups[id]; ok {
			g = found
			break
		}
	}
	if g == nil {
		errNoGroup(w)
		return nil, false
	}
	if g.org != me.org || me.role != lightdash.RoleAdmin {
		errNoAccess(w)
		return nil, false
	}
	return g, true
}

// getGroup is GET /api/v1/groups/{groupUuid}: a Group, or GroupWithMembers
// when includeMembers (a limit) is set, members paged by offset and
// memberUuids complete.
func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, me *user) {
	limit, withMembers, valid := queryInt(w, r, "includeMembers")
	if !valid {
		return
	}
	offset, _, valid := queryInt(w, r, "offset")
	if !valid {
		return
	}
	g, found := s.groupFor(w, r, me)
	if !found {
		return
	}
	if withMembers {
		ok(w, http.StatusOK, s.withMembersLocked(g, limit, offset))
		return
	}
	ok(w, http.StatusOK, g.json())
}

// updateGroup is PATCH /api/v1/groups/{groupUuid}: an empty name is ignored,
// members replaces the list as patchMembersLocked says (exactly up to
// lightdash.PatchCompareLimit members), any unknown or duplicate member to
// add fails the whole update (rename included) with 400, and the answer
// lists at most lightdash.PatchCompareLimit members (memberUuids complete).
func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request, me *user) {
	b, valid := decodeGroupBody(w, r, false)
	if !valid {
		return
	}
	g, found := s.groupFor(w, r, me)
	if !found {
		return
	}
	newName := g.name
	if b.name != nil && *b.name != "" {
		newName = lightdash.TrimName(*b.name)
		if utf8.RuneCountInString(newName) > lightdash.MaxNameLength {
			apiError(w, http.StatusInternalServerError, "UnexpectedDatabaseError", "Something went wrong.", nil)
			return
		}
		if other, dup := g.org.byName[newName]; dup && other != g {
			apiError(w, http.StatusConflict, "AlreadyExistsError", "Group name already exists", nil)
			return
		}
	}
	var newMembers map[string]*user
	if b.hasMembers {
		for _, m := range b.members {
			if !validUUID(m) {
				errUnexpected(w)
				return
			}
		}
		var status int
		newMembers, status = s.patchMembersLocked(g, b.members)
		switch status {
		case http.StatusBadRequest:
			errInvalidMembers(w)
			return
		case http.StatusInternalServerError:
			errUnexpected(w) // the transaction rolls back, rename included
			return
		}
	}
	// Everything checked: apply (the transaction commits).
	if newName != g.name {
		delete(g.org.byName, g.name)
		g.name = newName
		g.org.byName[newName] = g
	}
	if newMembers != nil {
		s.setMembersLocked(g, newMembers)
	}
	g.updated, g.updatedBy = s.now(), me.uuid
	ok(w, http.StatusOK, s.withMembersLocked(g, lightdash.PatchCompareLimit, 0))
}

// deleteGroup is DELETE /api/v1/groups/{groupUuid}: 200 {"status":"ok"}.
func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, me *user) {
	g, found := s.groupFor(w, r, me)
	if !found {
		return
	}
	s.deleteGroupLocked(g)
	ok(w, http.StatusOK, nil)
}

// listGroupMembers is GET /api/v1/groups/{groupUuid}/members: all members.
func (s *Server) listGroupMembers(w http.ResponseWriter, r *http.Request, me *user) {
	g, found := s.groupFor(w, r, me)
	if !found {
		return
	}
	members := make([]memberJSON, 0, len(g.members))
	for _, u := range g.members {
		members = append(members, memberJSON{u.uuid, u.email, u.firstName, u.lastName})
	}
	shuffleLocked(s, members)
	ok(w, http.StatusOK, members)
}

// memberTarget resolves the group and the user uuid of a
// /groups/{groupUuid}/members/{userUuid} request, answering the error
// itself (a non-UUID reaches Postgres in Lightdash: 500).
func (s *Server) memberTarget(w http.ResponseWriter, r *http.Request, me *user) (*group, string, bool) {
	g, found := s.groupFor(w, r, me)
	if !found {
		return nil, "", false
	}
	id := r.PathValue("userUuid")
	if !validUUID(id) {
		errUnexpected(w)
		return nil, "", false
	}
	return g, strings.ToLower(id), true
}

// addGroupMember is PUT /api/v1/groups/{groupUuid}/members/{userUuid}: 201
// when added, 204 when already a member or not in the organization at all.
func (s *Server) addGroupMember(w http.ResponseWriter, r *http.Request, me *user) {
	g, id, found := s.memberTarget(w, r, me)
	if !found {
		return
	}
	u, inOrg := g.org.users[id]
	if _, member := g.members[id]; member || !inOrg {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.joinLocked(g, u)
	ok(w, http.StatusCreated, nil)
}

// removeGroupMember is DELETE /api/v1/groups/{groupUuid}/members/{userUuid}:
// 200 when removed, 204 when not a member.
func (s *Server) removeGroupMember(w http.ResponseWriter, r *http.Request, me *user) {
	g, id, found := s.memberTarget(w, r, me)
	if !found {
		return
	}
	if _, member := g.members[id]; !member {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	delete(g.members, id)
	delete(g.joined, id)
	ok(w, http.StatusOK, nil)
}
