package lightdashtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// validator is an http.RoundTripper that checks every response against the
// OpenAPI spec, applying lightdashtest.Deviations, and remembers which
// operations answered which statuses.
type validator struct {
	next   http.RoundTripper
	router routers.Router
	opts   *openapi3filter.Options

	mu       sync.Mutex
	failures []string
	seen     map[string]map[int]bool // "METHOD template" → statuses
}

func newValidator(t *testing.T, serverURL string) *validator {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("../../testdata/lightdash/openapi-groups-users.json")
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("spec: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{
		next:   http.DefaultTransport,
		router: router,
		opts: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				openapi3.EnableFormatValidation(),
				openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122)),
			},
		},
		seen: map[string]map[int]bool{},
	}
}

func (v *validator) fail(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.failures = append(v.failures, fmt.Sprintf(format, args...))
}

func (v *validator) mark(op string, status int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen[op] == nil {
		v.seen[op] = map[int]bool{}
	}
	v.seen[op][status] = true
}

func deviation(method, endpoint string, status int) (lightdashtest.Deviation, bool) {
	for _, d := range lightdashtest.Deviations() {
		if (d.Method == "" || d.Method == method) && (d.Endpoint == "" || d.Endpoint == endpoint) && (d.Status == 0 || d.Status == status) {
			return d, true
		}
	}
	return lightdashtest.Deviation{}, false
}

// notInSpecTemplate maps a path outside the spec to its Deviations template.
func notInSpecTemplate(path string) string {
	switch {
	case path == "/api/v1/user", path == "/api/v1/invite-links":
		return path
	case strings.HasPrefix(path, "/api/v2/feature-flag/"):
		return "/api/v2/feature-flag/{featureFlagId}"
	}
	return path
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.check(req, resp, body)
	return resp, nil
}

