package worker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func TestReconcileFirstRunThenNoWrites(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	res := e.reconcile(w)
	e.wantGroups(
		"ad-Backend: cat",
		"ad-Engineering: ann,bob,cat",
		"ad-Sales: dan",
	)
	s := res.Summary
	if s.Created != 3 || s.MembersAdded != 5 || s.Unmatched != 1 || s.Failed != 0 {
		t.Errorf("summary %+v, want 3 created, 5 members, 1 unmatched", s)
	}
	// 4 reads (flag, who am I, users, groups) and one create per group.
	if got := e.ld.RequestCount("POST /api/v1/org/groups"); got != 3 {
		t.Errorf("%d creates, want 3", got)
	}
	if s.APICalls != 7 {
		t.Errorf("APICalls %d, want 7", s.APICalls)
	}
	if got := len(e.state().Groups); got != 3 {
		t.Errorf("state owns %d groups, want 3", got)
	}

	e.ld.ResetRequests()
	p, err := w.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() {
		t.Errorf("second plan has changes: %+v", p)
	}
	res = e.reconcile(w)
	if got := e.ld.WriteCount(); got != 0 {
		t.Errorf("second run made %d writes, want 0: %+v", got, e.ld.Requests())
	}
	if res.Summary.Unmatched != 1 {
		t.Errorf("unmatched %d, want 1 (zed, still reported)", res.Summary.Unmatched)
	}
}

func TestReconcileMemberChangesAndRename(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)
	salesUUID := e.groupUUID("ad-Sales")

	e.dir.SetGroup(sources.DirGroup{ID: "g-eng", DN: "cn=Engineering,ou=groups,dc=corp", Name: "Engineering", MemberUsers: []string{"u-ann", "u-dan"}, MemberGroups: []string{"g-be"}})
	e.dir.SetGroup(sources.DirGroup{ID: "g-sales", DN: "cn=Revenue,ou=groups,dc=corp", Name: "Revenue", MemberUsers: []string{"u-dan"}})
	e.ld.ResetRequests()
	res := e.reconcile(w)
	e.wantGroups(
		"ad-Backend: cat",
		"ad-Engineering: ann,cat,dan",
		"ad-Revenue: dan",
	)
	if got := e.groupUUID("ad-Revenue"); got != salesUUID {
		t.Errorf("renamed group uuid %s, want %s (renamed in place)", got, salesUUID)
	}
	if got := e.ld.RequestCount("PATCH /api/v1/groups/{groupUuid}"); got != 2 || e.ld.WriteCount() != 2 {
		t.Errorf("%d PATCHes of %d writes, want 2 of 2 (one per changed group)", got, e.ld.WriteCount())
	}
	if s := res.Summary; s.Renamed != 1 || s.Updated != 1 || s.MembersAdded != 1 || s.MembersRemoved != 1 {
		t.Errorf("summary %+v", s)
	}
}

func TestReconcileRemovedGroupByPolicy(t *testing.T) {
	tests := []struct {
		policy worker.Policy
		want   []string
	}{
		{worker.PolicySync, []string{"ad-Engineering: ann,bob,cat", "ad-Sales: dan"}},
		{worker.PolicyUpsertOnly, []string{"ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan"}},
		{worker.PolicyCreateOnly, []string{"ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			e := newEnv(t)
			opts := e.options()
			opts.Policy = tt.policy
			w := e.worker(opts)
			e.reconcile(w)
			// Backend leaves the directory (and so Engineering's nesting).
			e.dir.DeleteGroup("g-be")
			e.dir.SetGroup(sources.DirGroup{ID: "g-eng", DN: "cn=Engineering,ou=groups,dc=corp", Name: "Engineering", MemberUsers: []string{"u-ann", "u-bob", "u-cat"}})
			res := e.reconcile(w)
			e.wantGroups(tt.want...)
			if _, owned := e.state().Groups["group:corp/g-be"]; owned != (tt.policy != worker.PolicySync) {
				t.Errorf("state still owns the deleted group: %v", owned)
			}
			if want := map[worker.Policy]int{worker.PolicySync: 1}[tt.policy]; res.Summary.Deleted != want {
				t.Errorf("deleted %d, want %d", res.Summary.Deleted, want)
			}
		})
	}
}

