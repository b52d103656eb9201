package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// budgetOptions allow two member removals an hour and nothing else limited.
func (e *env) budgetOptions() worker.Options {
	opts := e.options()
	opts.Limits = worker.Limits{MaxMemberRemovals: 2, LimitWindow: time.Hour}
	return opts
}

func (e *env) setMembers(id, name string, users ...string) {
	var nested []string
	if id == "g-eng" {
		nested = []string{"g-be"}
	}
	e.dir.SetGroup(sources.DirGroup{ID: id, DN: "cn=" + name + ",ou=groups,dc=corp", Name: name, MemberUsers: users, MemberGroups: nested})
}

// Events each under the per-run limit are stopped once together they
// reach it, also after a restart, until the window has passed.
func TestEventRemovalsShareTheWindowBudget(t *testing.T) {
	e := newEnv(t)
	opts := e.budgetOptions()
	w := e.worker(opts)
	e.reconcile(w)

	e.setMembers("g-eng", "Engineering", "u-ann")
	if res := e.reconcileGroups(w, "g-eng"); res.Summary.MembersRemoved != 1 || res.Blocked {
		t.Fatalf("first event: %+v, want bob removed", res.Summary)
	}
	e.setMembers("g-sales", "Sales", "u-eve")
	if res := e.reconcileGroups(w, "g-sales"); res.Summary.MembersRemoved != 1 || res.Blocked {
		t.Fatalf("second event: %+v, want dan removed", res.Summary)
	}
	e.setMembers("g-eng", "Engineering")
	res := e.reconcileGroups(w, "g-eng")
	if !res.Blocked || res.Summary.MembersRemoved != 0 || res.Summary.HeldBackRemovals != 1 {
		t.Errorf("third event: blocked %v, %+v; want ann's removal held back", res.Blocked, res.Summary)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,cat", "ad-Sales: ")

	// A restart (or a new leader) reads what was spent from the state.
	w = e.worker(opts)
	if res := e.reconcileGroups(w, "g-eng"); !res.Blocked || res.Summary.MembersRemoved != 0 {
		t.Errorf("after a restart: blocked %v, %+v; want the removal still held back", res.Blocked, res.Summary)
	}

	e.now = e.now.Add(time.Hour + 2*time.Minute)
	if res := e.reconcileGroups(w, "g-eng"); res.Blocked || res.Summary.MembersRemoved != 1 {
		t.Errorf("after the window: blocked %v, %+v; want ann removed", res.Blocked, res.Summary)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: cat", "ad-Sales: ")
}

// A plan applied after another run spent part of the window's budget
// applies only what is left of it.
func TestApplyHoldsThePlanToWhatIsLeftOfTheBudget(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.budgetOptions())
	e.reconcile(w)

	e.setMembers("g-eng", "Engineering", "u-ann")
	e.setMembers("g-sales", "Sales", "u-eve")
	p, err := w.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked || p.Budget == nil || p.Budget.Removals != 2 {
		t.Fatalf("plan blocked %v, budget %+v; want two removals allowed", p.Blocked, p.Budget)
	}
	e.setMembers("g-be", "Backend")
	if res := e.reconcileGroups(w, "g-be"); res.Summary.MembersRemoved != 1 {
		t.Fatalf("event: %+v, want cat removed from Backend", res.Summary)
	}

	res, err := w.Apply(context.Background(), p)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !res.Blocked || res.Summary.MembersRemoved != 1 || res.Summary.HeldBackRemovals != 1 {
		t.Errorf("apply: blocked %v, %+v; want one removal made and one held back", res.Blocked, res.Summary)
	}
	if got := e.state().Spent; len(got) == 0 {
		t.Error("no spending recorded in the state")
	}
}

// The window's spending is kept in slices: the state stays small however
// many runs spend, and what left the window is dropped at the next spending.
func TestStateSpendingStaysBounded(t *testing.T) {
	e := newEnv(t)
	opts := e.budgetOptions()
	opts.Limits.MaxMemberRemovals = 0 // count, do not limit
	w := e.worker(opts)
	e.reconcile(w)
	start := e.now
	for i := range 200 {
		e.now = start.Add(time.Duration(i) * 30 * time.Second)
		members := []string{"u-ann", "u-bob"}[:1+i%2]
		e.setMembers("g-eng", "Engineering", members...)
		e.reconcileGroups(w, "g-eng")
	}
	sp := e.state().Spent
	if len(sp) == 0 || len(sp) > 70 {
		t.Errorf("%d spending entries after 200 runs over 100 minutes, want 1 to 70", len(sp))
	}
	removed := 0
	for _, s := range sp {
		if e.now.Sub(s.At) < time.Hour {
			removed += s.Removed
		}
	}
	if removed < 55 || removed > 62 {
		t.Errorf("%d removals recorded in the window, want about 60 (one a minute)", removed)
	}
}

// A removal whose PATCH answer is lost may have happened: its spending
// stays, so a network that drops every answer cannot spend the window
// again and again.
func TestAmbiguousRemovalKeepsItsSpending(t *testing.T) {
	e := newEnv(t)
	w := e.workerWith(e.client(e.ld.AdminToken(), -1), e.budgetOptions())
	e.reconcile(w)

	e.setMembers("g-eng", "Engineering", "u-ann")
	e.ld.FailNext(lightdashtest.Fault{Method: "PATCH", Status: 502, After: true})
	if _, err := w.ReconcileGroups(context.Background(), "corp", []string{"g-eng"}); err == nil {
		t.Fatal("no error, want the lost answer reported")
	}
	if got := spentRemovals(e.state()); got != 1 {
		t.Errorf("after a lost answer: %d removals spent, want 1", got)
	}

}

func spentRemovals(st *worker.State) int {
	n := 0
	for _, s := range st.Spent {
		n += s.Removed
	}
	return n
}
