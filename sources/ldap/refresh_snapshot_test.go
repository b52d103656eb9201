package ldap

import (
	"reflect"
	"testing"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// refreshSnapshot runs recs through a refresh without a cookie that
// builds the start-up snapshot, on w's next tracker, and returns it.
func refreshSnapshot(w *syncWatcher, recs []*record) *sources.Snapshot {
	w.newTracker()
	w.tr.keepUsers = true
	r := &refresh{active: true, mode: refreshSilent, seen: map[string]bool{}, snap: w.refreshBuilder()}
	for _, rec := range recs {
		w.fill(r, rec)
	}
	return w.s.finishShared(r.snap, w.tr, nil)
}

func copies(recs []*record) []*record {
	out := make([]*record, len(recs))
	for i, r := range recs {
		c := *r
		c.members = append([]string(nil), r.members...)
		out[i] = &c
	}
	return out
}

// TestRefreshSnapshotIsSizedByTheLastTracker: the snapshot a refresh
// builds after the first is sized for the users the last tracker held, so
// its users array is allocated once (grown by doubling it held twice its
// size), and equals a snapshot built from the tracker.
func TestRefreshSnapshotIsSizedByTheLastTracker(t *testing.T) {
	src := &Source{log: zap.NewNop()}
	src.dec = decoder{cfg: &src.cfg}
	w := &syncWatcher{s: src}
	recs := scaleDirectory(300, 30, 600, 0.1, 5)
	refreshSnapshot(w, copies(recs))
	snap := refreshSnapshot(w, copies(recs))
	if n := len(snap.Users); n != 300 {
		t.Fatalf("%d users, want 300", n)
	}
	if c := cap(snap.Users); c > 300+300/64 {
		t.Errorf("users array of cap %d for 300 users: not sized by the last tracker", c)
	}
	fresh := freshSnapshot(src, w.tr)
	snap.ReadAt = fresh.ReadAt
	if !reflect.DeepEqual(snap, fresh) {
		t.Error("the refresh's snapshot differs from one built from its tracker")
	}
}

// TestRefreshSnapshotFirstIDWins: as in a read, the first entry with an
// id is the one the refresh's snapshot lists: a user sent again is not
// listed twice, and a group with a user's id is left out.
func TestRefreshSnapshotFirstIDWins(t *testing.T) {
	src := &Source{log: zap.NewNop()}
	src.dec = decoder{cfg: &src.cfg}
	w := &syncWatcher{s: src}
	recs := scaleDirectory(20, 2, 10, 0, 6)
	again := *recs[0]
	again.setUser(sources.DirUser{ID: again.id, DN: again.dn, Email: "second@example.com"})
	clash := *recs[len(recs)-1]
	clash.id = recs[1].id
	snap := refreshSnapshot(w, append(copies(recs), &again, &clash))
	if n := len(snap.Users); n != 20 {
		t.Errorf("%d users, want 20", n)
	}
	for _, u := range snap.Users {
		if u.ID == again.id && u.Email == "second@example.com" {
			t.Errorf("user %s: the second entry with its id won", u.ID)
		}
	}
	for _, g := range snap.Groups {
		if g.ID == clash.id {
			t.Errorf("group %s has a user's id and is listed", g.ID)
		}
	}
}
