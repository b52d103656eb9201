package lightdashtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

func newClient(t *testing.T, srv *lightdashtest.Server, token string) *lightdash.Client {
	t.Helper()
	c := &lightdash.Client{BaseURL: srv.URL(), Token: token, MaxRetries: -1, Timeout: 2 * time.Second}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, srv *lightdashtest.Server, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL()+path, nil)
	req.Header.Set("Authorization", "ApiKey "+srv.AdminToken())
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestFailNextInOrderAndFiltered(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	srv.FailNext(
		lightdashtest.Fault{Endpoint: "/api/v1/org/users", Status: 503},
		lightdashtest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond},
		lightdashtest.Fault{Drop: true},
	)
	got := []int{
		get(t, srv, "/api/v1/org"),       // 429: the users fault does not match
		get(t, srv, "/api/v1/org/users"), // 503
		get(t, srv, "/api/v1/org"),       // dropped
		get(t, srv, "/api/v1/org"),       // no faults left
	}
	if want := []int{429, 503, 0, 200}; !slices.Equal(got, want) {
		t.Errorf("got statuses %v, want %v", got, want)
	}
	log := srv.Requests()
	if len(log) != 4 || log[0].Fault != "429" || log[2].Fault != "drop" || log[2].Status != 0 || log[3].Fault != "" {
		t.Errorf("got log %+v", log)
	}
	if log[1].Endpoint != "/api/v1/org/users" || log[1].Method != "GET" || log[3].UserUUID != srv.AdminUUID() {
		t.Errorf("got log %+v", log)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	srv.FailNext(lightdashtest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond})
	req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/org", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("got %d Retry-After %q, want 429 and 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestFailureRate(t *testing.T) {
	srv := lightdashtest.NewServer(lightdashtest.WithSeed(42))
	defer srv.Close()
	srv.SetFailureRate(0.5, lightdashtest.Fault{Method: "GET", Status: 500})
	failed := 0
	for range 200 {
		if get(t, srv, "/api/v1/org") == 500 {
			failed++
		}
	}
	if failed < 60 || failed > 140 {
		t.Errorf("got %d of 200 failed, want about half", failed)
	}
	srv.ClearFaults()
	if st := get(t, srv, "/api/v1/org"); st != 200 {
		t.Errorf("after ClearFaults: got %d", st)
	}
}

func TestAfterFaultTakesEffect(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	srv.FailNext(lightdashtest.Fault{Method: "POST", Status: 502, After: true})
	c := newClient(t, srv, srv.AdminToken())
	if _, err := c.CreateGroup(context.Background(), "g", nil); !errors.Is(err, lightdash.ErrServer) {
		t.Fatalf("got %v, want a 502", err)
	}
	if gs := srv.Groups(); len(gs) != 1 || gs[0].Name != "g" {
		t.Errorf("got %+v, want the group created despite the 502", gs)
	}
}