func (v *validator) check(req *http.Request, resp *http.Response, body []byte) {
	where := fmt.Sprintf("%s %s → %d", req.Method, req.URL.RequestURI(), resp.StatusCode)
	route, params, err := v.router.FindRoute(req)
	template := notInSpecTemplate(req.URL.Path)
	if err == nil {
		template = route.Path
	}
	v.mark(req.Method+" "+template, resp.StatusCode)

	status := resp.StatusCode
	plain := !strings.Contains(resp.Header.Get("Content-Type"), "json")
	if d, ok := deviation(req.Method, template, status); ok && (d.Kind != lightdashtest.PlainText || plain) {
		switch d.Kind {
		case lightdashtest.NoBody:
			if len(body) != 0 {
				v.fail("%s: want no body, got %q", where, body)
			}
			return
		case lightdashtest.PlainText:
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || string(body) != "Unauthorized" {
				v.fail("%s: want plain-text Unauthorized, got %s %q", where, ct, body)
			}
			return
		case lightdashtest.NotInSpec:
			var env struct {
				Status  string          `json:"status"`
				Results json.RawMessage `json:"results"`
			}
			if err := json.Unmarshal(body, &env); err != nil || (env.Status != "ok" && env.Status != "error") {
				v.fail("%s: not a Lightdash envelope: %q", where, body)
			}
			return
		case lightdashtest.AsDocumented200:
			status = http.StatusOK
		}
	}
	if err != nil {
		v.fail("%s: no such operation in the spec and no deviation listed: %v", where, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                v.opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		v.fail("%s: %v\nbody: %.400s", where, err, body)
	}
}

// TestContractOpenAPI drives every endpoint of the fake through success and
// error paths (the conformance sequence, the client, flag off, a non-admin
// token, another organization) and validates each response against the spec.
func TestContractOpenAPI(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.URL())
	hc := &http.Client{Transport: v}
	bob := srv.AddUser("bob@example.com", lightdash.RoleEditor)
	srv.AddUser("carol@example.com", lightdash.RoleViewer)
	srv.AddPendingUser("pat@example.com")
	other := srv.AddOrganization("Other")
	mallory, err := srv.AddUserToOrg(other, "mallory@other.example", lightdash.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := srv.AddGroupToOrg(other, "foreign", mallory.UserUUID)
	if err != nil {
		t.Fatal(err)
	}

	// 1. The 35 recorded steps.
	c := &conformance{t: t, base: srv.URL(), token: srv.AdminToken(), client: hc}
	c.run("7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77", "c0ffee")

	// 2. Every client method.
	ctx := context.Background()
	cl := &lightdash.Client{BaseURL: srv.URL(), Token: srv.AdminToken(), HTTPClient: hc}
	if err := cl.Validate(); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = cl.WhoAmI(ctx)
	must(err)
	_, err = cl.GroupsEnabled(ctx)
	must(err)
	_, err = cl.Organization(ctx)
	must(err)
	_, err = cl.ListUsers(ctx)
	must(err)
	_, err = cl.UserByEmail(ctx, "Bob@Example.com")
	must(err)
	g, err := cl.CreateGroup(ctx, "contract", []string{bob.UserUUID})
	must(err)
	_, err = cl.ListGroups(ctx)
	must(err)
	name := "contract-2"
	_, err = cl.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Name: &name})
	must(err)
	_, err = cl.RemoveMember(ctx, g.UUID, bob.UserUUID)
	must(err)
	_, err = cl.AddMember(ctx, g.UUID, bob.UserUUID)
	must(err)
	_, err = cl.CreateInviteLink(ctx, "new@example.com", time.Now().Add(time.Hour))
	must(err)

	// 3. Raw calls for what neither covers.
	raw := func(token, method, path string, body any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL()+path, rd)
		req.Header.Set("Authorization", "ApiKey "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	admin := srv.AdminToken()
	raw(admin, "GET", "/api/v1/org/users/"+bob.UserUUID, nil)
	raw(admin, "GET", "/api/v1/org/users/"+mallory.UserUUID, nil) // 404: other org
	raw(admin, "GET", "/api/v1/org/users/not-a-uuid", nil)        // 422
	raw(admin, "GET", "/api/v1/org/users/email/nobody@example.com", nil)
	raw(admin, "GET", "/api/v1/org/users?includeGroups=2", nil)
	raw(admin, "GET", "/api/v1/org/users?searchQuery=bob&page=1&pageSize=10", nil)
	raw(admin, "GET", "/api/v1/org/groups?searchQuery=contract&includeMembers=1&page=1&pageSize=5", nil)
	raw(admin, "GET", "/api/v1/org/groups?page=1&pageSize=-3", nil)
	raw(admin, "GET", "/api/v1/groups/"+g.UUID, nil)
	raw(admin, "GET", "/api/v1/groups/"+g.UUID+"?includeMembers=1&offset=1", nil)
	raw(admin, "GET", "/api/v1/groups/"+foreign.UUID, nil) // 403: other org
	raw(admin, "PATCH", "/api/v1/groups/"+g.UUID, map[string]any{"name": 7})
	raw(admin, "PATCH", "/api/v1/groups/"+g.UUID, map[string]any{"name": strings.Repeat("y", 256)})
	raw(admin, "GET", "/api/v1/groups/"+g.UUID+"/members", nil)
	raw(admin, "PUT", "/api/v1/groups/"+g.UUID+"/members/not-a-uuid", nil)
	raw(admin, "POST", "/api/v1/invite-links", map[string]any{"email": "bob@example.com", "expiresAt": time.Now()})
	// A non-admin: empty list, 403 on writes.
	bobToken := srv.AddToken(bob.UserUUID)
	raw(bobToken, "GET", "/api/v1/org/groups?includeMembers=1", nil)
	raw(bobToken, "POST", "/api/v1/org/groups", map[string]any{"name": "nope"})
	raw(bobToken, "PATCH", "/api/v1/groups/"+g.UUID, map[string]any{"name": "nope"})
	raw(bobToken, "DELETE", "/api/v1/groups/"+g.UUID, nil)
	raw(bobToken, "PUT", "/api/v1/groups/"+g.UUID+"/members/"+bob.UserUUID, nil)
	raw(bobToken, "DELETE", "/api/v1/groups/"+g.UUID+"/members/"+bob.UserUUID, nil)
	raw(bobToken, "GET", "/api/v1/groups/"+g.UUID+"/members", nil)
	raw(bobToken, "GET", "/api/v1/org", nil)
	raw(bobToken, "GET", "/api/v1/org/users", nil)
	// Flag off.
	srv.SetGroupsFlag(false)
	raw(admin, "GET", "/api/v2/feature-flag/user-groups-enabled", nil)
	raw(admin, "GET", "/api/v1/org/groups", nil)
	raw(admin, "POST", "/api/v1/org/groups", map[string]any{"name": "made while off"})
	raw(admin, "GET", "/api/v1/groups/"+g.UUID, nil)
	raw(admin, "GET", "/api/v1/groups/"+g.UUID+"/members", nil)
	raw(admin, "PATCH", "/api/v1/groups/"+g.UUID, map[string]any{})
	raw(admin, "PUT", "/api/v1/groups/"+g.UUID+"/members/"+bob.UserUUID, nil)
	raw(admin, "DELETE", "/api/v1/groups/"+g.UUID+"/members/"+bob.UserUUID, nil)
	raw(admin, "DELETE", "/api/v1/groups/"+g.UUID, nil)
	srv.SetGroupsFlag(true)
	raw(admin, "DELETE", "/api/v1/groups/"+g.UUID, nil)
	raw("ldpat_wrong", "GET", "/api/v1/org", nil)

	for _, f := range v.failures {
		t.Error(f)
	}
	// Every operation of the spec answered at least one success and one error.
	doc, _ := openapi3.NewLoader().LoadFromFile("../../testdata/lightdash/openapi-groups-users.json")
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			op := method + " " + path
			var okSeen, errSeen bool
			for st := range v.seen[op] {
				okSeen = okSeen || st < 300
				errSeen = errSeen || st >= 400
			}
			if !okSeen || !errSeen {
				t.Errorf("%s: statuses seen %v, want a success and an error", op, v.seen[op])
			}
		}
	}
	if v.seen["POST /api/v1/invite-links"] == nil {
		t.Error("invite links not exercised")
	}
}
