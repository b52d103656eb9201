// Package lightdashtest is an in-memory Lightdash on httptest.Server that
// behaves like the real one as described in ../shared/lightdash/API-NOTES.md,
// quirks included: 201 on create, 409 on duplicate names (case-sensitive,
// after trimming), unknown members silently dropped on create, 400 and full
// rollback on unknown or duplicate members in PATCH, 500 on non-uuid strings
// and names over 255 characters, unordered lists, the groups feature flag and
// non-admin tokens; and group access to projects and spaces, v1 and v2
// endpoints on one table, with API-NOTES §9's quirks (access.go). Tests seed it, switch its behaviours, inject latency and
// failures, and read its request log. Its deviations from the OpenAPI spec are
// the real server's and are listed in DEVIATIONS.md.
package lightdashtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// AdminEmail is the email of the default organization's admin, the user
// behind AdminToken.
const AdminEmail = "admin@example.com"

// Server is a fake Lightdash. All methods are safe for concurrent use.
type Server struct {
	ts   *httptest.Server
	done chan struct{} // closed by Close: ends hanging and slow requests
	once sync.Once

	mu         sync.Mutex
	rng        *mrand.Rand
	clock      func() time.Time
	shuffle    bool
	oldest     bool   // a PATCH compares the oldest members: WithPatchCompareOldestFirst
	joinSeq    uint64 // the last membership row's number
	groupsFlag bool
	orgs       map[string]*org
	users      map[string]*user // every user of every org, by uuid
	byEmail    map[string]*user // emails are unique on an instance
	tokens     map[string]*user
	defaultOrg *org
	admin      *user
	adminToken string
	orgName    string
	latency    time.Duration
	forcedPage int
	pageDrift  int
	faults     []Fault
	faultRate  float64
	rateFault  Fault
	log        []Request
	cost       cost                // set by options only: read without mu
	projects   map[string]*project // group access: access.go
}

// Option configures NewServer.
type Option func(*Server)

// WithSeed makes uuids, tokens, shuffling and failure rates reproducible.
func WithSeed(seed uint64) Option {
	return func(s *Server) { s.rng = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// WithShuffle turns shuffling of list results on (the default: Lightdash has
// no ORDER BY) or off. Off, lists come in Go map order: still unspecified,
// just not deliberately mixed.
func WithShuffle(on bool) Option { return func(s *Server) { s.shuffle = on } }

// WithPatchCompareOldestFirst makes a PATCH of a group above
// lightdash.PatchCompareLimit compare its list with the members who joined
// first, as a real server's sequential scan usually returns them (heap
// order), instead of an arbitrary PatchCompareLimit of them (the default,
// which no ORDER BY allows as well).
func WithPatchCompareOldestFirst() Option { return func(s *Server) { s.oldest = true } }

// WithGroupsFlag sets the user-groups-enabled feature flag (default on).
func WithGroupsFlag(on bool) Option { return func(s *Server) { s.groupsFlag = on } }

// WithClock sets the clock used for createdAt/updatedAt and the request log.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithOrganizationName names the default organization (default "Example").
func WithOrganizationName(name string) Option {
	return func(s *Server) { s.orgName = name }
}

// NewServer starts a fake Lightdash with one organization holding one admin
// user (AdminEmail) whose token is AdminToken. Close it when done.
func NewServer(opts ...Option) *Server {
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	s := &Server{
		done:       make(chan struct{}),
		rng:        mrand.New(mrand.NewPCG(leUint64(seed[:8]), leUint64(seed[8:]))),
		clock:      time.Now,
		shuffle:    true,
		groupsFlag: true,
		orgs:       map[string]*org{},
		users:      map[string]*user{},
		byEmail:    map[string]*user{},
		tokens:     map[string]*user{},
		orgName:    "Example",
	}
	for _, o := range opts {
		o(s)
	}
	if s.cost.cpus == nil {
		s.cost.cpus = make(chan struct{}, DefaultServerCPUs)
	}
	s.defaultOrg = s.newOrgLocked(s.orgName)
	s.admin = s.addUserLocked(s.defaultOrg, AdminEmail, lightdash.RoleAdmin, false)
	s.admin.firstName, s.admin.lastName = "Ada", "Admin"
	s.adminToken = s.newTokenLocked(s.admin)
	s.ts = httptest.NewServer(s.routes())
	return s
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// URL is the base URL of the fake, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.ts.URL }

// Client returns an *http.Client for the fake (plain HTTP, no timeout).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Close ends hanging requests and shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// AdminToken is a personal access token of the default organization's admin.
func (s *Server) AdminToken() string { return s.adminToken }

// AdminUUID is the uuid of the default organization's admin.
func (s *Server) AdminUUID() string { return s.admin.uuid }

// AddToken makes a new personal access token for an existing user of any
// organization; the token acts as that user, with that user's role. For an
// unknown uuid it returns "", which lightdash.New refuses as an empty token.
func (s *Server) AddToken(userUUID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userUUID]
	if !ok {
		return ""
	}
	return s.newTokenLocked(u)
}

// SetGroupsFlag turns the user-groups-enabled feature flag on or off. Off,
// GET /api/v1/org/groups answers an empty list, POST still creates, and every
// /api/v1/groups/{uuid} endpoint answers 403 "Group service is not enabled".
func (s *Server) SetGroupsFlag(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupsFlag = on
}

// SetForcedPageSize makes GET /api/v1/org/users and GET /api/v1/org/groups
// answer a request that did not ask for pages with their first n items and
// the "pagination" object Lightdash sends when it pages (API-NOTES §4).
// Lightdash pages only when asked (both page and pageSize set); this is a
// release or proxy that pages by default, for testing that a partial list
// is refused. Zero turns it off.
func (s *Server) SetForcedPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forcedPage = n
}

// SetPageDrift makes the next n answers to page 1 of a paged list (users
// or groups) of more than one page come from a changed row order: page 1's
// first row is swapped with the list's last row. A pass over the pages then
// holds the last row twice and the swapped row never, as OFFSET paging on
// a query without ORDER BY can (API-NOTES §4, §10). Zero turns it off.
func (s *Server) SetPageDrift(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageDrift = n
}

func (s *Server) newTokenLocked(u *user) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	t := "ldpat_" + hex.EncodeToString(b[:])
	s.tokens[t] = u
	return t
}

