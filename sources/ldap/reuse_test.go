package ldap

import (
	"reflect"
	"testing"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// freshSnapshot builds a snapshot from t sharing nothing.
func freshSnapshot(src *Source, t *tracker) *sources.Snapshot {
	return finishFromTracker(trackerUsers(src, t), t, nil)
}

// sameArray reports whether a and b are one array (both non-empty).
func sameArray[E any](a, b []E) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// TestSnapshotSharesThePreviousArrays: a snapshot from the tracker shares
// the previous snapshot's users array when no user changed and each
// group's member users when that group's did not, and is equal to a
// snapshot built afresh.
func TestSnapshotSharesThePreviousArrays(t *testing.T) {
	src := &Source{log: zap.NewNop()}
	src.dec = decoder{cfg: &src.cfg}
	tr := newTracker(false)
	tr.keepUsers = true
	recs := scaleDirectory(200, 20, 400, 0.1, 3)
	for _, r := range recs {
		tr.fill(r)
	}
	check := func(step string, got *sources.Snapshot) {
		t.Helper()
		fresh := freshSnapshot(src, tr)
		got.ReadAt = fresh.ReadAt
		if !reflect.DeepEqual(got, fresh) {
			t.Fatalf("%s: the snapshot differs from one built afresh", step)
		}
	}
	first := src.finishShared(nil, tr, nil)
	second := src.finishShared(nil, tr, nil)
	check("unchanged", second)
	if !sameArray(second.Users, first.Users) {
		t.Error("unchanged: the users array is a new one")
	}
	for i := range second.Groups {
		if !sameArray(second.Groups[i].MemberUsers, first.Groups[i].MemberUsers) {
			t.Errorf("unchanged: group %s's member users are a new array", second.Groups[i].ID)
		}
	}

	// One user's mail changes and one group loses a member.
	u := *recs[0]
	u.setUser(sources.DirUser{ID: u.id, DN: u.dn, Email: "changed@example.com"})
	tr.apply(&u, false, "test")
	g := *recs[len(recs)-1]
	g.members = append([]string(nil), recs[len(recs)-1].members[1:]...)
	tr.apply(&g, false, "test")
	third := src.finishShared(nil, tr, nil)
	check("changed", third)
	if sameArray(third.Users, second.Users) {
		t.Error("changed: a changed user's array was shared")
	}
	for i := range third.Groups {
		shared := sameArray(third.Groups[i].MemberUsers, second.Groups[i].MemberUsers)
		if changed := third.Groups[i].ID == g.id; shared == changed {
			t.Errorf("group %s (changed %v): shared %v", third.Groups[i].ID, changed, shared)
		}
	}
}

// TestRefreshSnapshotSharesGroups: a snapshot whose users a refresh
// streamed in shares the last snapshot's equal group arrays, and becomes
// the last one.
func TestRefreshSnapshotSharesGroups(t *testing.T) {
	src := &Source{log: zap.NewNop()}
	src.dec = decoder{cfg: &src.cfg}
	tr := newTracker(false)
	tr.keepUsers = true
	for _, r := range scaleDirectory(50, 5, 100, 0, 4) {
		tr.fill(r)
	}
	first := src.finishShared(nil, tr, nil)
	refreshed := src.finishShared(trackerUsers(src, tr), tr, nil)
	if sameArray(refreshed.Users, first.Users) {
		t.Error("the streamed users were replaced")
	}
	for i := range refreshed.Groups {
		if !sameArray(refreshed.Groups[i].MemberUsers, first.Groups[i].MemberUsers) {
			t.Errorf("group %s's member users are a new array", refreshed.Groups[i].ID)
		}
	}
	if next := src.finishShared(nil, tr, nil); !sameArray(next.Users, refreshed.Users) {
		t.Error("the refresh's snapshot did not become the last one")
	}
}

// TestEqualUserSeesEveryField: equalUser must compare every field of
// sources.DirUser, or a snapshot would share a user array whose users
// differ in a field added later.
func TestEqualUserSeesEveryField(t *testing.T) {
	if n := reflect.TypeFor[sources.DirUser]().NumField(); n != 6 {
		t.Fatalf("sources.DirUser has %d fields, equalUser compares 6: update it and this test", n)
	}
	a := sources.DirUser{ID: "i", DN: "d", Email: "e", AltEmails: []string{"a"}, DisplayName: "n", Disabled: true}
	for i, change := range []func(*sources.DirUser){
		func(u *sources.DirUser) { u.ID = "x" }, func(u *sources.DirUser) { u.DN = "x" },
		func(u *sources.DirUser) { u.Email = "x" }, func(u *sources.DirUser) { u.AltEmails = nil },
		func(u *sources.DirUser) { u.DisplayName = "x" }, func(u *sources.DirUser) { u.Disabled = false },
	} {
		b := a
		change(&b)
		if equalUser(&a, &b) {
			t.Errorf("field %d: a change is not seen", i)
		}
	}
}
