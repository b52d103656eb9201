package worker_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// BenchmarkReconcileWarmScale is a warm full reconciliation (nothing
// changed) at the issue-9 size, 100,000 users in 10,000 groups of 50,
// through the real client and the fake Lightdash over HTTP, with a new
// worker per run as a one-shot `reconcile` has. lightdash-calls/op must be
// 2; heap-MB is the live heap right after the run, before collection:
// an indication of what a run holds, not the process's peak RSS.
func BenchmarkReconcileWarmScale(b *testing.B) {
	const nUsers, nGroups, perGroup = 100000, 10000, 50
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
	client := &lightdash.Client{BaseURL: ld.URL(), Token: ld.AdminToken(), HTTPClient: ld.Client()}
	if err := client.Validate(); err != nil {
		b.Fatal(err)
	}
	store := &worker.MemoryStore{}
	newWorker := func() *worker.Worker {
		w, err := worker.New([]sources.Source{dir}, client, store, worker.Options{
			Mapping: worker.Mapping{Rules: []worker.Rule{{Prefix: "ad-"}}}, Concurrency: 8,
		}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		return w
	}
	ctx := context.Background()
	if _, err := newWorker().Reconcile(ctx); err != nil {
		b.Fatal(err)
	}
	var calls int64
	var heap uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := newWorker().Reconcile(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary.Created+res.Summary.Updated != 0 {
			b.Fatalf("warm run wrote: %+v", res.Summary)
		}
		calls += res.Summary.APICalls
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap += ms.HeapAlloc
	}
	b.ReportMetric(float64(calls)/float64(b.N), "lightdash-calls/op")
	b.ReportMetric(float64(heap)/float64(b.N)/1e6, "heap-MB")
}
