package lightdash_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

func TestProjectAccessLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.srv.AddProject("Sales")
	g, err := f.srv.AddGroup("sales")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := f.c.ListProjects(ctx)
	if err != nil || len(ps) != 1 || ps[0].ProjectUUID != p || ps[0].Name != "Sales" {
		t.Fatalf("ListProjects = %+v, %v", ps, err)
	}
	for _, role := range []string{"viewer", "editor"} { // grant, then change: one upsert each
		if err := f.c.SetProjectGroupRole(ctx, p, g.UUID, role); err != nil {
			t.Fatal(err)
		}
		grants, err := f.c.ProjectGroupGrants(ctx, p)
		want := []lightdash.ProjectGrant{{ProjectUUID: p, GroupUUID: g.UUID, GroupName: "sales", Role: role}}
		if err != nil || len(grants) != 1 || grants[0] != want[0] {
			t.Fatalf("ProjectGroupGrants = %+v, %v; want %+v", grants, err, want)
		}
	}
	for range 2 { // a second revoke is not an error either
		if err := f.c.RevokeProjectGroupRole(ctx, p, g.UUID); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.srv.ProjectRoles(p); len(got) != 0 {
		t.Errorf("grants after revoke: %v", got)
	}
}

func TestSetProjectRoleRefusesWhatTheServerAnswers500(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.srv.AddProject("Sales")
	g, _ := f.srv.AddGroup("sales")
	f.srv.ResetRequests()
	if err := f.c.SetProjectGroupRole(ctx, p, g.UUID, "superhero"); !errors.Is(err, lightdash.ErrInvalidParameter) {
		t.Errorf("unknown role: got %v, want ErrInvalidParameter", err)
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("an unknown role was sent (%d requests)", n)
	}
	// A group deleted since it was read: the server answers 500, which is
	// an error, not a grant, and is not retried.
	if err := f.c.DeleteGroup(ctx, g.UUID); err != nil {
		t.Fatal(err)
	}
	err := f.c.SetProjectGroupRole(ctx, p, g.UUID, "viewer")
	if !errors.Is(err, lightdash.ErrServer) {
		t.Errorf("deleted group: got %v, want a server error", err)
	}
	if got := f.srv.ProjectRoles(p); len(got) != 0 {
		t.Errorf("grants: %v", got)
	}
}

func TestSpaceSharing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.srv.AddProject("Sales")
	g, _ := f.srv.AddGroup("sales")
	spaces, err := f.c.ListSpaces(ctx, p)
	if err != nil || len(spaces) != 1 || spaces[0].Name != "Shared" {
		t.Fatalf("ListSpaces = %+v, %v", spaces, err)
	}
	s := spaces[0].UUID
	for _, role := range []string{"viewer", "admin"} {
		if err := f.c.ShareSpace(ctx, p, s, g.UUID, role); err != nil {
			t.Fatal(err)
		}
		shares, err := f.c.SpaceGroupShares(ctx, p, s)
		if err != nil || len(shares) != 1 || shares[0] != (lightdash.SpaceShare{GroupUUID: g.UUID, GroupName: "sales", SpaceRole: role}) {
			t.Fatalf("SpaceGroupShares = %+v, %v", shares, err)
		}
	}
	if err := f.c.ShareSpace(ctx, p, s, g.UUID, "owner"); !errors.Is(err, lightdash.ErrInvalidParameter) {
		t.Errorf("bad space role: got %v", err)
	}
	if err := f.c.UnshareSpace(ctx, p, s, g.UUID); err != nil {
		t.Fatal(err)
	}
	if got := f.srv.SpaceShares(p, s); !maps.Equal(got, map[string]string{}) {
		t.Errorf("shares after unshare: %v", got)
	}
}

func TestGroupDeletionTakesItsAccess(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.srv.AddProject("Sales")
	g, _ := f.srv.AddGroup("sales")
	s := f.srv.AddSpace(p, "Pipeline")
	if err := f.c.SetProjectGroupRole(ctx, p, g.UUID, "developer"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ShareSpace(ctx, p, s, g.UUID, "editor"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.DeleteGroup(ctx, g.UUID); err != nil {
		t.Fatal(err)
	}
	if len(f.srv.ProjectRoles(p)) != 0 || len(f.srv.SpaceShares(p, s)) != 0 {
		t.Errorf("access left after deleting the group: %v %v", f.srv.ProjectRoles(p), f.srv.SpaceShares(p, s))
	}
}

// TestSpaceReadIsSlow: a space's read, which Lightdash computes for every
// user of the organization, gets SlowReadTimeout instead of Timeout, and
// once that runs out it is not sent again (a retry would start the
// server's work over), while an ordinary read that times out is retried.
func TestSpaceReadIsSlow(t *testing.T) {
	var mu sync.Mutex
	sent := map[string]int{} // attempts per path, counted as they leave
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		sent[r.URL.Path]++
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})}
	count := func(path string) int { mu.Lock(); defer mu.Unlock(); n := sent[path]; delete(sent, path); return n }
	f := newFixtureWith(t, &lightdash.Client{HTTPClient: hc, Timeout: 100 * time.Millisecond, SlowReadTimeout: 5 * time.Second, MaxRetries: 2})
	ctx := context.Background()
	p := f.srv.AddProject("Sales")
	s := f.srv.AddSpace(p, "Pipeline")
	spacePath := "/api/v1/projects/" + p + "/spaces/" + s
	f.srv.SetLatency(300 * time.Millisecond)
	if _, err := f.c.SpaceGroupShares(ctx, p, s); err != nil {
		t.Fatalf("a space read within SlowReadTimeout: %v", err)
	}
	if _, err := f.c.ListProjects(ctx); err == nil {
		t.Fatal("an ordinary read outlived Timeout")
	}
	if n := count("/api/v1/org/projects"); n != 3 {
		t.Errorf("the ordinary read was sent %d times, want 3 (retried)", n)
	}

	f.c.SlowReadTimeout = 100 * time.Millisecond
	count(spacePath)
	if _, err := f.c.SpaceGroupShares(ctx, p, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a space read past SlowReadTimeout: %v, want a deadline error", err)
	}
	if n := count(spacePath); n != 1 {
		t.Errorf("the timed-out space read was sent %d times, want 1", n)
	}
}
