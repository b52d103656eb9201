package lightdash_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// pagedFixture is a fake Lightdash holding 25 users (the admin, bob, carol
// and 22 more) and a client reading them in pages of 4: 7 pages.
func pagedFixture(t *testing.T, c *lightdash.Client) *fixture {
	t.Helper()
	c.UserPageSize = 4
	f := newFixtureWith(t, c)
	for i := range 22 {
		f.srv.AddUser(fmt.Sprintf("u%02d@example.com", i), lightdash.RoleMember)
	}
	return f
}

// wantAllUsers checks that got holds every user of the fake exactly once.
func wantAllUsers(t *testing.T, srv *lightdashtest.Server, got []lightdash.OrgMember) {
	t.Helper()
	want := srv.Users()
	seen := map[string]bool{}
	for _, u := range got {
		if seen[u.UserUUID] {
			t.Errorf("user %s listed twice", u.Email)
		}
		seen[u.UserUUID] = true
	}
	for _, u := range want {
		if !seen[u.UserUUID] {
			t.Errorf("user %s missing", u.Email)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d users, want %d", len(got), len(want))
	}
}

func userListCalls(srv *lightdashtest.Server) []string {
	var qs []string
	for _, r := range srv.Requests() {
		if r.Endpoint == "/api/v1/org/users" {
			qs = append(qs, r.Query)
		}
	}
	return qs
}

// TestListUsersPages: ListUsers reads every page (rows shuffled within
// them) and returns each user once, in one call per page; CountCalls
// counts them.
func TestListUsersPages(t *testing.T) {
	f := pagedFixture(t, &lightdash.Client{})
	var n atomic.Int64
	got, err := f.c.ListUsers(lightdash.CountCalls(context.Background(), &n))
	if err != nil {
		t.Fatal(err)
	}
	wantAllUsers(t, f.srv, got)
	if calls := userListCalls(f.srv); len(calls) != 7 || n.Load() != 7 {
		t.Errorf("got %d calls (counted %d): %q; want 7 pages", len(calls), n.Load(), calls)
	}
	for _, q := range userListCalls(f.srv) {
		if !strings.Contains(q, "pageSize=4") || !strings.Contains(q, "page=") {
			t.Errorf("query %q does not ask for a page of 4", q)
		}
	}
}

// TestListUsersOnePageOneCall: an organization that fits one page costs one
// call, as the unpaged list did.
func TestListUsersOnePageOneCall(t *testing.T) {
	f := newFixture(t)
	got, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantAllUsers(t, f.srv, got)
	if calls := userListCalls(f.srv); len(calls) != 1 {
		t.Errorf("got %d calls: %q; want 1", len(calls), calls)
	}
}

// TestListUsersRereadsAPassThatDoesNotAddUp: a pass in which a row moved
// between two page requests (one user twice, another never) is read again;
// the second pass adds up and its list is returned.
func TestListUsersRereadsAPassThatDoesNotAddUp(t *testing.T) {
	f := pagedFixture(t, &lightdash.Client{})
	f.srv.SetPageDrift(1)
	got, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantAllUsers(t, f.srv, got)
	if calls := userListCalls(f.srv); len(calls) != 14 {
		t.Errorf("got %d calls, want two passes of 7", len(calls))
	}
}

// TestListUsersIncompleteTwice: when the second pass does not add up
// either, ListUsers returns no list and an error matching
// ErrIncompleteList that says what was read.
func TestListUsersIncompleteTwice(t *testing.T) {
	f := pagedFixture(t, &lightdash.Client{})
	f.srv.SetPageDrift(2)
	got, err := f.c.ListUsers(context.Background())
	if !errors.Is(err, lightdash.ErrIncompleteList) || got != nil {
		t.Fatalf("got %d users, %v; want ErrIncompleteList", len(got), err)
	}
	if !strings.Contains(err.Error(), "24 distinct users, the server reported 25") {
		t.Errorf("error %q does not say what was read", err)
	}
}

// TestListUsersTotalChangesMidPass: a user added while the pages are read
// changes the total a later page reports; the pass stops there and is read
// again.
func TestListUsersTotalChangesMidPass(t *testing.T) {
	var f *fixture
	added := false
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if !added && r.URL.Query().Get("page") == "1" {
			defer func() { f.srv.AddUser("late@example.com", lightdash.RoleMember) }()
			added = true
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	f = pagedFixture(t, &lightdash.Client{HTTPClient: hc, ListConcurrency: 1})
	got, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantAllUsers(t, f.srv, got)
	if calls := userListCalls(f.srv); len(calls) != 2+7 {
		t.Errorf("got %d calls, want pages 1 and 2, then a second pass of 7", len(calls))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestListUsersConcurrentPages: after page 1, the other pages are fetched
// at once, never more than ListConcurrency, each through the rate limiter.
// Each page after the first waits at the transport (up to 3s) until
// another is in flight, so a client reading them one at a time never has
// two in flight and fails the test. The last page may rightly be alone.
func TestListUsersConcurrentPages(t *testing.T) {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	inflight, peak, alone := 0, 0, 0
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("page") == "1" {
			return http.DefaultTransport.RoundTrip(r)
		}
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		cond.Broadcast()
		deadline := time.AfterFunc(3*time.Second, func() { mu.Lock(); cond.Broadcast(); mu.Unlock() })
		start := time.Now()
		for inflight < 2 && time.Since(start) < 3*time.Second {
			cond.Wait()
		}
		if inflight < 2 {
			alone++
		}
		deadline.Stop()
		mu.Unlock()
		resp, err := http.DefaultTransport.RoundTrip(r)
		mu.Lock()
		inflight--
		mu.Unlock()
		return resp, err
	})}
	f := pagedFixture(t, &lightdash.Client{HTTPClient: hc, ListConcurrency: 2, RateLimit: 1000, Burst: 2})
	got, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantAllUsers(t, f.srv, got)
	mu.Lock()
	defer mu.Unlock()
	if peak != 2 {
		t.Errorf("peak %d pages in flight (%d waited alone); want 2 at a time", peak, alone)
	}
}

// TestListUsersPageCutMidBody: a page whose body breaks off mid-way is read
// again (a GET is safe to retry); without retries the list fails, and no
// partial list is returned.
func TestListUsersPageCutMidBody(t *testing.T) {
	f := pagedFixture(t, &lightdash.Client{})
	f.srv.FailNext(lightdashtest.Fault{Endpoint: "/api/v1/org/users", Cut: true})
	var n atomic.Int64
	got, err := f.c.ListUsers(lightdash.CountCalls(context.Background(), &n))
	if err != nil {
		t.Fatal(err)
	}
	wantAllUsers(t, f.srv, got)
	if calls := userListCalls(f.srv); len(calls) != 8 || n.Load() != 7 {
		t.Errorf("got %d requests (counted %d calls), want 7 pages and one retry counted once", len(calls), n.Load())
	}

	g := pagedFixture(t, &lightdash.Client{MaxRetries: -1})
	g.srv.FailNext(lightdashtest.Fault{Endpoint: "/api/v1/org/users", Cut: true})
	if got, err := g.c.ListUsers(context.Background()); err == nil || got != nil {
		t.Errorf("without retries: got %d users, %v; want an error", len(got), err)
	}
}

// TestListUsersPastTheBindParameterLimit: an organization of 65,536 users,
// whose unpaged list a real Lightdash answers with a 500, is read whole in
// pages of the default size.
func TestListUsersPastTheBindParameterLimit(t *testing.T) {
	f := newFixtureWith(t, &lightdash.Client{Timeout: time.Minute}) // 10,000 users a page, under -race
	for i := len(f.srv.Users()); i <= lightdashtest.MaxBindParameters; i++ {
		f.srv.AddUser(fmt.Sprintf("u%05d@example.com", i), lightdash.RoleMember)
	}
	got, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != lightdashtest.MaxBindParameters+1 {
		t.Errorf("got %d users, want %d", len(got), lightdashtest.MaxBindParameters+1)
	}
	if calls := userListCalls(f.srv); len(calls) != 7 {
		t.Errorf("got %d calls, want 7 pages of %d", len(calls), lightdash.DefaultUserPageSize)
	}
}

// TestUserPageSizeBounds: a page size the server would refuse is refused
// when the client is built.
func TestUserPageSizeBounds(t *testing.T) {
	for _, n := range []int{-1, lightdash.MaxUserPageSize + 1} {
		c := &lightdash.Client{BaseURL: "http://127.0.0.1:1", Token: "t", UserPageSize: n}
		if err := c.Validate(); err == nil {
			t.Errorf("UserPageSize %d: accepted", n)
		}
	}
}
