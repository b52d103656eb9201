package worker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// TestColdRunSavesStateAFewTimes: creating many groups saves the state a
// handful of times (the intents before the first create, then at most
// once a second, then at the end), not once or twice per group: a
// whole-state save per write made cold runs quadratic. The state saved
// last still records every group.
func TestColdRunSavesStateAFewTimes(t *testing.T) {
	e := newEnv(t)
	const n = 60
	var groups []sources.DirGroup
	for i := 0; i < n; i++ {
		groups = append(groups, sources.DirGroup{ID: fmt.Sprintf("g%d", i), DN: fmt.Sprintf("cn=team%d,ou=groups,dc=corp", i), Name: fmt.Sprintf("team%d", i), MemberUsers: []string{"u-ann"}})
	}
	e.dir.Replace(groups, []sources.DirUser{{ID: "u-ann", Email: "ann@example.com"}})
	store := &worker.MemoryStore{}
	w, err := worker.New([]sources.Source{e.dir}, e.client(e.ld.AdminToken(), 3), store, e.options(), nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Reconcile(context.Background())
	if err != nil || res.Summary.Created != n {
		t.Fatalf("Reconcile = %+v, %v; want %d created", res, err, n)
	}
	if got := store.Saves(); got > 4 {
		t.Errorf("creating %d groups saved the state %d times, want a handful", n, got)
	}
	st, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	owned := 0
	for _, o := range st.Groups {
		if !o.Creating() {
			owned++
		}
	}
	if owned != n {
		t.Errorf("the saved state owns %d confirmed groups, want %d", owned, n)
	}
	// And a second run has nothing to do.
	res, err = w.Reconcile(context.Background())
	if err != nil || res.Summary.Created+res.Summary.Updated != 0 {
		t.Errorf("second run = %+v, %v; want no writes", res.Summary, err)
	}
}

// TestEventSavesOnlyWhatChanged: adding a member in authoritative mode
// leaves the ownership state as it was, so the event saves nothing (a
// whole-state save per event cost more than the event at 10,000 groups);
// in preserve-manual mode the added member is recorded, and saved.
func TestEventSavesOnlyWhatChanged(t *testing.T) {
	for _, tc := range []struct {
		mode      worker.MembershipMode
		wantSaves int
	}{
		{worker.MembershipAuthoritative, 0},
		{worker.MembershipPreserveManual, 1},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := newEnv(t)
			store := &worker.MemoryStore{}
			opts := e.options()
			opts.Membership = tc.mode
			w, err := worker.New([]sources.Source{e.dir}, e.client(e.ld.AdminToken(), 3), store, opts, nil, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := w.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			saved := store.Saves()
			e.dir.SetGroup(sources.DirGroup{ID: "g-be", DN: "cn=Backend,ou=groups,dc=corp", Name: "Backend", MemberUsers: []string{"u-cat", "u-dan"}})
			res, err := w.ReconcileGroups(ctx, "corp", []string{"g-be"})
			if err != nil || res.Summary.Updated != 1 {
				t.Fatalf("ReconcileGroups = %+v, %v; want one update", res, err)
			}
			if got := store.Saves() - saved; got != tc.wantSaves {
				t.Errorf("the event saved the state %d times, want %d", got, tc.wantSaves)
			}
			st, err := store.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			o := st.Groups["group:corp/g-be"]
			want := 0
			if tc.mode == worker.MembershipPreserveManual {
				want = 2 // cat, added by the full run, and dan
			}
			if o == nil || o.UUID == "" || len(o.AddedMembers) != want {
				t.Errorf("saved state of Backend %+v, want owned with %d added members", o, want)
			}
		})
	}
}
