package lightdashtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// The write limits of API-NOTES.md §10, as a real Lightdash 0.2340.1
// showed them: the fake must refuse and mis-handle writes the same way,
// or tests pass that production fails.

// scaleUsers adds n users to srv and returns their uuids.
func scaleUsers(srv *lightdashtest.Server, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = srv.AddUser(fmt.Sprintf("u%06d@example.com", i), lightdash.RoleViewer).UserUUID
	}
	return out
}

// bigClient is newClient with room for requests of tens of thousands of
// members on a loaded machine (or under -race).
func bigClient(t *testing.T, srv *lightdashtest.Server) *lightdash.Client {
	t.Helper()
	c := &lightdash.Client{BaseURL: srv.URL(), Token: srv.AdminToken(), MaxRetries: -1, Timeout: 2 * time.Minute}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func wantStatus(t *testing.T, err error, want int) {
	t.Helper()
	var ae *lightdash.APIError
	if !errors.As(err, &ae) || ae.StatusCode != want {
		t.Fatalf("got error %v, want HTTP %d", err, want)
	}
}

func memberCount(t *testing.T, srv *lightdashtest.Server, uuid string) int {
	t.Helper()
	for _, g := range srv.Groups() {
		if g.UUID == uuid {
			return len(g.MemberUUIDs)
		}
	}
	t.Fatalf("no group %s", uuid)
	return 0
}

func TestCreateAboveInsertLimitFailsAndRollsBack(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	users := scaleUsers(srv, lightdash.MaxMembersPerInsert+1)
	c, ctx := bigClient(t, srv), context.Background()

	_, err := c.CreateGroup(ctx, "too-big", users)
	wantStatus(t, err, http.StatusInternalServerError)
	if n := len(srv.Groups()); n != 0 {
		t.Fatalf("%d groups after the refused create, want 0 (rolled back)", n)
	}
	g, err := c.CreateGroup(ctx, "at-limit", users[:lightdash.MaxMembersPerInsert])
	if err != nil {
		t.Fatal(err)
	}
	if got := len(g.MemberUUIDs); got != lightdash.MaxMembersPerInsert {
		t.Errorf("created with %d members, want %d", got, lightdash.MaxMembersPerInsert)
	}
}

func TestPatchAddingAboveInsertLimitFailsAndRollsBack(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	users := scaleUsers(srv, lightdash.MaxMembersPerInsert+2)
	c, ctx := bigClient(t, srv), context.Background()
	g, err := c.CreateGroup(ctx, "g", users[:1])
	if err != nil {
		t.Fatal(err)
	}

	all, rename := users, "renamed"
	_, err = c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Name: &rename, Members: &all})
	wantStatus(t, err, http.StatusInternalServerError)
	if gs := srv.Groups(); len(gs) != 1 || gs[0].Name != "g" || len(gs[0].MemberUUIDs) != 1 {
		t.Fatalf("after the refused PATCH: %d groups, first %q with %d members; want g with 1 (rolled back)", len(gs), gs[0].Name, len(gs[0].MemberUUIDs))
	}
	atLimit := users[:lightdash.MaxMembersPerInsert+1] // the member already in plus the most new ones
	if _, err := c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &atLimit}); err != nil {
		t.Fatal(err)
	}
	if got := memberCount(t, srv, g.UUID); got != len(atLimit) {
		t.Errorf("%d members, want %d", got, len(atLimit))
	}
}

// TestPatchComparesOnlyTheFirstMembers is §10's replacement: 15,000
// members replaced by another 15,000 leaves the 5,000 old members the
// PATCH never compared, and the answer lists only PatchCompareLimit
// members (memberUuids is complete).
func TestPatchComparesOnlyTheFirstMembers(t *testing.T) {
	const size = 15000
	srv := lightdashtest.NewServer()
	defer srv.Close()
	users := scaleUsers(srv, 2*size)
	old, repl := users[:size], users[size:]
	c, ctx := bigClient(t, srv), context.Background()
	g, err := c.CreateGroup(ctx, "g", old)
	if err != nil {
		t.Fatal(err)
	}

	got, err := c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &repl})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Members); n != lightdash.PatchCompareLimit {
		t.Errorf("the answer lists %d members, want %d", n, lightdash.PatchCompareLimit)
	}
	wantLeft := size + (size - lightdash.PatchCompareLimit)
	if n := len(got.MemberUUIDs); n != wantLeft {
		t.Errorf("the answer's memberUuids has %d, want %d", n, wantLeft)
	}
	if n := memberCount(t, srv, g.UUID); n != wantLeft {
		t.Fatalf("%d members after the PATCH, want %d (%d stale)", n, wantLeft, size-lightdash.PatchCompareLimit)
	}
	stale := 0
	for _, u := range got.MemberUUIDs {
		if slices.Contains(old, u) {
			stale++
		}
	}
	if stale != size-lightdash.PatchCompareLimit {
		t.Errorf("%d old members left, want %d", stale, size-lightdash.PatchCompareLimit)
	}
}

// TestPatchOnlyAddingAboveCompareLimitIsExact: a list holding every
// current member deletes nothing, whichever members are compared; the
// uncompared ones count as rows to insert.
func TestPatchOnlyAddingAboveCompareLimitIsExact(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	users := scaleUsers(srv, 25000)
	c, ctx := bigClient(t, srv), context.Background()
	g, err := c.CreateGroup(ctx, "g", users[:lightdash.MaxMembersPerInsert])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &users}); err != nil {
		t.Fatal(err)
	}
	if n := memberCount(t, srv, g.UUID); n != len(users) {
		t.Errorf("%d members, want %d", n, len(users))
	}
}

// TestPatchComparesTheOldestFirst: WithPatchCompareOldestFirst compares
// the members whose rows are oldest (a real server's heap order); members
// listed again keep their rows.
func TestPatchComparesTheOldestFirst(t *testing.T) {
	const size = 15000
	srv := lightdashtest.NewServer(lightdashtest.WithPatchCompareOldestFirst())
	defer srv.Close()
	users := scaleUsers(srv, 2*size)
	old, repl := users[:size], users[size:]
	c, ctx := bigClient(t, srv), context.Background()
	g, err := c.CreateGroup(ctx, "g", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &users}); err != nil {
		t.Fatal(err)
	}

	// The oldest PatchCompareLimit are compared, all of them old members.
	got, err := c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &repl})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(users[lightdash.PatchCompareLimit:]))
	if left := slices.Sorted(slices.Values(got.MemberUUIDs)); !slices.Equal(left, want) {
		t.Fatalf("%d members left, want the %d newest", len(left), len(want))
	}
	// Then the 5,000 old ones left and the 5,000 oldest of repl.
	if got, err = c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &repl}); err != nil {
		t.Fatal(err)
	}
	if left := slices.Sorted(slices.Values(got.MemberUUIDs)); !slices.Equal(left, slices.Sorted(slices.Values(repl))) {
		t.Fatalf("%d members left, want exactly the %d of repl", len(left), len(repl))
	}
}
