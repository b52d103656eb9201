package worker_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// The fake's endpoints of group access, as its request log names them.
const (
	epListProjects = "GET /api/v1/org/projects"
	epGrants       = "GET /api/v2/projects/{projectUuid}/roles/assignments"
	epSetRole      = "POST /api/v2/projects/{projectUuid}/roles/assignments/group/{groupUuid}"
	epRevokeRole   = "DELETE /api/v2/projects/{projectUuid}/roles/assignments/group/{groupUuid}"
	epListSpaces   = "GET /api/v1/projects/{projectUuid}/spaces"
	epGetSpace     = "GET /api/v1/projects/{projectUuid}/spaces/{spaceUuid}"
	epShare        = "POST /api/v1/projects/{projectUuid}/spaces/{spaceUuid}/group/share"
	epUnshare      = "DELETE /api/v1/projects/{projectUuid}/spaces/{spaceUuid}/group/share/{groupUuid}"
)

// accessEnv is env with two projects, Sales (with a space Pipeline) and Ops.
type accessEnv struct {
	*env
	sales, ops, pipeline string
}

func newAccessEnv(t *testing.T) *accessEnv {
	e := &accessEnv{env: newEnv(t)}
	e.sales = e.ld.AddProject("Sales")
	e.ops = e.ld.AddProject("Ops")
	e.pipeline = e.ld.AddSpace(e.sales, "Pipeline")
	return e
}

// accessOptions: every group under ou=groups gets role on Sales and
// editor on the Pipeline space; Engineering (an override) developer on
// Sales and Ops, and no space.
func (e *accessEnv) accessOptions(role string) worker.Options {
	o := e.options()
	o.Mapping.Rules[0].Projects = []worker.ProjectAccess{{Project: "Sales", Role: role}}
	o.Mapping.Rules[0].Spaces = []worker.SpaceAccess{{Project: "Sales", Space: "Pipeline", Role: "editor"}}
	o.Mapping.Overrides = []worker.Override{{Group: "g-eng", Name: "ad-Engineering",
		Projects: []worker.ProjectAccess{{Project: "Sales", Role: "developer"}, {Project: e.ops, Role: "developer"}}}}
	return o
}

