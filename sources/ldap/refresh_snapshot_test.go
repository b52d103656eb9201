package ldap

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

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
	return w.finishSnapshot(r)
}

// unitWatcher is a syncrepl watcher of a source with no server, for
// driving refreshes by hand.
func unitWatcher() (*Source, *syncWatcher) {
	src := &Source{log: zap.NewNop()}
	src.dec = decoder{cfg: &src.cfg}
	return src, &syncWatcher{s: src}
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
	src, w := unitWatcher()
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
	_, w := unitWatcher()
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

// usersIn reports whether every user record of t points into users.
func usersIn(t *tracker, users []sources.DirUser) bool {
	in := map[*sources.DirUser]bool{}
	for i := range users {
		in[&users[i]] = true
	}
	for _, r := range t.recs {
		if !r.isGroup && !in[r.user] {
			return false
		}
	}
	return true
}

// TestTrackerSharesTheSnapshotsUsers: the tracker's user records point at
// the users of the last snapshot built from it (the refresh's, then one
// from the watcher's state), so the two hold one copy; a changed user
// gets its own, and a snapshot built since is unchanged by it.
func TestTrackerSharesTheSnapshotsUsers(t *testing.T) {
	src, w := unitWatcher()
	recs := scaleDirectory(100, 10, 300, 0.1, 7)
	first := refreshSnapshot(w, copies(recs))
	if !usersIn(w.tr, first.Users) {
		t.Fatal("after the refresh, the tracker's users are not the snapshot's")
	}
	u := *recs[0]
	u.setUser(sources.DirUser{ID: u.id, DN: u.dn, Email: "changed@example.com"})
	w.tr.apply(&u, false, "test")
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	src.metrics, src.cfg.WatchSnapshotMaxAge = m, time.Hour
	// A configuration whose watcher may serve snapshots (watchSnapshotsFor).
	src.cfg.Watch, src.cfg.IDAttribute = WatchSyncrepl, "entryUUID"
	src.cfg.UserScope, src.cfg.GroupScope = "sub", "sub"
	src.cfg.UserBaseDN, src.cfg.GroupBaseDN = "ou=people,dc=example,dc=com", "ou=groups,dc=example,dc=com"
	src.ws.persist(func() {}, true, time.Now())
	second := src.snapshotFromWatcher(context.Background())
	if second == nil {
		t.Fatal("no snapshot from the watcher's state")
	}
	if !usersIn(w.tr, second.Users) {
		t.Error("after a snapshot from the watcher's state, the tracker's users are not its")
	}
	fresh := freshSnapshot(src, w.tr)
	second.ReadAt, second.Read = fresh.ReadAt, fresh.Read
	if !reflect.DeepEqual(second, fresh) {
		t.Error("the snapshot differs from one built afresh")
	}
	for _, du := range first.Users {
		if du.ID == u.id && du.Email == "changed@example.com" {
			t.Error("the change reached the snapshot built before it")
		}
	}
	// A session that ended (a reconnect) may read its records unlocked.
	w.tr.apply(recs[0], false, "test")
	src.ws.live = false
	third := src.finishShared(nil, w.tr, nil)
	if src.ws.shareUsers(w.tr, third); usersIn(w.tr, third.Users) {
		t.Error("the tracker of an ended session took a snapshot's users")
	}
}

// decodedAgain is recs as a new read decodes them: equal values in
// strings of their own.
func decodedAgain(recs []*record) []*record {
	out := copies(recs)
	for _, r := range out {
		r.id, r.dn, r.ndn, r.name = strings.Clone(r.id), strings.Clone(r.dn), strings.Clone(r.ndn), strings.Clone(r.name)
		if r.user != nil {
			u := *r.user
			u.ID, u.DN, u.Email, u.DisplayName = strings.Clone(u.ID), strings.Clone(u.DN), strings.Clone(u.Email), strings.Clone(u.DisplayName)
			r.user = &u
		}
	}
	return out
}

// TestRefreshTakesTheLastSnapshotsStrings: a refresh without a cookie
// that sends the directory again (a reseed) gives its users the strings of
// the last snapshot's equal fields, which the worker still holds, so the
// two do not hold two copies; a changed field keeps its new value, and the
// snapshot equals one built afresh.
func TestRefreshTakesTheLastSnapshotsStrings(t *testing.T) {
	src, w := unitWatcher()
	recs := scaleDirectory(100, 10, 300, 0, 9)
	first := refreshSnapshot(w, copies(recs))
	again := decodedAgain(recs)
	var changed string
	for _, r := range again {
		if !r.isGroup {
			changed = r.id
			r.setUser(sources.DirUser{ID: r.id, DN: r.dn, Email: "changed@example.com", DisplayName: r.user.DisplayName})
			break
		}
	}
	second := refreshSnapshot(w, again)
	fresh := freshSnapshot(src, w.tr)
	fresh.ReadAt = second.ReadAt
	if !reflect.DeepEqual(second, fresh) {
		t.Fatal("the refresh's snapshot differs from one built afresh")
	}
	byID := map[string]*sources.DirUser{}
	for i := range first.Users {
		byID[first.Users[i].ID] = &first.Users[i]
	}
	for _, u := range second.Users {
		p := byID[u.ID]
		if u.ID == changed {
			if u.Email != "changed@example.com" {
				t.Errorf("the changed user's email is %q", u.Email)
			}
			continue
		}
		if unsafe.StringData(u.ID) != unsafe.StringData(p.ID) || unsafe.StringData(u.DN) != unsafe.StringData(p.DN) ||
			unsafe.StringData(u.Email) != unsafe.StringData(p.Email) {
			t.Fatalf("user %s holds strings of its own, not the last snapshot's", u.ID)
		}
	}
	for _, r := range w.tr.recs {
		if !r.isGroup && r.id != changed && unsafe.StringData(r.dn) != unsafe.StringData(byID[r.id].DN) {
			t.Fatalf("record %s holds a DN string of its own", r.id)
		}
	}
}
