package sourcetest

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

func testSnapshot(t *testing.T, env Env) {
	d := seed(t, env)
	src := env.Source()
	snap := read(t, src)
	d.wantGroup(t, snap, "Engineering", []string{"Ann"}, []string{"Backend"})
	d.wantGroup(t, snap, "Backend", []string{"Bob"}, nil)
	d.wantGroup(t, snap, "Sales", []string{"Cat", "Dan"}, nil)
	d.wantGroup(t, snap, "Empty", nil, nil)
	d.wantUser(t, snap, "Ann", "ann@example.com", false)
	d.wantUser(t, snap, "Bob", "bob@example.com", false)
	d.wantUser(t, snap, "Cat", "cat@example.com", true)
	d.wantUser(t, snap, "Dan", "dan@example.com", false)
	if u := findUser(snap, d.users["Bob"]); u != nil && !containsFold(u.AltEmails, "robert@example.com") {
		t.Errorf("Bob's AltEmails %q, want robert@example.com among them", u.AltEmails)
	}
}

func testSnapshotAfterChanges(t *testing.T, env Env) {
	d := seed(t, env)
	src := env.Source()
	read(t, src) // a source may cache; it must still see what follows
	ctx := ctxT(t)
	must(t, "SetMembers(Engineering)", env.SetMembers(ctx, d.groups["Engineering"], d.ids(d.users, "Ann", "Dan"), nil))
	must(t, "UpdateUser(Bob)", env.UpdateUser(ctx, sources.DirUser{ID: d.users["Bob"], DisplayName: "Bob", Email: "bobby@example.com"}))
	must(t, "UpdateUser(Cat)", env.UpdateUser(ctx, sources.DirUser{ID: d.users["Cat"], DisplayName: "Cat", Email: "cat@example.com"}))
	must(t, "UpdateUser(Ann)", env.UpdateUser(ctx, sources.DirUser{ID: d.users["Ann"], DisplayName: "Ann", Email: "ann@example.com", Disabled: true}))
	must(t, "DeleteGroup(Empty)", env.DeleteGroup(ctx, d.groups["Empty"]))
	settle(t, env)

	snap := read(t, src)
	d.wantGroup(t, snap, "Engineering", []string{"Ann", "Dan"}, nil)
	d.wantGroup(t, snap, "Backend", []string{"Bob"}, nil)
	d.wantUser(t, snap, "Ann", "ann@example.com", true)
	d.wantUser(t, snap, "Bob", "bobby@example.com", false)
	d.wantUser(t, snap, "Cat", "cat@example.com", false)
	if findGroup(snap, d.groups["Empty"]) != nil {
		t.Error("deleted group Empty is still in the snapshot")
	}
}

func testReadGroups(t *testing.T, env Env) {
	d := seed(t, env)
	src := env.Source()
	gr, ok := src.(sources.GroupReader)
	if !ok {
		t.Skipf("%T is not a sources.GroupReader", src)
	}
	ctx := ctxT(t)
	snap, err := gr.ReadGroups(ctx, []string{d.groups["Engineering"]})
	if err != nil {
		t.Fatalf("ReadGroups(Engineering): %v", err)
	}
	checkSnapshot(t, src, snap)
	d.wantGroup(t, snap, "Engineering", []string{"Ann"}, []string{"Backend"})
	d.wantGroup(t, snap, "Backend", []string{"Bob"}, nil) // nested: read too
	d.wantUser(t, snap, "Ann", "ann@example.com", false)
	d.wantUser(t, snap, "Bob", "bob@example.com", false)

	// An event may name a group deleted since: it is left out, and the
	// other groups are still read.
	must(t, "DeleteGroup(Empty)", env.DeleteGroup(ctx, d.groups["Empty"]))
	settle(t, env)
	snap, err = gr.ReadGroups(ctx, []string{d.groups["Empty"], d.groups["Sales"]})
	if err != nil {
		t.Fatalf("ReadGroups(deleted Empty, Sales): %v (a deleted group must be left out, not an error)", err)
	}
	checkSnapshot(t, src, snap)
	if findGroup(snap, d.groups["Empty"]) != nil {
		t.Error("ReadGroups returned the deleted group Empty")
	}
	d.wantGroup(t, snap, "Sales", []string{"Cat", "Dan"}, nil)
	d.wantUser(t, snap, "Cat", "cat@example.com", true)
}

func read(t *testing.T, src sources.Source) *sources.Snapshot {
	t.Helper()
	snap, err := src.Snapshot(ctxT(t))
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	checkSnapshot(t, src, snap)
	return snap
}

// checkSnapshot checks what every snapshot must hold.
func checkSnapshot(t *testing.T, src sources.Source, snap *sources.Snapshot) {
	t.Helper()
	if snap == nil {
		t.Fatal("nil snapshot without an error")
	}
	if !snap.Complete {
		t.Errorf("snapshot incomplete (%q), want Complete", snap.IncompleteReason)
	}
	if snap.Source != "" && snap.Source != src.Name() {
		t.Errorf("snapshot Source %q, want %q or empty", snap.Source, src.Name())
	}
	seen := map[string]bool{}
	for _, g := range snap.Groups {
		if g.ID == "" || seen["g"+g.ID] {
			t.Errorf("group %q has an empty or repeated id %q", g.Name, g.ID)
		}
		seen["g"+g.ID] = true
	}
	for _, u := range snap.Users {
		if u.ID == "" || seen["u"+u.ID] {
			t.Errorf("user %q has an empty or repeated id %q", u.Email, u.ID)
		}
		seen["u"+u.ID] = true
	}
}

// wantGroup checks a seeded group: found under its id, its name, and its
// direct members given by the suite's names.
func (d *directory) wantGroup(t *testing.T, snap *sources.Snapshot, name string, users, groups []string) {
	t.Helper()
	g := findGroup(snap, d.groups[name])
	if g == nil {
		t.Errorf("group %s (id %q) missing from the snapshot", name, d.groups[name])
		return
	}
	if g.Name != name {
		t.Errorf("group %s: Name %q", name, g.Name)
	}
	if got, want := sortedCopy(g.MemberUsers), sortedCopy(d.ids(d.users, users...)); !slices.Equal(got, want) {
		t.Errorf("group %s: MemberUsers %q, want %q (%v)", name, got, want, users)
	}
	if got, want := sortedCopy(g.MemberGroups), sortedCopy(d.ids(d.groups, groups...)); !slices.Equal(got, want) {
		t.Errorf("group %s: MemberGroups %q, want %q (%v)", name, got, want, groups)
	}
}

func (d *directory) wantUser(t *testing.T, snap *sources.Snapshot, name, email string, disabled bool) {
	t.Helper()
	u := findUser(snap, d.users[name])
	if u == nil {
		t.Errorf("user %s (id %q) missing from the snapshot", name, d.users[name])
		return
	}
	if !strings.EqualFold(u.Email, email) {
		t.Errorf("user %s: Email %q, want %q", name, u.Email, email)
	}
	if u.Disabled != disabled {
		t.Errorf("user %s: Disabled %v, want %v", name, u.Disabled, disabled)
	}
}

func findGroup(snap *sources.Snapshot, id string) *sources.DirGroup {
	for i := range snap.Groups {
		if snap.Groups[i].ID == id {
			return &snap.Groups[i]
		}
	}
	return nil
}

func findUser(snap *sources.Snapshot, id string) *sources.DirUser {
	for i := range snap.Users {
		if snap.Users[i].ID == id {
			return &snap.Users[i]
		}
	}
	return nil
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func sortedCopy(l []string) []string {
	out := append([]string{}, l...)
	sort.Strings(out)
	return out
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