// access renders the fake's grants as "group: project=role" lines.
func (e *accessEnv) access() string {
	names := map[string]string{}
	for _, g := range e.ld.Groups() {
		names[g.UUID] = g.Name
	}
	var out []string
	for g, r := range e.ld.ProjectRoles(e.sales) {
		out = append(out, names[g]+": Sales="+r)
	}
	for g, r := range e.ld.ProjectRoles(e.ops) {
		out = append(out, names[g]+": Ops="+r)
	}
	for g, r := range e.ld.SpaceShares(e.sales, e.pipeline) {
		out = append(out, names[g]+": Pipeline="+r)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func (e *accessEnv) wantAccess(want ...string) {
	e.t.Helper()
	if got := e.access(); got != strings.Join(want, "\n") {
		e.t.Errorf("access\n got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// wantCalls checks the access calls of the last run: the list reads are
// always one projects list, one grants read per project, one spaces list
// and one space read.
func (e *accessEnv) wantCalls(set, revoke, share, unshare int) {
	e.t.Helper()
	got := map[string]int{}
	for _, ep := range []string{epListProjects, epGrants, epListSpaces, epGetSpace, epSetRole, epRevokeRole, epShare, epUnshare} {
		got[ep] = e.ld.RequestCount(ep)
	}
	want := map[string]int{epListProjects: 1, epGrants: 2, epListSpaces: 1, epGetSpace: 1,
		epSetRole: set, epRevokeRole: revoke, epShare: share, epUnshare: unshare}
	for ep, n := range want {
		if got[ep] != n {
			e.t.Errorf("%s: %d calls, want %d", ep, got[ep], n)
		}
	}
	e.ld.ResetRequests()
}

func TestAccessKeptInStep(t *testing.T) {
	e := newAccessEnv(t)
	w := e.worker(e.accessOptions("viewer"))
	res := e.reconcile(w)
	e.wantAccess(
		"ad-Backend: Pipeline=editor", "ad-Backend: Sales=viewer",
		"ad-Engineering: Ops=developer", "ad-Engineering: Sales=developer",
		"ad-Sales: Pipeline=editor", "ad-Sales: Sales=viewer")
	e.wantCalls(4, 0, 2, 0)
	if s := res.Summary; s.AccessGranted != 6 || s.Failed != 0 {
		t.Errorf("summary %+v, want 6 granted", s)
	}

	t.Log("a second run reads and writes nothing")
	if res := e.reconcile(w); res.Summary.AccessGranted+res.Summary.AccessChanged+res.Summary.AccessRevoked != 0 {
		t.Errorf("second run: %+v", res.Summary)
	}
	e.wantCalls(0, 0, 0, 0)

	t.Log("a role change: one call per group")
	w = e.worker(e.accessOptions("editor"))
	e.reconcile(w)
	e.wantAccess(
		"ad-Backend: Pipeline=editor", "ad-Backend: Sales=editor",
		"ad-Engineering: Ops=developer", "ad-Engineering: Sales=developer",
		"ad-Sales: Pipeline=editor", "ad-Sales: Sales=editor")
	e.wantCalls(2, 0, 0, 0)

	t.Log("a rename keeps the grants: they follow the group's uuid")
	e.dir.SetGroup(sources.DirGroup{ID: "g-sales", DN: "cn=Revenue,ou=groups,dc=corp", Name: "Revenue", MemberUsers: []string{"u-dan"}})
	e.reconcile(w)
	e.wantAccess(
		"ad-Backend: Pipeline=editor", "ad-Backend: Sales=editor",
		"ad-Engineering: Ops=developer", "ad-Engineering: Sales=developer",
		"ad-Revenue: Pipeline=editor", "ad-Revenue: Sales=editor")
	e.wantCalls(0, 0, 0, 0)

	t.Log("a deleted group takes its grants along, with no access call")
	e.dir.DeleteGroup("g-be")
	e.reconcile(w)
	e.wantAccess(
		"ad-Engineering: Ops=developer", "ad-Engineering: Sales=developer",
		"ad-Revenue: Pipeline=editor", "ad-Revenue: Sales=editor")
	e.wantCalls(0, 0, 0, 0)

	t.Log("a grant dropped from the mapping is revoked")
	o := e.accessOptions("editor")
	o.Mapping.Rules[0].Spaces = nil
	o.Mapping.Rules[0].Projects = append(o.Mapping.Rules[0].Projects, worker.ProjectAccess{Project: "Ops", Role: "viewer"})
	o.Mapping.Overrides[0].Projects = o.Mapping.Overrides[0].Projects[:1]
	e.reconcile(e.worker(o))
	// Pipeline is no longer named, so it is neither read nor changed.
	e.wantAccess(
		"ad-Engineering: Sales=developer",
		"ad-Revenue: Ops=viewer", "ad-Revenue: Pipeline=editor", "ad-Revenue: Sales=editor")
	for ep, n := range map[string]int{epListSpaces: 0, epGetSpace: 0, epUnshare: 0, epRevokeRole: 1, epSetRole: 1} {
		if got := e.ld.RequestCount(ep); got != n {
			t.Errorf("%s: %d calls, want %d", ep, got, n)
		}
	}
}

func TestAccessManualGrants(t *testing.T) {
	for _, mode := range []worker.AccessMode{worker.AccessAuthoritative, worker.AccessPreserveManual} {
		t.Run(string(mode), func(t *testing.T) {
			e := newAccessEnv(t)
			o := e.accessOptions("viewer")
			o.Access = mode
			o.Mapping.Overrides = append(o.Mapping.Overrides, worker.Override{Group: "g-sales", Name: "ad-Sales",
				Projects: []worker.ProjectAccess{{Project: "Ops", Role: "viewer"}}})
			e.reconcile(e.worker(o))
			backend, eng := e.groupUUID("ad-Backend"), e.groupUUID("ad-Engineering")

			// By hand: Backend gets admin on Sales (the mapping says
			// viewer) and viewer on Ops (the mapping says nothing).
			e.ld.SetProjectRole(e.sales, backend, "admin")
			e.ld.SetProjectRole(e.ops, backend, "viewer")
			// The mapping drops Engineering's Ops grant, which it made.
			o.Mapping.Overrides[0].Projects = o.Mapping.Overrides[0].Projects[:1]
			e.reconcile(e.worker(o))

			if got := e.ld.ProjectRoles(e.sales)[backend]; got != "viewer" {
				t.Errorf("Sales role %q, want the configured viewer", got)
			}
			ops := e.ld.ProjectRoles(e.ops)
			if _, ok := ops[eng]; ok {
				t.Errorf("the Ops grant lightdash-sync made and the mapping dropped was not revoked")
			}
			if _, kept := ops[backend]; kept != (mode == worker.AccessPreserveManual) {
				t.Errorf("the Ops grant made by hand: kept = %v", kept)
			}
		})
	}
}

func TestAccessPoliciesNeverRevoke(t *testing.T) {
	for policy, wantWrites := range map[worker.Policy]int{worker.PolicyUpsertOnly: 4, worker.PolicyCreateOnly: 0} {
		t.Run(string(policy), func(t *testing.T) {
			e := newAccessEnv(t)
			e.reconcile(e.worker(e.accessOptions("viewer")))
			// Sales becomes editor (2 changes), Pipeline gives way to the
			// root space Shared (2 shares; the Pipeline shares stay).
			o := e.accessOptions("editor")
			o.Policy = policy
			o.Mapping.Rules[0].Spaces = []worker.SpaceAccess{{Project: "Sales", Space: "Shared", Role: "viewer"}}
			e.ld.ResetRequests()
			e.reconcile(e.worker(o))
			if n := e.ld.RequestCount(epRevokeRole) + e.ld.RequestCount(epUnshare); n != 0 {
				t.Errorf("%d revokes", n)
			}
			if n := e.ld.RequestCount(epSetRole) + e.ld.RequestCount(epShare); n != wantWrites {
				t.Errorf("%d grants, want %d", n, wantWrites)
			}
			if n := len(e.ld.SpaceShares(e.sales, e.pipeline)); n != 2 {
				t.Errorf("%d Pipeline shares left, want 2", n)
			}
		})
	}
}

func TestAccessNotReadOnEvents(t *testing.T) {
	e := newAccessEnv(t)
	w := e.worker(e.accessOptions("viewer"))
	e.reconcile(w)
	e.ld.ResetRequests()
	e.dir.SetGroup(sources.DirGroup{ID: "g-be", DN: "cn=Backend,ou=groups,dc=corp", Name: "Backend", MemberUsers: []string{"u-cat", "u-dan"}})
	if _, err := w.ReconcileGroups(context.Background(), "corp", []string{"g-be"}); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []string{epListProjects, epGrants, epListSpaces, epGetSpace, epSetRole, epShare} {
		if n := e.ld.RequestCount(ep); n != 0 {
			t.Errorf("event: %d calls to %s", n, ep)
		}
	}
	if e.ld.RequestCount("PATCH /api/v1/groups/{groupUuid}") != 1 {
		t.Errorf("the membership change was not written: %+v", e.ld.Requests())
	}
}

func TestAccessRevokesHeldBack(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *accessEnv, o *worker.Options)
		reason string
	}{
		{"incomplete read", func(e *accessEnv, _ *worker.Options) { e.dir.SetIncomplete("a server was down") }, "directory read incomplete"},
		{"safety limits", func(_ *accessEnv, o *worker.Options) { o.Limits = worker.Limits{MaxMemberRemovals: 1} }, "exceed maxRemovedMembers 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newAccessEnv(t)
			e.reconcile(e.worker(e.accessOptions("viewer")))
			o := e.accessOptions("editor")
			o.Mapping.Rules[0].Spaces = []worker.SpaceAccess{{Project: "Sales", Space: "Shared", Role: "viewer"}}
			o.Mapping.Rules[0].Projects = append(o.Mapping.Rules[0].Projects, worker.ProjectAccess{Project: "Ops", Role: "viewer"})
			// The Pipeline space stays named (by the override) so its
			// two shares are managed and due to be revoked.
			o.Mapping.Overrides[0].Spaces = []worker.SpaceAccess{{Project: "Sales", Space: "Pipeline", Role: "viewer"}}
			tc.change(e, &o)
			e.ld.ResetRequests()
			res := e.reconcile(e.worker(o))
			if n := e.ld.RequestCount(epUnshare); n != 0 {
				t.Errorf("%d unshares", n)
			}
			if n := len(e.ld.SpaceShares(e.sales, e.pipeline)); n != 3 {
				t.Errorf("%d Pipeline shares, want 3 (2 kept, 1 new)", n)
			}
			held := 0
			for _, h := range res.Plan.HeldBack {
				if h.Kind == "revoke-access" && strings.Contains(h.Reason, tc.reason) {
					held++
				}
			}
			if held != 2 || res.Summary.AccessGranted == 0 {
				t.Errorf("held back %d revokes (want 2), granted %d (want some): %+v", held, res.Summary.AccessGranted, res.Plan.HeldBack)
			}
		})
	}
}

// TestAccessWarmRunReadsOncePerProject: many groups granted on several
// projects; a run with nothing to change makes the users and groups
// reads, the projects list and one grants read per project, and nothing else.
func TestAccessWarmRunReadsOncePerProject(t *testing.T) {
	const groups, projects = 60, 5
	e := newAccessEnv(t)
	var gs []sources.DirGroup
	for i := range groups {
		gs = append(gs, sources.DirGroup{ID: fmt.Sprintf("g-%02d", i), DN: fmt.Sprintf("cn=team%02d,ou=groups,dc=corp", i),
			Name: fmt.Sprintf("team%02d", i), MemberUsers: []string{"u-ann"}})
	}
	e.dir.Replace(gs, []sources.DirUser{{ID: "u-ann", Email: "ann@example.com"}})
	o := e.options()
	for i := range projects {
		name := fmt.Sprintf("P%d", i)
		e.ld.AddProject(name)
		o.Mapping.Rules[0].Projects = append(o.Mapping.Rules[0].Projects, worker.ProjectAccess{Project: name, Role: "viewer"})
	}
	w := e.worker(o)
	if res := e.reconcile(w); res.Summary.AccessGranted != groups*projects {
		t.Fatalf("first run granted %d, want %d", res.Summary.AccessGranted, groups*projects)
	}
	e.ld.ResetRequests()
	res := e.reconcile(w)
	reads := map[string]int{"GET /api/v1/org/users": 1, "GET /api/v1/org/groups": 1, epListProjects: 1, epGrants: projects}
	total := 0
	for ep, n := range reads {
		if got := e.ld.RequestCount(ep); got != n {
			t.Errorf("%s: %d calls, want %d", ep, got, n)
		}
		total += n
	}
	if got := len(e.ld.Requests()); got != total || res.Summary.APICalls != int64(total) {
		t.Errorf("warm run: %d requests (%d counted), want %d: %+v", got, res.Summary.APICalls, total, e.ld.Requests())
	}
}

func TestAccessSavedPlanRefusedWhenGrantsChanged(t *testing.T) {
	e := newAccessEnv(t)
	w := e.worker(e.accessOptions("viewer"))
	e.reconcile(w)
	w = e.worker(e.accessOptions("editor"))
	p, err := w.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Access) != 2 {
		t.Fatalf("plan has %d access changes, want 2", len(p.Access))
	}
	e.ld.SetProjectRole(e.sales, e.groupUUID("ad-Backend"), "admin") // by hand, after the plan
	if _, err := w.ApplySaved(context.Background(), p); !errors.Is(err, worker.ErrPlanStale) {
		t.Errorf("ApplySaved after a grant changed: got %v, want ErrPlanStale", err)
	}
}

// listsThenSpaces is the real client, noting whether a space was read
// while a Lightdash list was in flight. Each list waits (up to a second)
// for a space read to start, so a worker reading both at once is caught.
type listsThenSpaces struct {
	*lightdash.Client
	lists     atomic.Int32
	spaceRead chan struct{}
	once      sync.Once
	overlap   atomic.Bool
}

func (l *listsThenSpaces) list() func() {
	l.lists.Add(1)
	select {
	case <-l.spaceRead:
	case <-time.After(time.Second):
	}
	return func() { l.lists.Add(-1) }
}

func (l *listsThenSpaces) ListUsers(ctx context.Context) ([]lightdash.OrgMember, error) {
	defer l.list()()
	return l.Client.ListUsers(ctx)
}

func (l *listsThenSpaces) ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error) {
	defer l.list()()
	return l.Client.ListGroups(ctx)
}

