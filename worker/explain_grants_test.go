package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// grants renders x's grants as "group kind target role now/should state".
func grants(x *worker.Explanation) string {
	var out []string
	for _, g := range x.Grants {
		role := g.Role
		if g.Had != "" {
			role = g.Had + "->" + g.Role
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %v/%v %s", g.Group, g.Kind, g.Target, role, g.Now, g.Should, g.State))
	}
	return strings.Join(out, "; ")
}

func wantGrants(t *testing.T, x *worker.Explanation, want ...string) {
	t.Helper()
	if got := grants(x); got != strings.Join(want, "; ") {
		t.Errorf("grants\n got: %s\nwant: %s\n%+v", got, strings.Join(want, "; "), x.Grants)
	}
}

// pendingKinds lists the kinds of x's pending items.
func pendingKinds(x *worker.Explanation) string {
	var out []string
	for _, p := range x.Pending {
		out = append(out, p.Kind)
	}
	return strings.Join(out, " ")
}

func TestExplainGrantsThroughGroup(t *testing.T) {
	e := newAccessEnv(t)
	w := e.worker(e.accessOptions("editor"))
	x := e.explain(w, "dan@example.com")
	wantGrants(t, x, "ad-Sales project Sales editor false/true grant", "ad-Sales space Sales / Pipeline editor false/true grant")
	if got := pendingKinds(x); got != "add access-grant access-grant" {
		t.Errorf("pending %q: %+v", got, x.Pending)
	}
	e.reconcile(w)
	x = e.explain(w, "dan@example.com")
	wantGrants(t, x, "ad-Sales project Sales editor true/true ok", "ad-Sales space Sales / Pipeline editor true/true ok")
	if g := x.Grants[0]; g.UUID != e.sales || g.Reason != `editor on Sales through "ad-Sales", as the mapping wants` {
		t.Errorf("grant %+v, want Sales's uuid and editor on Sales through ad-Sales", g)
	}
	if len(x.Pending) != 0 || x.Freshness.Access.IsZero() {
		t.Errorf("pending %+v (want none), freshness %+v", x.Pending, x.Freshness)
	}
	// cat is in ad-Engineering through Backend: its override's grants too.
	x = e.explain(w, "cat@example.com")
	wantGrants(t, x, "ad-Backend project Sales editor true/true ok", "ad-Backend space Sales / Pipeline editor true/true ok",
		"ad-Engineering project Sales developer true/true ok", "ad-Engineering project Ops developer true/true ok")
	// dan leaves Sales in the directory: he keeps its grants until the next run removes him.
	e.dir.SetGroup(sources.DirGroup{ID: "g-sales", DN: "cn=Sales,ou=groups,dc=corp", Name: "Sales", MemberUsers: []string{"u-eve"}})
	x = e.explain(w, "dan@example.com")
	wantGrants(t, x, "ad-Sales project Sales editor true/false leaving", "ad-Sales space Sales / Pipeline editor true/false leaving")
}

func TestExplainGrantsPending(t *testing.T) {
	tests := []struct {
		name     string
		limits   worker.Limits
		pipeline string
		pending  string
	}{
		{"planned", worker.Limits{}, "editor true/false revoke", "access-change access-revoke"},
		// Two revokes (ad-Sales's and ad-Backend's shares) over a limit of one.
		{"held back by a safety limit", worker.Limits{MaxMemberRemovals: 1}, "editor true/false held-back", "blocked access-change access-held-back"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newAccessEnv(t)
			e.reconcile(e.worker(e.accessOptions("viewer")))
			o := e.accessOptions("editor")
			o.Mapping.Rules[0].Spaces = nil
			// Pipeline stays named (by the override), so ad-Sales's share is managed.
			o.Mapping.Overrides[0].Spaces = []worker.SpaceAccess{{Project: "Sales", Space: "Pipeline", Role: "viewer"}}
			o.Limits = tc.limits
			x := e.explain(e.worker(o), "dan@example.com")
			wantGrants(t, x, "ad-Sales project Sales viewer->editor true/true change", "ad-Sales space Sales / Pipeline "+tc.pipeline)
			if g := x.Grants[1]; tc.limits.MaxMemberRemovals > 0 && !strings.Contains(g.Reason, "exceed maxRemovedMembers 1") {
				t.Errorf("held-back grant %+v, want the safety limit as the reason", g)
			}
			if got := pendingKinds(x); got != tc.pending {
				t.Errorf("pending %q, want %q: %+v", got, tc.pending, x.Pending)
			}
		})
	}
}

func TestExplainGrantsRoleRegexUnresolved(t *testing.T) {
	e := newAccessEnv(t)
	o := e.options()
	o.Mapping.Rules[0].RoleRegex = `-(Viewer|Editor)$`
	o.Mapping.Rules[0].Projects = []worker.ProjectAccess{{Project: "Sales"}}
	x := e.explain(e.worker(o), "dan@example.com")
	wantGrants(t, x, "ad-Sales project   false/false unresolved")
	if len(x.Grants) != 1 || !strings.Contains(x.Grants[0].Reason, "does not match the group's name") {
		t.Errorf("grants %+v, want why role_regex did not resolve", x.Grants)
	}
	if got := pendingKinds(x); got != "add access-unresolved" {
		t.Errorf("pending %q: %+v", got, x.Pending)
	}
}

func TestExplainLastShowsGrants(t *testing.T) {
	e := newAccessEnv(t)
	o := e.accessOptions("editor")
	o.KeepLastRead = true
	w := e.worker(o)
	e.reconcile(w)
	x, err := w.ExplainLast(context.Background(), "dan@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wantGrants(t, x, "ad-Sales project Sales editor true/true ok", "ad-Sales space Sales / Pipeline editor true/true ok")
}

func TestExplainGrantsMadeByHand(t *testing.T) {
	tests := []struct {
		mode worker.AccessMode
		want string
	}{
		{worker.AccessAuthoritative, "ad-Sales project Ops viewer true/false revoke"},
		{worker.AccessPreserveManual, "ad-Sales project Ops viewer true/false kept"},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := newAccessEnv(t)
			o := e.accessOptions("viewer")
			o.Access = tc.mode
			e.reconcile(e.worker(o))
			e.ld.SetProjectRole(e.ops, e.groupUUID("ad-Sales"), "viewer") // Ops is named by the Engineering override
			x := e.explain(e.worker(o), "dan@example.com")
			wantGrants(t, x, "ad-Sales project Sales viewer true/true ok", "ad-Sales space Sales / Pipeline editor true/true ok", tc.want)
		})
	}
}
