package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// roundTrip saves a plan as `plan --output json` would and reads it back.
func roundTrip(t *testing.T, p *worker.Plan) *worker.Plan {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var out worker.Plan
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestApplySaved(t *testing.T) {
	ctx := context.Background()
	t.Run("unchanged world: applied", func(t *testing.T) {
		e := newEnv(t)
		w := e.worker(e.options())
		p, err := w.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.ApplySaved(ctx, roundTrip(t, p))
		if err != nil || res.Summary.Created != 3 {
			t.Fatalf("ApplySaved: %v %+v", err, res)
		}
	})
	t.Run("directory changed: refused", func(t *testing.T) {
		e := newEnv(t)
		w := e.worker(e.options())
		p, _ := w.Plan(ctx)
		e.dir.SetUser(sources.DirUser{ID: "u-bob", Email: "bob@example.com", Disabled: true})
		_, err := w.ApplySaved(ctx, roundTrip(t, p))
		if !errors.Is(err, worker.ErrPlanStale) || !strings.Contains(err.Error(), "the directory changed") {
			t.Errorf("err %v, want ErrPlanStale naming the directory", err)
		}
		if e.ld.WriteCount() != 0 {
			t.Error("a stale plan wrote to Lightdash")
		}
	})
	t.Run("Lightdash changed: refused", func(t *testing.T) {
		e := newEnv(t)
		w := e.worker(e.options())
		p, _ := w.Plan(ctx)
		if _, err := e.ld.AddGroup("someone else's"); err != nil {
			t.Fatal(err)
		}
		_, err := w.ApplySaved(ctx, roundTrip(t, p))
		if !errors.Is(err, worker.ErrPlanStale) || !strings.Contains(err.Error(), "Lightdash groups or users changed") {
			t.Errorf("err %v, want ErrPlanStale naming Lightdash", err)
		}
	})
	t.Run("order of reads does not matter", func(t *testing.T) {
		// The fake shuffles lists as Lightdash does (no ORDER BY).
		e := newEnv(t, lightdashtest.WithShuffle(true))
		w := e.worker(e.options())
		e.reconcile(w)
		p, _ := w.Plan(ctx)
		for i := 0; i < 5; i++ {
			if _, err := w.ApplySaved(ctx, roundTrip(t, p)); err != nil {
				t.Fatalf("ApplySaved %d: %v", i, err)
			}
		}
	})
	t.Run("bad plans", func(t *testing.T) {
		e := newEnv(t)
		w := e.worker(e.options())
		if _, err := w.ApplySaved(ctx, &worker.Plan{Format: 99}); err == nil || !strings.Contains(err.Error(), "format 99") {
			t.Errorf("format 99: %v", err)
		}
		if _, err := w.ApplySaved(ctx, nil); err == nil {
			t.Error("nil plan: no error")
		}
	})
}

func TestReconcileGroupsNeverDeletes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)
	e.dir.SetGroup(sources.DirGroup{ID: "g-be", DN: "cn=Backend,ou=groups,dc=corp", Name: "Backend", MemberUsers: []string{"u-dan"}})
	e.dir.DeleteGroup("g-sales")
	e.ld.ResetRequests()
	res, err := w.ReconcileGroups(ctx, "corp", []string{"g-be", "g-sales"})
	if err != nil {
		t.Fatal(err)
	}
	// Backend changes, and with it Engineering is untouched (not read);
	// Sales is gone from the directory but an event alone never deletes.
	e.wantGroups("ad-Backend: dan", "ad-Engineering: ann,bob,cat", "ad-Sales: dan")
	if res.Summary.Deleted != 0 || res.Summary.Updated != 1 {
		t.Errorf("summary %+v, want one update and no delete", res.Summary)
	}
	if _, err := w.ReconcileGroups(ctx, "nope", nil); err == nil {
		t.Error("unknown source: no error")
	}
	// The next full run repairs the rest.
	e.reconcile(w)
	e.wantGroups("ad-Backend: dan", "ad-Engineering: ann,bob,dan")
}

func TestMetricsAndLogs(t *testing.T) {
	e := newEnv(t)
	core, logs := observer.New(zap.DebugLevel)
	e.reg = prometheus.NewRegistry()
	w, err := worker.New([]sources.Source{e.dir}, e.client(e.ld.AdminToken(), -1), e.store, e.options(), zap.New(core), e.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.ld.FailNext(lightdashtest.Fault{Method: "POST", Status: 500})
	if _, err := w.Reconcile(context.Background()); !errors.Is(err, worker.ErrApplyFailed) {
		t.Fatalf("err %v, want ErrApplyFailed", err)
	}
	e.reconcile(w)
	for _, c := range []struct {
		result string
		want   float64
	}{{"failed", 1}, {"success", 1}, {"blocked", 0}} {
		if got := counter(t, e.reg, "lightdash_sync_reconcile_total", "result", c.result); got != c.want {
			t.Errorf("reconcile_total{result=%q} = %v, want %v", c.result, got, c.want)
		}
	}
	if got := counter(t, e.reg, "lightdash_sync_apply_failures_total", "op", "create"); got != 1 {
		t.Errorf("apply_failures_total{op=create} = %v, want 1", got)
	}
	mfs, _ := e.reg.Gather()
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "lightdash_sync_unmatched_users" {
			found = true
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 1 {
				t.Errorf("unmatched_users = %v, want 1", v)
			}
		}
	}
	if !found {
		t.Error("lightdash_sync_unmatched_users not registered")
	}
	if logs.FilterMessage("reconciliation applied").Len() != 2 || logs.FilterMessage("lightdash change failed").Len() != 1 {
		t.Errorf("log lines: %v", logs.All())
	}
	for _, l := range logs.All() {
		for _, f := range l.Context {
			if strings.Contains(f.String, e.ld.AdminToken()) || strings.Contains(l.Message, e.ld.AdminToken()) {
				t.Errorf("log line leaks the token: %v", l)
			}
		}
		if err, ok := l.ContextMap()["error"].(string); ok && strings.Contains(err, e.ld.AdminToken()) {
			t.Errorf("logged error leaks the token: %s", err)
		}
	}
}

// counter reads one labelled sample of a metric family from reg.
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