func (l *listsThenSpaces) SpaceGroupShares(ctx context.Context, p, s string) ([]lightdash.SpaceShare, error) {
	if l.lists.Load() > 0 {
		l.overlap.Store(true)
	}
	l.once.Do(func() { close(l.spaceRead) })
	return l.Client.SpaceGroupShares(ctx, p, s)
}

// TestSpacesAreReadAfterTheLists: a space's read costs the server in
// proportion to its users, so a full run reads spaces only once the users
// and groups lists are in, never beside them.
func TestSpacesAreReadAfterTheLists(t *testing.T) {
	e := newAccessEnv(t)
	ld := &listsThenSpaces{Client: e.client(e.ld.AdminToken(), 3), spaceRead: make(chan struct{})}
	w := e.workerWith(ld, e.accessOptions("viewer"))
	e.reconcile(w)
	if ld.overlap.Load() {
		t.Error("a space was read while a Lightdash list was in flight")
	}
	if n := e.ld.RequestCount(epGetSpace); n != 1 {
		t.Errorf("the space was read %d times, want 1", n)
	}
}

// A membership change keeps the grants recorded for the group: in
// preserve-manual mode they are the only ones ever revoked, so a grant the
// worker made and then forgot would stay once the mapping dropped it.
func TestAccessRecordSurvivesAMembershipChange(t *testing.T) {
	e := newAccessEnv(t)
	o := e.accessOptions("viewer")
	o.Access = worker.AccessPreserveManual
	// Sales keeps Ops named, so Ops is read when Engineering's grant goes.
	o.Mapping.Overrides = append(o.Mapping.Overrides, worker.Override{Group: "g-sales", Name: "ad-Sales",
		Projects: []worker.ProjectAccess{{Project: "Ops", Role: "viewer"}}})
	e.reconcile(e.worker(o))
	eng := e.groupUUID("ad-Engineering")
	if g := e.state().Groups["group:corp/g-eng"]; g == nil || len(g.Granted) != 2 {
		t.Fatalf("state after the first run: %+v, want 2 grants recorded", g)
	}

	// dan joins Engineering: an update of its members, through an event
	// and through a full run.
	e.setMembers("g-eng", "Engineering", "u-ann", "u-bob", "u-dan")
	e.reconcileGroups(e.worker(o), "g-eng")
	if g := e.state().Groups["group:corp/g-eng"]; g == nil || len(g.Granted) != 2 {
		t.Fatalf("state after the event: %+v, want the 2 grants still recorded", g)
	}
	e.setMembers("g-eng", "Engineering", "u-ann", "u-bob")
	e.reconcile(e.worker(o))
	if g := e.state().Groups["group:corp/g-eng"]; g == nil || len(g.Granted) != 2 {
		t.Fatalf("state after the member change: %+v, want the 2 grants still recorded", g)
	}

	// The mapping drops Engineering's Ops grant, which the worker made.
	o.Mapping.Overrides[0].Projects = o.Mapping.Overrides[0].Projects[:1]
	e.reconcile(e.worker(o))
	if _, ok := e.ld.ProjectRoles(e.ops)[eng]; ok {
		t.Errorf("the Ops grant lightdash-sync made was kept as if made by hand")
	}
}
