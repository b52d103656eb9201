package lightdashtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// profileJSON is OrganizationMemberProfile.
type profileJSON struct {
	UserUUID         string         `json:"userUuid"`
	FirstName        string         `json:"firstName"`
	LastName         string         `json:"lastName"`
	Email            string         `json:"email"`
	OrganizationUUID string         `json:"organizationUuid"`
	Role             lightdash.Role `json:"role"`
	IsActive         bool           `json:"isActive"`
	IsInviteExpired  bool           `json:"isInviteExpired"`
	IsPending        bool           `json:"isPending"`
	UserCreatedAt    time.Time      `json:"userCreatedAt"`
	UserUpdatedAt    time.Time      `json:"userUpdatedAt"`
	Groups           *[]groupRef    `json:"groups,omitempty"`
}

type groupRef struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

func (u *user) profile() profileJSON {
	return profileJSON{
		UserUUID: u.uuid, FirstName: u.firstName, LastName: u.lastName, Email: u.email,
		OrganizationUUID: u.org.uuid, Role: u.role, IsActive: u.active, IsPending: u.pending,
		UserCreatedAt: u.created, UserUpdatedAt: u.updated,
	}
}

// getUser is GET /api/v1/user: the token's own user (LightdashUser).
func (s *Server) getUser(w http.ResponseWriter, _ *http.Request, me *user) {
	ok(w, http.StatusOK, map[string]any{
		"userUuid": me.uuid, "email": me.email, "firstName": me.firstName, "lastName": me.lastName,
		"organizationUuid": me.org.uuid, "organizationName": me.org.name, "organizationCreatedAt": me.org.created,
		"role": me.role, "isActive": me.active, "isPending": me.pending,
		"isTrackingAnonymized": false, "isMarketingOptedIn": false, "isSetupComplete": true,
		"createdAt": me.created, "updatedAt": me.updated,
	})
}

// getFeatureFlag is GET /api/v2/feature-flag/{featureFlagId}. Only
// user-groups-enabled is known; any other flag is off.
func (s *Server) getFeatureFlag(w http.ResponseWriter, r *http.Request, _ *user) {
	id := r.PathValue("featureFlagId")
	ok(w, http.StatusOK, map[string]any{"id": id, "enabled": id == "user-groups-enabled" && s.groupsFlag})
}

// getOrg is GET /api/v1/org.
func (s *Server) getOrg(w http.ResponseWriter, _ *http.Request, me *user) {
	ok(w, http.StatusOK, map[string]any{
		"organizationUuid": me.org.uuid, "name": me.org.name, "createdAt": me.org.created,
		"needsProject": false, "chartColors": []string{"#7162FF", "#1A1B1E"},
	})
}

// listUsers is GET /api/v1/org/users: every user of the organization
// (pending and deactivated included), unordered, paged only when both page
// and pageSize are set; includeGroups=N adds each user's groups and, when
// not paging, becomes LIMIT N. An answer of more than MaxBindParameters
// users is a 500.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, me *user) {
	page, size, paged, valid := s.paginationLocked(w, r)
	if !valid {
		return
	}
	limit, withGroups, valid := queryInt(w, r, "includeGroups")
	if !valid {
		return
	}
	q := r.URL.Query().Get("searchQuery")
	o := me.org
	var groupsOf map[string][]groupRef
	if withGroups {
		groupsOf = make(map[string][]groupRef)
		for _, g := range o.groups {
			for id := range g.members {
				groupsOf[id] = append(groupsOf[id], groupRef{g.uuid, g.name})
			}
		}
	}
	rows := make([]*user, 0, len(o.users))
	for _, u := range o.users {
		if matchesSearch(q, u.firstName, u.lastName, u.email, string(u.role)) {
			rows = append(rows, u)
		}
	}
	if !paged {
		shuffleLocked(s, rows)
		if withGroups && limit > 0 && limit < len(rows) {
			rows = rows[:limit]
		}
	}
	if n := answerRows(len(rows), paged, page, size); n > MaxBindParameters {
		errUnexpected(w) // PostgreSQL refuses the query: one bind parameter per user (API-NOTES §10)
		return
	}
	results, data := listResults(s, rows, func(u *user) string { return u.uuid }, func(u *user) profileJSON {
		p := u.profile()
		if withGroups {
			gs := groupsOf[u.uuid]
			if gs == nil {
				gs = []groupRef{}
			}
			p.Groups = &gs
		}
		return p
	}, paged, page, size)
	countRows(w, len(data))
	ok(w, http.StatusOK, results)
}