func TestReconcileAbsentGrace(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.Limits = worker.Limits{DeleteGracePeriod: time.Hour, DeleteAfterReads: 2}
	w := e.worker(opts)
	e.reconcile(w)
	e.dir.DeleteGroup("g-sales")
	e.reconcile(w) // absent: first read
	e.now = e.now.Add(2 * time.Hour)
	e.dir.SetIncomplete("page 3 failed")
	e.reconcile(w) // incomplete: does not count, deletes nothing
	if e.groupUUID("ad-Sales") == "" {
		t.Fatal("group deleted before its grace period and on an incomplete read")
	}
	if g := e.state().Groups["group:corp/g-sales"]; g == nil || g.AbsentReads != 1 {
		t.Fatalf("state %+v, want 1 absent read", g)
	}
	e.dir.SetIncomplete("")
	e.reconcile(w) // second complete read, an hour later: deleted
	if e.groupUUID("ad-Sales") != "" {
		t.Error("group not deleted after its grace period")
	}
}

func TestReconcileDeletionThresholdBlocksButAdds(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.Limits = worker.Limits{MaxGroupDeletes: 1}
	w := e.worker(opts)
	e.reconcile(w)
	e.dir.DeleteGroup("g-sales")
	e.dir.DeleteGroup("g-be")
	e.dir.SetGroup(sources.DirGroup{ID: "g-eng", DN: "cn=Engineering,ou=groups,dc=corp", Name: "Engineering", MemberUsers: []string{"u-ann", "u-bob", "u-dan"}})
	res := e.reconcile(w)
	if !res.Blocked || res.Summary.HeldBackDeletes != 2 || res.Summary.HeldBackRemovals != 1 {
		t.Errorf("result %+v, want blocked with 2 deletions and 1 removal (cat) held back", res)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat,dan", "ad-Sales: dan")

	opts.AllowDeletions = true
	res = e.reconcile(e.worker(opts))
	if res.Blocked || res.Summary.Deleted != 2 {
		t.Errorf("with the override: %+v, want 2 deleted", res)
	}
	e.wantGroups("ad-Engineering: ann,bob,dan")
}

func TestReconcileAdoptOrConflict(t *testing.T) {
	e := newEnv(t)
	manual, err := e.ld.AddGroup("ad-Sales", e.uuid["eve"])
	if err != nil {
		t.Fatal(err)
	}
	e.reconcile(e.worker(e.options()))
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: eve")
	p, err := e.worker(e.options()).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Conflicts) != 1 || p.Conflicts[0].UUID != manual.UUID {
		t.Fatalf("conflicts %+v, want the manual ad-Sales", p.Conflicts)
	}
	if _, owned := e.state().Groups["group:corp/g-sales"]; owned {
		t.Error("conflicting group recorded as owned")
	}

	opts := e.options()
	opts.Adopt = true
	res := e.reconcile(e.worker(opts))
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan")
	if res.Summary.Adopted != 1 || e.state().Groups["group:corp/g-sales"].UUID != manual.UUID {
		t.Errorf("summary %+v, state %+v: want ad-Sales adopted", res.Summary, e.state().Groups["group:corp/g-sales"])
	}
}

func TestReconcileAfterLostState(t *testing.T) {
	e := newEnv(t)
	e.reconcile(e.worker(e.options()))
	before := e.groups()
	// The state file is lost: every group is now a conflict, nothing is
	// written, and adopt: true takes them back without duplicates.
	e.store = worker.NewFileStore(e.t.TempDir() + "/new.json")
	w := e.worker(e.options())
	e.ld.ResetRequests()
	res := e.reconcile(w)
	if res.Summary.Conflicts != 3 || e.ld.WriteCount() != 0 {
		t.Errorf("after losing state: %+v with %d writes, want 3 conflicts and no write", res.Summary, e.ld.WriteCount())
	}
	opts := e.options()
	opts.Adopt = true
	res = e.reconcile(e.worker(opts))
	if res.Summary.Adopted != 3 || e.ld.WriteCount() != 0 {
		t.Errorf("re-adoption: %+v with %d writes, want 3 adopted without writes", res.Summary, e.ld.WriteCount())
	}
	e.wantGroups(before...)
}

func TestReconcileUnmatchedUserLaterAppears(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	res := e.reconcile(w)
	if res.Summary.Unmatched != 1 {
		t.Fatalf("unmatched %d, want 1", res.Summary.Unmatched)
	}
	e.uuid["zed"] = e.ld.AddUser("zed@example.com", lightdash.RoleViewer).UserUUID
	res = e.reconcile(w)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan,zed")
	if res.Summary.Unmatched != 0 || res.Summary.MembersAdded != 1 {
		t.Errorf("summary %+v, want zed added", res.Summary)
	}
}

