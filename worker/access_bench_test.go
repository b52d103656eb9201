package worker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// BenchmarkReconcileWarmAccessScale is a warm full reconciliation of
// 10,000 groups (of 5 among 10,000 users) each granted a role on 20
// projects: 200,000 grants, through the real client and the fake over
// HTTP, a new worker per run. lightdash-calls/op must be 23: the users and
// groups lists, the projects list and one grants read per project.
func BenchmarkReconcileWarmAccessScale(b *testing.B) {
	const nUsers, nGroups, perGroup, nProjects = 10000, 10000, 5, 20
	ld := lightdashtest.NewServer(lightdashtest.WithSeed(1))
	defer ld.Close()
	dir := memory.New("corp")
	users := make([]sources.DirUser, 0, nUsers)
	for i := range nUsers {
		email := fmt.Sprintf("user%d@example.com", i)
		ld.AddUser(email, lightdash.RoleViewer)
		users = append(users, sources.DirUser{ID: fmt.Sprint("u", i), Email: email})
	}
	groups := make([]sources.DirGroup, 0, nGroups)
	for g := range nGroups {
		dg := sources.DirGroup{ID: fmt.Sprint("g", g), Name: fmt.Sprint("Group ", g)}
		for m := range perGroup {
			dg.MemberUsers = append(dg.MemberUsers, fmt.Sprint("u", (g*perGroup+m)%nUsers))
		}
		groups = append(groups, dg)
	}
	dir.Replace(groups, users)
	rule := worker.Rule{Prefix: "ad-"}
	var projects []string
	for p := range nProjects {
		name := fmt.Sprint("Project ", p)
		projects = append(projects, ld.AddProject(name))
		rule.Projects = append(rule.Projects, worker.ProjectAccess{Project: name, Role: "viewer"})
	}
	client := &lightdash.Client{BaseURL: ld.URL(), Token: ld.AdminToken(), HTTPClient: ld.Client()}
	if err := client.Validate(); err != nil {
		b.Fatal(err)
	}
	store := &worker.MemoryStore{}
	newWorker := func(r worker.Rule) *worker.Worker {
		w, err := worker.New([]sources.Source{dir}, client, store, worker.Options{
			Mapping: worker.Mapping{Rules: []worker.Rule{r}}, Concurrency: 8}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		return w
	}
	ctx := context.Background()
	// Create the groups, then grant in the fake directly: 200,000 grant
	// calls would measure the setup, not the warm run.
	if _, err := newWorker(worker.Rule{Prefix: "ad-"}).Reconcile(ctx); err != nil {
		b.Fatal(err)
	}
	for _, g := range ld.Groups() {
		for _, p := range projects {
			ld.SetProjectRole(p, g.UUID, "viewer")
		}
	}
	var calls int64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := newWorker(rule).Reconcile(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if s := res.Summary; s.Created+s.Updated+s.AccessGranted+s.AccessChanged+s.AccessRevoked != 0 {
			b.Fatalf("warm run wrote: %+v", s)
		}
		calls += res.Summary.APICalls
	}
	b.ReportMetric(float64(calls)/float64(b.N), "lightdash-calls/op")
}