// MaxBindParameters is PostgreSQL's limit on a query's bind parameters. The
// users list binds one per user it answers, so an answer of more users is a
// 500 on Lightdash 0.2340.1 (API-NOTES §10): the unpaged list of an
// organization of 65,536 users or more, or a pageSize above it.
const MaxBindParameters = 65_535

// answerRows is how many of total rows a list answer holds.
func answerRows(total int, paged bool, page, size int) int {
	if !paged {
		return total
	}
	return min(size, max(total-(page-1)*size, 0))
}

// getOrgUser is GET /api/v1/org/users/{userUuid}; the path is a tsoa UUID,
// so a malformed one is a 422 ValidateError.
func (s *Server) getOrgUser(w http.ResponseWriter, r *http.Request, me *user) {
	id := r.PathValue("userUuid")
	if !validUUID(id) {
		apiError(w, http.StatusUnprocessableEntity, "ValidateError", "Validation Error",
			map[string]any{"userUuid": map[string]any{"message": "Stringified UUIDv4.", "value": id}})
		return
	}
	u, found := me.org.users[strings.ToLower(id)]
	if !found {
		apiError(w, http.StatusNotFound, "NotFoundError", "No matching member found in organization", nil)
		return
	}
	ok(w, http.StatusOK, u.profile())
}

// getOrgUserByEmail is GET /api/v1/org/users/email/{email}. Release 0.2340.1
// matched regardless of case, so the fake does too.
func (s *Server) getOrgUserByEmail(w http.ResponseWriter, r *http.Request, me *user) {
	u, found := me.org.byEmail[strings.ToLower(r.PathValue("email"))]
	if !found {
		apiError(w, http.StatusNotFound, "NotFoundError", "No matching member found in organization", nil)
		return
	}
	ok(w, http.StatusOK, u.profile())
}

// createInviteLink is POST /api/v1/invite-links (an Express route, not in the
// spec): 201, and the email becomes a pending user of the organization at once.
func (s *Server) createInviteLink(w http.ResponseWriter, r *http.Request, me *user) {
	if me.role != lightdash.RoleAdmin {
		errNoAccess(w)
		return
	}
	var body struct {
		Email     string          `json:"email"`
		ExpiresAt json.RawMessage `json:"expiresAt"`
		Role      lightdash.Role  `json:"role"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "ParameterError", "Invalid request body", nil)
		return
	}
	email := strings.ToLower(strings.TrimSpace(body.Email))
	if email == "" {
		apiError(w, http.StatusBadRequest, "ParameterError", "Email is required", nil)
		return
	}
	var expires time.Time
	if err := json.Unmarshal(body.ExpiresAt, &expires); err != nil {
		errUnexpected(w) // written to the database unchecked
		return
	}
	u, exists := s.byEmail[email]
	switch {
	case exists && u.org != me.org:
		apiError(w, http.StatusBadRequest, "ParameterError", "Email is already used by a user in another organization", nil)
		return
	case exists && !u.pending:
		apiError(w, http.StatusBadRequest, "ParameterError", "Email is already used by a user in your organization", nil)
		return
	case !exists:
		role := lightdash.RoleMember
		if body.Role != "" {
			role = body.Role
		}
		u = s.addUserLocked(me.org, email, role, true)
	}
	code := strings.ReplaceAll(s.newUUIDLocked(), "-", "")
	ok(w, http.StatusCreated, map[string]any{
		"expiresAt": expires, "inviteCode": code, "inviteUrl": "http://" + r.Host + "/invite/" + code,
		"organizationUuid": me.org.uuid, "userUuid": u.uuid, "email": u.email,
	})
}
