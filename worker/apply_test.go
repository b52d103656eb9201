package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func TestApplySamePlanTwiceWritesOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	w := e.worker(e.options())
	p, err := w.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	e.ld.ResetRequests()
	res, err := w.Apply(ctx, p)
	if !errors.Is(err, worker.ErrApplyFailed) || len(res.Failures) != 3 {
		t.Fatalf("second Apply of the same plan: %v %+v, want 3 refused creates", err, res)
	}
	if !strings.Contains(res.Failures[0].Error, "ownership changed") {
		t.Errorf("failure %q, want the ownership re-check", res.Failures[0].Error)
	}
	if e.ld.WriteCount() != 0 || len(e.ld.Groups()) != 3 {
		t.Errorf("%d writes and %d groups, want 0 and 3", e.ld.WriteCount(), len(e.ld.Groups()))
	}
}

func TestReconcileTargetUnion(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.Mapping = worker.Mapping{Rules: []worker.Rule{{Include: []string{"Backend", "Sales"}, Target: "Backend and Sales"}}}
	e.reconcile(e.worker(opts))
	e.wantGroups("Backend and Sales: cat,dan")
	// One contributor gone: the union shrinks, the group stays.
	e.dir.DeleteGroup("g-sales")
	e.reconcile(e.worker(opts))
	e.wantGroups("Backend and Sales: cat")
}

func TestReconcilePreserveManualMembers(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.Membership = worker.MembershipPreserveManual
	w := e.worker(opts)
	e.reconcile(w)
	// Someone adds eve to ad-Sales by hand in Lightdash.
	sales := e.groupUUID("ad-Sales")
	c := e.client(e.ld.AdminToken(), 0)
	members := []string{e.uuid["dan"], e.uuid["eve"]}
	if _, err := c.UpdateGroup(context.Background(), sales, lightdashUpdate(members)); err != nil {
		t.Fatal(err)
	}
	e.dir.SetGroup(sources.DirGroup{ID: "g-sales", DN: "cn=Sales,ou=groups,dc=corp", Name: "Sales", MemberUsers: []string{"u-ann"}})
	e.reconcile(w)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: ann,eve")
}

func TestReconcileDeactivatedUserIsNotAdded(t *testing.T) {
	e := newEnv(t)
	if err := e.ld.DeactivateUser(e.uuid["dan"]); err != nil {
		t.Fatal(err)
	}
	w := e.worker(e.options())
	p, err := w.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, u := range p.Unmatched {
		reasons = append(reasons, u.Email+": "+u.Reason)
	}
	if got := strings.Join(reasons, "; "); !strings.Contains(got, "dan@example.com: Lightdash user dan@example.com is deactivated") {
		t.Errorf("unmatched %q, want dan reported as deactivated", got)
	}
	e.reconcile(w)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: ")
}

func TestReconcileRefusedCreateIsRetriedCleanly(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.Concurrency = 1
	ld := e.client(e.ld.AdminToken(), -1)
	// A definite refusal (a proxy's 403): nothing was created, so no
	// intent is left behind to adopt a stranger's group later.
	e.ld.FailNext(lightdashtest.Fault{Method: "POST", Endpoint: "/api/v1/org/groups", Status: 403})
	res, err := e.workerWith(ld, opts).Reconcile(context.Background())
	if !errors.Is(err, worker.ErrApplyFailed) || res.Summary.Created != 2 {
		t.Fatalf("err %v summary %+v", err, res.Summary)
	}
	if _, ok := e.state().Groups["group:corp/g-be"]; ok {
		t.Error("a refused create left an intent in the state")
	}
	e.reconcile(e.workerWith(ld, opts))
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan")
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t)
	c := e.client(e.ld.AdminToken(), 0)
	good := e.options()
	tests := []struct {
		name    string
		sources []sources.Source
		ld      worker.Lightdash
		store   worker.StateStore
		opts    func(*worker.Options)
		want    string
	}{
		{"no sources", nil, c, e.store, nil, "no sources"},
		{"duplicate source names", []sources.Source{e.dir, e.dir}, c, e.store, nil, `two sources named "corp"`},
		{"no client", []sources.Source{e.dir}, nil, e.store, nil, "required"},
		{"no store", []sources.Source{e.dir}, c, nil, nil, "required"},
		{"unknown policy", []sources.Source{e.dir}, c, e.store, func(o *worker.Options) { o.Policy = "yolo" }, `"yolo" is not a policy`},
		{"bad mapping", []sources.Source{e.dir}, c, e.store, func(o *worker.Options) { o.Mapping.Rules[0].Case = "Title" }, `"Title" is not a case rule`},
		{"negative cache age", []sources.Source{e.dir}, c, e.store, func(o *worker.Options) { o.CacheMaxAge = -time.Second }, "negative cache max age (-1s)"},
		{"negative user refresh", []sources.Source{e.dir}, c, e.store, func(o *worker.Options) { o.UserRefreshInterval = -time.Second }, "user refresh interval (-1s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := good
			opts.Mapping.Rules = append([]worker.Rule(nil), good.Mapping.Rules...)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			_, err := worker.New(tt.sources, tt.ld, tt.store, opts, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func lightdashUpdate(members []string) lightdash.GroupUpdate {
	return lightdash.GroupUpdate{Members: &members}
}
