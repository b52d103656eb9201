package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// scaleEnv is an env whose Lightdash and directory hold n users u000000…
// (uuids in order) and no groups.
func scaleEnv(t *testing.T, n int, opts ...lightdashtest.Option) (*env, []string) {
	e := newEnv(t, opts...)
	uuids := make([]string, n)
	users := make([]sources.DirUser, n)
	for i := range n {
		email := fmt.Sprintf("u%06d@example.com", i)
		uuids[i] = e.ld.AddUser(email, lightdash.RoleMember).UserUUID
		users[i] = sources.DirUser{ID: fmt.Sprintf("u%06d", i), Email: email}
	}
	e.dir.Replace(nil, users)
	return e, uuids
}

// setGroup makes the directory group g hold users [from, to).
func setGroup(e *env, id string, from, to int) {
	ms := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		ms = append(ms, fmt.Sprintf("u%06d", i))
	}
	e.dir.SetGroup(sources.DirGroup{ID: id, DN: "cn=" + id + ",ou=groups,dc=corp", Name: id, MemberUsers: ms})
}

// wantMembers fails unless the Lightdash group name holds exactly want.
func wantMembers(t *testing.T, ld *lightdashtest.Server, name string, want []string) {
	t.Helper()
	var found []lightdash.GroupWithMembers
	for _, g := range ld.Groups() {
		if g.Name == name {
			found = append(found, g)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d groups named %q, want 1", len(found), name)
	}
	got, w := slices.Sorted(slices.Values(found[0].MemberUUIDs)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, w) {
		t.Fatalf("%s has %d members (%d of them wanted), want exactly %d", name, len(got), countIn(got, w), len(w))
	}
}

func countIn(got, want []string) int {
	n := 0
	for _, u := range got {
		if _, ok := slices.BinarySearch(want, u); ok {
			n++
		}
	}
	return n
}

// TestGroupsAboveTheWriteLimitsAreExact creates a group larger than one
// create carries and replaces a group above the PATCH comparison limit, in
// the fewest calls the limits allow (docs/architecture.md).
func TestGroupsAboveTheWriteLimitsAreExact(t *testing.T) {
	const big, repl = 25000, 15000
	e, uuids := scaleEnv(t, big+repl)
	w := e.worker(e.options())

	setGroup(e, "big", 0, big)
	setGroup(e, "repl", 0, repl)
	e.ld.ResetRequests()
	if res := e.reconcile(w); res.Summary.Failed > 0 {
		t.Fatalf("first run: %+v", res.Failures)
	}
	wantMembers(t, e.ld, "ad-big", uuids[:big])
	wantMembers(t, e.ld, "ad-repl", uuids[:repl])
	// Each call adds at most MaxMembersPerInsert members.
	minCalls := ceilDiv(big, lightdash.MaxMembersPerInsert) + ceilDiv(repl, lightdash.MaxMembersPerInsert)
	if n := e.ld.WriteCount(); n != minCalls {
		t.Errorf("first run made %d writes, want %d", n, minCalls)
	}

	setGroup(e, "repl", big, big+repl)
	e.ld.ResetRequests()
	if res := e.reconcile(w); res.Summary.Failed > 0 {
		t.Fatalf("second run: %+v", res.Failures)
	}
	wantMembers(t, e.ld, "ad-repl", uuids[big:big+repl])
	// A PATCH deletes at most PatchCompareLimit members.
	minCalls = max(ceilDiv(repl, lightdash.PatchCompareLimit), ceilDiv(repl, lightdash.MaxMembersPerInsert))
	if n := e.ld.WriteCount(); n != minCalls {
		t.Errorf("replacing made %d writes, want %d", n, minCalls)
	}
}

// TestFillCutMidwayConverges fails the PATCH that fills
// a new group above MaxMembersPerInsert: the group stays, owned and
// partly filled, and the next run completes it without a second create.
func TestFillCutMidwayConverges(t *testing.T) {
	const big = 25000
	e, uuids := scaleEnv(t, big)
	w := e.worker(e.options())
	setGroup(e, "big", 0, big)
	// A 500 on a write is not retried.
	e.ld.FailNext(lightdashtest.Fault{Method: "PATCH", Endpoint: "/api/v1/groups/{groupUuid}", Status: 500})
	res, err := w.Reconcile(context.Background())
	if !errors.Is(err, worker.ErrApplyFailed) || res.Summary.Failed != 1 || res.Failures[0].Op != "create" {
		t.Fatalf("first run: %v, want the create's fill to fail", err)
	}
	for _, g := range e.ld.Groups() {
		if n := countIn(g.MemberUUIDs, slices.Sorted(slices.Values(uuids))); g.Name != "ad-big" || n != lightdash.MaxMembersPerInsert || len(g.MemberUUIDs) != n {
			t.Fatalf("after the cut: %s with %d members, %d wanted; want ad-big with %d", g.Name, len(g.MemberUUIDs), n, lightdash.MaxMembersPerInsert)
		}
	}

	if res := e.reconcile(w); res.Summary.Failed > 0 {
		t.Fatalf("second run: %+v", res.Failures)
	}
	wantMembers(t, e.ld, "ad-big", uuids)
	if n := e.ld.RequestCount("POST /api/v1/org/groups"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if n := e.ld.RequestCount("DELETE /api/v1/groups/{groupUuid}"); n != 0 {
		t.Errorf("%d group deletes, want 0", n)
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// TestSmallChangeToALargeGroupIsPerMember: above PatchCompareLimit a PATCH
// of the full list could miss the member to remove, and would re-insert
// every uncompared member; one DELETE and one PUT are exact.
func TestSmallChangeToALargeGroupIsPerMember(t *testing.T) {
	const size = lightdash.PatchCompareLimit + 2000
	e, uuids := scaleEnv(t, size+1)
	w := e.worker(e.options())
	setGroup(e, "big", 0, size)
	if res := e.reconcile(w); res.Summary.Failed > 0 {
		t.Fatalf("first run: %+v", res.Failures)
	}

	setGroup(e, "big", 1, size+1)
	e.ld.ResetRequests()
	if res := e.reconcile(w); res.Summary.Failed > 0 {
		t.Fatalf("second run: %+v", res.Failures)
	}
	wantMembers(t, e.ld, "ad-big", uuids[1:])
	var writes []string
	for _, r := range e.ld.Requests() {
		if r.IsWrite() {
			writes = append(writes, r.Method+" "+r.Endpoint)
		}
	}
	slices.Sort(writes)
	member := "/api/v1/groups/{groupUuid}/members/{userUuid}"
	if want := []string{"DELETE " + member, "PUT " + member}; !slices.Equal(writes, want) {
		t.Errorf("writes %q, want %q", writes, want)
	}
}

// TestSwappedGroupLosesItsOldMembersByPatch is the case seen on a real
// Lightdash: a group of 15,000 whose directory group was replaced by
// another 15,000 under a removal limit gets the additions (30,000
// members); the removals, allowed later, go by PATCH, which a real server
// applies to its oldest members first, not by 15,000 DELETEs.
func TestSwappedGroupLosesItsOldMembersByPatch(t *testing.T) {
	const size = 15000
	e, uuids := scaleEnv(t, 2*size, lightdashtest.WithPatchCompareOldestFirst())
	setGroup(e, "swap", 0, size)
	if res := e.reconcile(e.worker(e.options())); res.Summary.Failed > 0 {
		t.Fatalf("first run: %+v", res.Failures)
	}

	setGroup(e, "swap", size, 2*size)
	limited := e.options()
	limited.Limits = worker.Limits{MaxMemberRemovals: 100}
	res, _ := e.worker(limited).Reconcile(context.Background())
	if res == nil || res.Summary.HeldBackRemovals != size {
		t.Fatalf("limited run: %+v, want %d removals held back", res, size)
	}
	wantMembers(t, e.ld, "ad-swap", uuids)

	e.ld.ResetRequests()
	if res := e.reconcile(e.worker(e.options())); res.Summary.Failed > 0 || res.Summary.MembersRemoved != size {
		t.Fatalf("third run: %+v, %d removed", res.Failures, res.Summary.MembersRemoved)
	}
	wantMembers(t, e.ld, "ad-swap", uuids[size:])
	// Each PATCH deletes the oldest PatchCompareLimit members.
	if n, want := e.ld.WriteCount(), ceilDiv(size, lightdash.PatchCompareLimit); n != want {
		t.Errorf("removing made %d writes, want %d", n, want)
	}
}