func (s *Server) newUUIDLocked() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) now() time.Time { return s.clock().UTC() }

// shuffleLocked puts a list in random order, as Lightdash (no ORDER BY) may.
func shuffleLocked[T any](s *Server, xs []T) {
	if s.shuffle {
		s.rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	}
}

// writeJSON sends v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ok sends the success envelope; a nil results gives {"status":"ok"}.
func ok(w http.ResponseWriter, status int, results any) {
	if results == nil {
		writeJSON(w, status, map[string]string{"status": "ok"})
		return
	}
	writeJSON(w, status, struct {
		Status  string `json:"status"`
		Results any    `json:"results"`
	}{"ok", results})
}

// apiError sends Lightdash's error envelope.
func apiError(w http.ResponseWriter, status int, name, message string, data any) {
	if data == nil {
		data = map[string]any{}
	}
	type body struct {
		StatusCode int    `json:"statusCode"`
		Name       string `json:"name"`
		Message    string `json:"message"`
		Data       any    `json:"data"`
	}
	writeJSON(w, status, struct {
		Status string `json:"status"`
		Error  body   `json:"error"`
	}{"error", body{status, name, message, data}})
}

// The errors the real server sends, with its exact names and messages.
func errNoGroup(w http.ResponseWriter) {
	apiError(w, http.StatusNotFound, "NotFoundError", "No group found", nil)
}
func errNoAccess(w http.ResponseWriter) {
	apiError(w, http.StatusForbidden, "ForbiddenError", "You don't have access to this resource or action", nil)
}
func errFlagOff(w http.ResponseWriter) {
	apiError(w, http.StatusForbidden, "ForbiddenError", "Group service is not enabled", nil)
}
func errUnexpected(w http.ResponseWriter) {
	apiError(w, http.StatusInternalServerError, "UnexpectedServerError", "Something went wrong.", nil)
}
func errInvalidMembers(w http.ResponseWriter) {
	apiError(w, http.StatusBadRequest, "ParameterError", "Some provided user UUIDs are invalid", nil)
}
func errValidate(w http.ResponseWriter, field, msg string) {
	apiError(w, http.StatusUnprocessableEntity, "ValidateError",
		fmt.Sprintf("%s: Could not match the intersection against every type. Issues: [{%q:{\"message\":%q}}]", strings.SplitN(field, ".", 2)[0], field, msg),
		map[string]any{field: map[string]string{"message": msg}})
}
