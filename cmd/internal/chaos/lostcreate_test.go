package chaos

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// TestEventCreateAfterLostAnswerIsNotOrphaned reproduces a bug a short
// chaos run found (seed 7678838521401244650: a group created during the
// run, ldap-team-038, ended with 1 member of 4, after two failed creates
// and two "conflict" warnings); fixed in 04b1072, it guards the fix.
//
// An event's create is carried out by Lightdash but answered with a 500
// (the fake's "500 after handling"). The client does not retry a 500 on a
// write, and the worker keeps its create intent. The event is retried:
// its plan uses the cached view, which lacks the new group, so it creates
// again and Lightdash answers 409. In worker/apply.go create(), a 409 on a
// partial (event) run falls to the default case, "refused outright:
// nothing was created, drop the intent", and deletes the intent. From then
// on the group exists, unowned: every run reports a conflict and never
// updates it, so its members stay frozen.
// The fix: on a 409 in an event run, do not drop a Creating intent whose
// name matches; leave it for the full run (which adopts a Creating group
// of the same name), or refresh the view and adopt as a full run does.
func TestEventCreateAfterLostAnswerIsNotOrphaned(t *testing.T) {
	ld := lightdashtest.NewServer()
	defer ld.Close()
	ld.AddUser("ada@example.com", lightdash.RoleViewer)
	ld.AddUser("bob@example.com", lightdash.RoleViewer)

	dir := memory.New("corp")
	dir.SetUser(sources.DirUser{ID: "u1", Email: "ada@example.com"})
	dir.SetUser(sources.DirUser{ID: "u2", Email: "bob@example.com"})
	dir.SetGroup(sources.DirGroup{ID: "g0", Name: "other", MemberUsers: []string{"u2"}})

	client, err := lightdash.New(ld.URL(), ld.AdminToken())
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New([]sources.Source{dir}, client, worker.NewFileStore(filepath.Join(t.TempDir(), "state.json")),
		worker.Options{Mapping: worker.Mapping{Rules: []worker.Rule{{Name: "all"}}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.Reconcile(ctx); err != nil { // warms the cached view
		t.Fatal(err)
	}

	// A new group arrives by event; its create takes effect but answers 500.
	dir.SetGroup(sources.DirGroup{ID: "g1", Name: "team", MemberUsers: []string{"u1"}})
	ld.FailNext(lightdashtest.Fault{Method: "POST", Endpoint: "/api/v1/org/groups", Status: 500, After: true})
	_, _ = w.ReconcileGroups(ctx, "corp", []string{"g1"})
	_, _ = w.ReconcileGroups(ctx, "corp", []string{"g1"}) // the event's retry

	// The directory moves on; full reconciliations must follow it.
	dir.SetGroup(sources.DirGroup{ID: "g1", Name: "team", MemberUsers: []string{"u1", "u2"}})
	var res *worker.Result
	for range 2 {
		if res, err = w.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range ld.Groups() {
		if g.Name == "team" && len(g.MemberUUIDs) != 2 {
			t.Errorf("group team has %d members, want 2 (ada and bob); conflicts in the last full run: %+v", len(g.MemberUUIDs), res.Plan.Conflicts)
			for _, r := range ld.Requests() {
				if r.IsWrite() {
					t.Logf("  %s %s → %d %s", r.Method, r.Endpoint, r.Status, r.Fault)
				}
			}
		}
	}
}
