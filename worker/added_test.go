package worker_test

import (
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// Authoritative mode keeps no record of added members (it never reads
// it); preserve-manual does, since it removes only those. A state written
// with the record still loads in authoritative mode, and the next save
// drops it.
func TestAddedMembersRecordedOnlyForPreserveManual(t *testing.T) {
	added := func(st *worker.State) int {
		n := 0
		for _, g := range st.Groups {
			n += len(g.AddedMembers)
		}
		return n
	}
	for _, mode := range []worker.MembershipMode{worker.MembershipAuthoritative, worker.MembershipPreserveManual} {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnv(t)
			opts := e.options()
			opts.Membership = mode
			e.reconcile(e.worker(opts))
			got := added(e.state())
			if mode == worker.MembershipAuthoritative && got != 0 {
				t.Errorf("authoritative state records %d added members, want none", got)
			}
			if mode == worker.MembershipPreserveManual && got != 5 {
				t.Errorf("preserve-manual state records %d added members, want 5", got)
			}
		})
	}
	t.Run("old state in authoritative mode", func(t *testing.T) {
		e := newEnv(t)
		opts := e.options()
		opts.Membership = worker.MembershipPreserveManual
		e.reconcile(e.worker(opts))
		e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-bob"}})
		opts.Membership = worker.MembershipAuthoritative
		res := e.reconcile(e.worker(opts))
		if res.Summary.Updated != 1 || len(res.Failures) != 0 {
			t.Errorf("summary %+v, want one update", res.Summary)
		}
		e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: bob")
		if got := added(e.state()); got != 0 {
			t.Errorf("state after an authoritative save records %d added members, want none", got)
		}
		// Nothing left to do.
		e.ld.ResetRequests()
		e.reconcile(e.worker(opts))
		if e.ld.WriteCount() != 0 {
			t.Errorf("wrote %q", e.requests())
		}
	})
}
