package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// TestPagedLightdashListPlansNothing: when Lightdash answers the users or
// groups list one page at a time without being asked (a release or proxy
// that pages by default), the users and groups on the other pages are not
// gone: the run fails with ErrIncompleteList and nothing is removed,
// deleted or created on the strength of the partial list.
func TestPagedLightdashListPlansNothing(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)
	before := e.groups()

	e.ld.SetForcedPageSize(2)
	e.ld.ResetRequests()
	if _, err := w.Plan(context.Background()); !errors.Is(err, lightdash.ErrIncompleteList) {
		t.Errorf("Plan: got %v, want ErrIncompleteList", err)
	}
	res, err := w.Reconcile(context.Background())
	if !errors.Is(err, lightdash.ErrIncompleteList) {
		t.Errorf("Reconcile: got %v (result %+v), want ErrIncompleteList", err, res)
	}
	if n := e.ld.WriteCount(); n != 0 {
		t.Errorf("%d writes on a partial list, want 0: %+v", n, e.ld.Requests())
	}
	e.wantGroups(before...)
}

// pagedClient is e's admin client reading users in pages of 2: the fake's
// 6 users are 3 pages.
func (e *env) pagedClient() *lightdash.Client {
	e.t.Helper()
	c := e.client(e.ld.AdminToken(), 3)
	pc := &lightdash.Client{BaseURL: c.BaseURL, Token: c.Token, HTTPClient: c.HTTPClient, MaxRetries: 3, UserPageSize: 2}
	if err := pc.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return pc
}

// TestUsersPagesThatDoNotAddUpPlanNothing: when the users pages do not add
// up to the total Lightdash reports, twice, the run fails with
// ErrIncompleteList and says so, counts itself as "incomplete", and writes
// nothing, not even an addition: a user missing from the list would be an
// unmatched user to invite, and members and groups are not gone.
func TestUsersPagesThatDoNotAddUpPlanNothing(t *testing.T) {
	e := newEnv(t)
	w := e.workerWith(e.pagedClient(), e.options())
	e.reconcile(w)
	before := e.groups()
	e.dir.Replace(nil, nil) // everything would be removed and deleted on a trusted read

	e.ld.SetPageDrift(2)
	e.ld.ResetRequests()
	res, err := w.Reconcile(context.Background())
	if !errors.Is(err, lightdash.ErrIncompleteList) || !strings.Contains(err.Error(), "nothing planned or written") {
		t.Fatalf("Reconcile: got %v (result %+v), want ErrIncompleteList saying nothing was written", err, res)
	}
	if n := e.ld.WriteCount(); n != 0 {
		t.Errorf("%d writes on an incomplete read, want 0: %+v", n, e.ld.Requests())
	}
	e.wantGroups(before...)
	if got := counter(t, e.reg, "lightdash_sync_reconcile_total", "result", "incomplete"); got != 1 {
		t.Errorf("reconcile_total{result=\"incomplete\"} = %v, want 1", got)
	}
}

// TestWarmRunCountsEveryPage: a warm run's APICalls counts each page of
// the users list: the calls the server was made to answer.
func TestWarmRunCountsEveryPage(t *testing.T) {
	e := newEnv(t)
	w := e.workerWith(e.pagedClient(), e.options())
	e.reconcile(w)
	e.ld.ResetRequests()
	res := e.reconcile(w)
	if n := len(e.ld.Requests()); res.Summary.APICalls != int64(n) || n != 3+1 {
		t.Errorf("APICalls %d, server answered %d requests; want 3 user pages and the groups list", res.Summary.APICalls, n)
	}
}