func TestReconcileInvitesUnmatchedUsers(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.Unmatched = worker.UnmatchedInvite
	res := e.reconcile(e.worker(opts))
	var zed lightdash.OrgMember
	for _, u := range e.ld.Users() {
		if u.Email == "zed@example.com" {
			zed = u
		}
	}
	if !zed.IsPending || res.Summary.Invited != 1 {
		t.Fatalf("zed %+v, summary %+v: want an invited pending user", zed, res.Summary)
	}
	e.uuid["zed"] = zed.UserUUID
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan,zed")
	// Next run: zed is a pending user, a valid member; nothing to do.
	e.ld.ResetRequests()
	e.reconcile(e.worker(opts))
	if e.ld.WriteCount() != 0 {
		t.Errorf("%d writes after inviting, want 0", e.ld.WriteCount())
	}
}

func TestReconcileInterruptedThenConverges(t *testing.T) {
	e := newEnv(t)
	// No client retries: the worker's own recovery is under test. One write
	// at a time, so the faults hit known groups: the first create (Backend)
	// takes effect but its answer is lost.
	ld := e.client(e.ld.AdminToken(), -1)
	opts := e.options()
	opts.Concurrency = 1
	e.ld.FailNext(lightdashtest.Fault{Method: "POST", Endpoint: "/api/v1/org/groups", Status: 502, After: true})
	res, err := e.workerWith(ld, opts).Reconcile(context.Background())
	if !errors.Is(err, worker.ErrApplyFailed) || len(res.Failures) != 1 || res.Failures[0].Name != "ad-Backend" || res.Summary.Created != 2 {
		t.Fatalf("first run: err %v, result %+v; want the Backend create failed and two created", err, res)
	}
	if len(e.ld.Groups()) != 3 {
		t.Fatalf("Lightdash holds %d groups, want 3 (the failed create took effect)", len(e.ld.Groups()))
	}

	// Second run: Backend is adopted (no write needed); the PATCH of
	// Engineering fails.
	e.dir.SetGroup(sources.DirGroup{ID: "g-eng", DN: "cn=Engineering,ou=groups,dc=corp", Name: "Engineering", MemberUsers: []string{"u-ann", "u-dan"}, MemberGroups: []string{"g-be"}})
	e.ld.FailNext(lightdashtest.Fault{Method: "PATCH", Status: 500})
	res, err = e.workerWith(ld, opts).Reconcile(context.Background())
	if !errors.Is(err, worker.ErrApplyFailed) || res.Summary.Adopted != 1 || res.Failures[0].Name != "ad-Engineering" {
		t.Fatalf("second run: err %v, summary %+v; want Backend adopted and the Engineering PATCH failed", err, res.Summary)
	}

	res, err = e.workerWith(ld, opts).Reconcile(context.Background())
	if err != nil || res.Summary.Failed != 0 {
		t.Fatalf("third run: %v %+v", err, res)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,cat,dan", "ad-Sales: dan")
	e.ld.ResetRequests()
	e.reconcile(e.workerWith(ld, opts))
	if e.ld.WriteCount() != 0 {
		t.Errorf("converged run made %d writes", e.ld.WriteCount())
	}
}

// A group someone makes by hand between the read and the create (the
// create answers 409) is taken over only when adopt allows it.
func TestApplyCreateOfANameTakenSinceTheRead(t *testing.T) {
	for _, tt := range []struct {
		adopt bool
		mode  worker.MembershipMode
	}{{false, ""}, {true, worker.MembershipAuthoritative}, {true, worker.MembershipPreserveManual}} {
		adopt := tt.adopt
		t.Run(fmt.Sprintf("adopt=%v/%s", adopt, tt.mode), func(t *testing.T) {
			e := newEnv(t)
			opts := e.options()
			opts.Adopt, opts.Membership = adopt, tt.mode
			w := e.worker(opts)
			p, err := w.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ld.AddGroup("ad-Sales", e.uuid["eve"]); err != nil {
				t.Fatal(err)
			}
			res, err := w.Apply(context.Background(), p)
			owned := e.state().Groups["group:corp/g-sales"]
			if !adopt {
				if !errors.Is(err, worker.ErrApplyFailed) || len(res.Failures) != 1 || !errors.Is(res.Failures[0].Unwrap(), lightdash.ErrAlreadyExists) {
					t.Fatalf("Apply: %v, want the create failed with a conflict", err)
				}
				if owned != nil {
					t.Errorf("state %+v, want the hand-made group (and no intent) not recorded", owned)
				}
				e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: eve")
				// The next run reports it as a conflict and leaves it alone.
				e.ld.ResetRequests()
				res = e.reconcile(w)
				if len(res.Plan.Conflicts) != 1 || e.ld.WriteCount() != 0 {
					t.Errorf("next run: conflicts %+v, %d writes; want one conflict and no write", res.Plan.Conflicts, e.ld.WriteCount())
				}
				e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: eve")
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v (%+v)", err, res.Failures)
			}
			if owned == nil || owned.UUID != e.groupUUID("ad-Sales") {
				t.Errorf("state %+v, want the adopted group owned", owned)
			}
			// Adopting adds; the next run removes, under the limits and
			// the membership mode (eve was there before: not "added").
			e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan,eve")
			e.reconcile(w)
			if tt.mode == worker.MembershipPreserveManual {
				e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan,eve")
			} else {
				e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan")
			}
		})
	}
}

func TestPreflightRefusesBeforeWriting(t *testing.T) {
	t.Run("groups flag off", func(t *testing.T) {
		e := newEnv(t, lightdashtest.WithGroupsFlag(false))
		_, err := e.worker(e.options()).Reconcile(context.Background())
		if !errors.Is(err, lightdash.ErrFeatureDisabled) {
			t.Errorf("err %v, want ErrFeatureDisabled", err)
		}
		if e.ld.WriteCount() != 0 || len(e.ld.Groups()) != 0 {
			t.Error("wrote to Lightdash")
		}
	})
	t.Run("non-admin token", func(t *testing.T) {
		e := newEnv(t)
		tok := e.ld.AddToken(e.uuid["ann"])
		if tok == "" {
			t.Fatal("no token for ann")
		}
		_, err := e.workerWith(e.client(tok, 0), e.options()).Reconcile(context.Background())
		if !errors.Is(err, worker.ErrNotAdmin) {
			t.Errorf("err %v, want ErrNotAdmin", err)
		}
		if e.ld.WriteCount() != 0 {
			t.Error("wrote to Lightdash")
		}
	})
}

func TestReconcileRecreatesOwnedGroupDeletedOutside(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)
	old := e.groupUUID("ad-Sales")
	if err := e.client(e.ld.AdminToken(), 0).DeleteGroup(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	res := e.reconcile(w)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan")
	if res.Summary.Created != 1 || len(res.Failures) != 0 {
		t.Errorf("result %+v, want ad-Sales recreated", res)
	}
	if got := e.state().Groups["group:corp/g-sales"]; got == nil || got.UUID == old || got.UUID != e.groupUUID("ad-Sales") {
		t.Errorf("state %+v, want the new ad-Sales owned", got)
	}
}

// hidingLightdash leaves the group named hide out of the next groups list,
// as a list that lost an entry would.
type hidingLightdash struct {
	*lightdash.Client
	hide string
}

func (h *hidingLightdash) ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error) {
	gs, err := h.Client.ListGroups(ctx)
	var out []lightdash.GroupWithMembers
	for _, g := range gs {
		if g.Name != h.hide {
			out = append(out, g)
		}
	}
	h.hide = ""
	return out, err
}

