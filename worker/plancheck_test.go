package worker

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

func sortedCopy(l []string) []string {
	if l == nil {
		return nil
	}
	out := append([]string(nil), l...)
	sort.Strings(out)
	return out
}

// checkWellFormed asserts what Lightdash needs to never answer 400/409/500:
// valid unique names, no duplicate member uuids, every member a known user,
// every update carrying its reason.
func checkWellFormed(t *testing.T, p *Plan, groups []lightdash.GroupWithMembers) {
	t.Helper()
	known := map[string]bool{}
	for _, u := range ldUsers() {
		known[u.UserUUID] = true
	}
	for _, g := range groups {
		for _, m := range g.MemberUUIDs {
			known[m] = true
		}
	}
	names := map[string]bool{}
	checkMembers := func(what string, ms []string) {
		seen := map[string]bool{}
		for _, m := range ms {
			if seen[m] || !known[m] {
				t.Errorf("%s: member %q duplicated or unknown", what, m)
			}
			seen[m] = true
		}
	}
	for _, c := range p.Creates {
		if invalidName(c.Name) != "" || names[c.Name] || c.Reason == "" {
			t.Errorf("create %q: bad or duplicate name, or no reason", c.Name)
		}
		names[c.Name] = true
		checkMembers("create "+c.Name, c.Members)
	}
	for _, u := range p.Updates {
		if u.NewName != "" {
			if invalidName(u.NewName) != "" || names[u.NewName] {
				t.Errorf("rename to %q: bad or duplicate name", u.NewName)
			}
			names[u.NewName] = true
		}
		if u.Reason == "" {
			t.Errorf("update %s has no reason", u.Key)
		}
		checkMembers("update "+u.Name, u.Members)
		if (len(u.Add) > 0 || len(u.Remove) > 0) && u.Members == nil {
			t.Errorf("update %s changes members but sends no member list", u.Key)
		}
	}
}

func TestComputePlanUpdateMembersIsFullList(t *testing.T) {
	d := &Desired{Complete: true, Groups: []DesiredGroup{dg("g1", "Eng", "ann", "cat")}}
	p := ComputePlan(d, Current{Users: ldUsers(), Groups: []lightdash.GroupWithMembers{lg("G1", "Eng", "bob", "ann", "dan")}},
		st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "bob")}), PlanOptions{Membership: MembershipPreserveManual}, t0)
	if len(p.Updates) != 1 {
		t.Fatalf("updates %+v, want 1", p.Updates)
	}
	u := p.Updates[0]
	if want := []string{"ann", "cat", "dan"}; !reflect.DeepEqual(u.Members, want) {
		t.Errorf("members %v, want %v (current minus removed plus added, sorted)", u.Members, want)
	}
	if want := []string{"cat"}; !reflect.DeepEqual(u.Added, want) {
		t.Errorf("added %v, want %v (bob removed, cat added)", u.Added, want)
	}
}

func TestComputePlanBlockedReason(t *testing.T) {
	p := ComputePlan(&Desired{Complete: true}, Current{Groups: []lightdash.GroupWithMembers{lg("G1", "A"), lg("G2", "B")}},
		st(map[string]*OwnedGroup{"g1": owned("G1", "A"), "g2": owned("G2", "B")}),
		PlanOptions{Limits: Limits{MaxGroupDeletes: 1, MaxGroupDeletesPercent: 50}}, t0)
	for _, w := range []string{"2 group deletions exceed maxDeletedGroups 1", "2 of 2 owned groups (100%) exceed maxDeletedGroupsPercent 50", "additions still apply"} {
		if !strings.Contains(p.BlockedReason, w) {
			t.Errorf("blocked reason %q does not contain %q", p.BlockedReason, w)
		}
	}
}

func TestPlanOptionsValidate(t *testing.T) {
	tests := []struct {
		opts PlanOptions
		want string
	}{
		{PlanOptions{}, ""},
		{PlanOptions{Policy: PolicyCreateOnly, Membership: MembershipPreserveManual, Unmatched: UnmatchedInvite, Limits: DefaultLimits()}, ""},
		{PlanOptions{Policy: "delete-all"}, `policy: "delete-all" is not a policy`},
		{PlanOptions{Membership: "loose"}, `membership: "loose" is not a membership mode`},
		{PlanOptions{Unmatched: "create"}, `unmatched: "create" is not a policy`},
		{PlanOptions{Limits: Limits{MaxGroupDeletes: -1}}, "must not be negative"},
		{PlanOptions{Limits: Limits{MaxMemberRemovalsPercent: 101}}, "between 0 and 100"},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.opts, err, tt.want)
		}
	}
}