func TestLatencyAndHangEndWithTheClient(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	c := newClient(t, srv, srv.AdminToken())
	srv.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.WhoAmI(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	srv.SetLatency(0)
	srv.FailNext(lightdashtest.Fault{Hang: true})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := c.WhoAmI(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
}

// A token sees only its own organization.
func TestOrganizationsAreIsolated(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	other := srv.AddOrganization("Other")
	admin2, err := srv.AddUserToOrg(other, "boss@other.example", lightdash.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tok2 := srv.AddToken(admin2.UserUUID)
	mine, _ := srv.AddGroup("shared-name")
	if _, err := srv.AddGroupToOrg(other, "shared-name", admin2.UserUUID); err != nil {
		t.Fatalf("same name in another org: %v", err)
	}
	ctx := context.Background()
	c2 := newClient(t, srv, tok2)
	users, _ := c2.ListUsers(ctx)
	groups, _ := c2.ListGroups(ctx)
	if len(users) != 1 || users[0].UserUUID != admin2.UserUUID || len(groups) != 1 || groups[0].UUID == mine.UUID {
		t.Errorf("got users %+v groups %+v, want only the other org's", users, groups)
	}
	if _, err := c2.AddMember(ctx, mine.UUID, admin2.UserUUID); !errors.Is(err, lightdash.ErrForbidden) {
		t.Errorf("other org's group: got %v, want ErrForbidden", err)
	}
	// Members from another org are dropped on create.
	g, err := c2.CreateGroup(ctx, "x", []string{srv.AdminUUID()})
	if err != nil || len(g.DroppedMembers) != 1 {
		t.Errorf("got %+v %v, want the foreign member dropped", g, err)
	}
	if _, err := srv.AddGroupToOrg("nope", "x"); err == nil {
		t.Error("unknown org: got no error")
	}
}

func TestDeactivatedUserTokenIsRefused(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	u := srv.AddUser("leaver@example.com", lightdash.RoleAdmin)
	tok := srv.AddToken(u.UserUUID)
	c := newClient(t, srv, tok)
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeactivateUser(u.UserUUID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WhoAmI(context.Background()); !errors.Is(err, lightdash.ErrUnauthorized) {
		t.Errorf("got %v, want ErrUnauthorized", err)
	}
	if tok := srv.AddToken("nope"); tok != "" {
		t.Errorf("unknown user: got token %q, want none", tok)
	}
	if err := srv.DeactivateUser("nope"); err == nil {
		t.Error("unknown user: got no error")
	}
}

// Lists come back in a different order from call to call.
func TestListsAreShuffled(t *testing.T) {
	srv := lightdashtest.NewServer(lightdashtest.WithSeed(7))
	defer srv.Close()
	for i := range 20 {
		srv.AddUser(fmt.Sprintf("u%02d@example.com", i), lightdash.RoleMember)
	}
	c := newClient(t, srv, srv.AdminToken())
	orders := map[string]bool{}
	for range 5 {
		users, err := c.ListUsers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range users {
			ids = append(ids, u.UserUUID)
		}
		orders[strings.Join(ids, ",")] = true
	}
	if len(orders) < 2 {
		t.Error("got the same order 5 times, want shuffled lists")
	}
}

func TestSeedingHelpers(t *testing.T) {
	srv := lightdashtest.NewServer(lightdashtest.WithOrganizationName("Acme"), lightdashtest.WithGroupsFlag(false))
	defer srv.Close()
	a := srv.AddUser("A@Example.com", lightdash.RoleEditor)
	if again := srv.AddUser("a@example.com", lightdash.RoleViewer); again.UserUUID != a.UserUUID || a.Email != "a@example.com" {
		t.Errorf("got %+v and %+v, want one lowercased user", a, again)
	}
	p := srv.AddPendingUser("p@example.com")
	if !p.IsPending {
		t.Errorf("got %+v, want pending", p)
	}
	if _, err := srv.AddGroup("g", a.UserUUID, p.UserUUID); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddGroup(" g "); err == nil {
		t.Error("duplicate after trim: got no error")
	}
	if _, err := srv.AddGroup("h", "7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77"); err == nil {
		t.Error("unknown member: got no error")
	}
	gs := srv.Groups()
	if len(gs) != 1 || len(gs[0].MemberUUIDs) != 2 {
		t.Errorf("got %+v", gs)
	}
	if us := srv.Users(); len(us) != 3 || us[0].Email != "a@example.com" {
		t.Errorf("got %+v", us)
	}
	c := newClient(t, srv, srv.AdminToken())
	if on, _ := c.GroupsEnabled(context.Background()); on {
		t.Error("WithGroupsFlag(false): got enabled")
	}
	if o, _ := c.Organization(context.Background()); o.Name != "Acme" {
		t.Errorf("got %+v", o)
	}
	if n := srv.RequestCount("GET /api/v1/org"); n != 1 {
		t.Errorf("got %d, want 1", n)
	}
	srv.ResetRequests()
	if n := srv.RequestCount(""); n != 0 || srv.WriteCount() != 0 {
		t.Errorf("got %d after reset", n)
	}
}

func TestUnknownRoute(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	if st := get(t, srv, "/api/v1/nothing"); st != 404 {
		t.Errorf("got %d, want 404", st)
	}
}

func TestInviteLinks(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	other := srv.AddOrganization("Other")
	srv.AddUserToOrg(other, "taken@other.example", lightdash.RoleMember)
	p := srv.AddPendingUser("pending@example.com")
	c := newClient(t, srv, srv.AdminToken())
	ctx := context.Background()
	link, err := c.CreateInviteLink(ctx, "pending@example.com", time.Now().Add(time.Hour))
	if err != nil || link.UserUUID != p.UserUUID {
		t.Errorf("pending user: got %+v %v, want the same user re-invited", link, err)
	}
	if _, err := c.CreateInviteLink(ctx, "taken@other.example", time.Now()); !errors.Is(err, lightdash.ErrInvalidParameter) {
		t.Errorf("other org: got %v, want 400", err)
	}
	viewer := srv.AddUser("v@example.com", lightdash.RoleViewer)
	tok := srv.AddToken(viewer.UserUUID)
	if _, err := newClient(t, srv, tok).CreateInviteLink(ctx, "n@example.com", time.Now()); !errors.Is(err, lightdash.ErrForbidden) {
		t.Errorf("non-admin: got %v, want 403", err)
	}
	if srv.RequestCount("POST /api/v1/invite-links") != 3 {
		t.Errorf("got %d invite requests", srv.RequestCount("POST /api/v1/invite-links"))
	}
}

func TestFaultWithoutStatusIs500(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	srv.FailNext(lightdashtest.Fault{})
	if st := get(t, srv, "/api/v1/org"); st != 500 {
		t.Errorf("got %d, want 500", st)
	}
}

// A cut answer has the real status and a Content-Length, but the body
// stops half-way and the connection closes: reading it fails.
func TestCutFault(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	srv.AddUser("bob@example.com", lightdash.RoleEditor)
	srv.FailNext(lightdashtest.Fault{Endpoint: "/api/v1/org/users", Cut: true})
	req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/org/users", nil)
	req.Header.Set("Authorization", "ApiKey "+srv.AdminToken())
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || len(body) == 0 || int64(len(body)) >= resp.ContentLength {
		t.Errorf("got %d with %d of %d bytes and %v, want 200, half the body and io.ErrUnexpectedEOF", resp.StatusCode, len(body), resp.ContentLength, err)
	}
	if log := srv.Requests(); len(log) != 1 || log[0].Fault != "cut" {
		t.Errorf("got log %+v, want the cut request", log)
	}
}

// TestForcedPageSizeIsRefusedAsIncomplete: with SetForcedPageSize the
// list endpoints answer one page with Lightdash's pagination object, and the
// client refuses it as incomplete (ListGroups asks for the whole list); a
// request that asks for a page still gets the page it asked for, so
// ListUsers, which reads pages, gets every user.
func TestForcedPageSizeIsRefusedAsIncomplete(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	bob := srv.AddUser("bob@example.com", lightdash.RoleEditor)
	for _, n := range []string{"a", "b"} {
		if _, err := srv.AddGroup(n, bob.UserUUID); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, srv, srv.AdminToken())
	ctx := context.Background()
	srv.SetForcedPageSize(1)
	if us, err := c.ListUsers(ctx); err != nil || len(us) != 2 {
		t.Errorf("ListUsers: got %d users, %v; want 2, nil", len(us), err)
	}
	if _, err := c.ListGroups(ctx); !errors.Is(err, lightdash.ErrIncompleteList) {
		t.Errorf("ListGroups: got %v, want ErrIncompleteList", err)
	}
	if code := get(t, srv, "/api/v1/org/users?page=2&pageSize=1"); code != http.StatusOK {
		t.Errorf("an asked-for page: got %d, want 200", code)
	}
	srv.SetForcedPageSize(0)
	if us, err := c.ListUsers(ctx); err != nil || len(us) != 2 {
		t.Errorf("ListUsers with paging off: got %d users, %v; want 2, nil", len(us), err)
	}
}

// A test that waits for a change and then counts the writes must find the
// write that made it: the fake logs a request under the lock that changed
// its state.
func TestAChangeIsNeverSeenBeforeItsRequest(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	c := newClient(t, srv, srv.AdminToken())
	done := make(chan struct{})
	seen := make(chan string, 1)
	go func() {
		defer close(seen)
		for {
			select {
			case <-done:
				return
			default:
			}
			groups := len(srv.Groups())
			if writes := srv.WriteCount(); writes < groups {
				seen <- fmt.Sprintf("%d groups visible, %d writes logged", groups, writes)
				return
			}
		}
	}()
	for i := 0; i < 300; i++ {
		if _, err := c.CreateGroup(context.Background(), fmt.Sprintf("g%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if msg, ok := <-seen; ok {
		t.Error(msg)
	}
}
