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

// BenchmarkReconcileGroupsEvent handles one membership change of one group
// among 500 (5,000 users) after a full run, as the daemon does for each
// event. lightdash-calls/op is the figure that matters (each call costs
// the Lightdash server a bcrypt check): it should be 1, the write.
func BenchmarkReconcileGroupsEvent(b *testing.B) { benchmarkEvent(b, 5000, 500) }

// BenchmarkReconcileGroupsEventScale is one event at the issue-9 size of
// Lightdash (100,000 users, 10,000 groups): what an event costs beyond its
// own group grows with the view, and should not.
func BenchmarkReconcileGroupsEventScale(b *testing.B) { benchmarkEvent(b, 100000, 10000) }

func benchmarkEvent(b *testing.B, nUsers, nGroups int) {
	ld := lightdashtest.NewServer(lightdashtest.WithSeed(1))
	defer ld.Close()
	dir := memory.New("corp")
	var users []sources.DirUser
	for i := range nUsers {
		email := fmt.Sprintf("user%d@example.com", i)
		ld.AddUser(email, lightdash.RoleViewer)
		users = append(users, sources.DirUser{ID: fmt.Sprint("u", i), Email: email})
	}
	group := func(g, extra int) sources.DirGroup {
		dg := sources.DirGroup{ID: fmt.Sprint("g", g), Name: fmt.Sprint("Group ", g)}
		for m := range 10 {
			dg.MemberUsers = append(dg.MemberUsers, fmt.Sprint("u", (g*10+m)%nUsers))
		}
		dg.MemberUsers = append(dg.MemberUsers, fmt.Sprint("u", extra))
		return dg
	}
	var groups []sources.DirGroup
	for g := range nGroups {
		groups = append(groups, group(g, g))
	}
	dir.Replace(groups, users)
	client := &lightdash.Client{BaseURL: ld.URL(), Token: ld.AdminToken(), HTTPClient: ld.Client()}
	if err := client.Validate(); err != nil {
		b.Fatal(err)
	}
	w, err := worker.New([]sources.Source{dir}, client, &worker.MemoryStore{}, worker.Options{
		Mapping: worker.Mapping{Rules: []worker.Rule{{Prefix: "ad-"}}},
	}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := w.Reconcile(ctx); err != nil {
		b.Fatal(err)
	}
	var calls int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		g := i % nGroups
		dir.SetGroup(group(g, (g+i+1)%nUsers))
		res, err := w.ReconcileGroups(ctx, "corp", []string{fmt.Sprint("g", g)})
		if err != nil {
			b.Fatal(err)
		}
		calls += res.Summary.APICalls
	}
	b.ReportMetric(float64(calls)/float64(b.N), "lightdash-calls/op")
}
