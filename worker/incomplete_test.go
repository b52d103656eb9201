package worker_test

import (
	"context"
	"errors"
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