// An owned group missing from one list is recreated; the create's 409
// finds the very group owned before, and it stays owned.
func TestReconcileOwnedGroupMissingFromAListStaysOwned(t *testing.T) {
	e := newEnv(t)
	ld := &hidingLightdash{Client: e.client(e.ld.AdminToken(), 3)}
	w := e.workerWith(ld, e.options())
	e.reconcile(w)
	old := e.groupUUID("ad-Sales")
	ld.hide = "ad-Sales"
	res := e.reconcile(w)
	if len(res.Failures) != 0 {
		t.Errorf("failures %+v, want none", res.Failures)
	}
	if got := e.state().Groups["group:corp/g-sales"]; got == nil || got.UUID != old {
		t.Errorf("state %+v, want ad-Sales (%s) still owned", got, old)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan")
}

// An owned group deleted by hand and replaced by a hand-made one between
// the read and the recreate is not taken over, now or by a later run.
func TestReconcileRecreateDoesNotTakeAHandMadeReplacement(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)
	if err := e.client(e.ld.AdminToken(), 0).DeleteGroup(context.Background(), e.groupUUID("ad-Sales")); err != nil {
		t.Fatal(err)
	}
	p, err := w.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ld.AddGroup("ad-Sales", e.uuid["eve"]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Apply(context.Background(), p); !errors.Is(err, worker.ErrApplyFailed) {
		t.Fatalf("Apply: %v, want the recreate failed", err)
	}
	if got := e.state().Groups["group:corp/g-sales"]; got != nil {
		t.Errorf("state %+v, want nothing recorded for the hand-made group", got)
	}
	res := e.reconcile(w)
	if len(res.Plan.Conflicts) != 1 {
		t.Errorf("next run: conflicts %+v, want the name reported", res.Plan.Conflicts)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: eve")
}
