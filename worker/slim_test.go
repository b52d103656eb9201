package worker

import (
	"context"
	"testing"
	"unsafe"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
)

// TestReadLightdashKeepsOneStringPerUser: what a full read leaves in the
// cached view holds each user's uuid once (the groups' members are the
// users list's strings, not the equal ones decoded from the groups list)
// and none of the users' names, which nothing plans with.
func TestReadLightdashKeepsOneStringPerUser(t *testing.T) {
	srv := lightdashtest.NewServer(lightdashtest.WithSeed(1))
	t.Cleanup(srv.Close)
	ann := srv.AddUser("ann@example.com", lightdash.RoleMember)
	bob := srv.AddUser("bob@example.com", lightdash.RoleMember)
	if _, err := srv.AddGroup("team", ann.UserUUID, bob.UserUUID); err != nil {
		t.Fatal(err)
	}
	if ann.FirstName == "" {
		t.Fatal("the fake gave no first name: nothing to drop")
	}
	c := &lightdash.Client{BaseURL: srv.URL(), Token: srv.AdminToken(), HTTPClient: srv.Client(), MemberUUIDsOnly: true}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	w, err := New([]sources.Source{memory.New("corp")}, c, NewFileStore(t.TempDir()+"/state.json"),
		Options{Mapping: Mapping{Rules: []Rule{{Name: "all"}}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.readLightdash(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	cur := w.view.current()
	byUUID := map[string]lightdash.OrgMember{}
	for _, u := range cur.Users {
		if u.FirstName != "" || u.LastName != "" {
			t.Errorf("user %s kept the names %q %q", u.Email, u.FirstName, u.LastName)
		}
		byUUID[u.UserUUID] = u
	}
	if len(cur.Groups) != 1 || len(cur.Groups[0].MemberUUIDs) != 2 {
		t.Fatalf("groups %+v, want one of two members", cur.Groups)
	}
	for _, m := range cur.Groups[0].MemberUUIDs {
		if u := byUUID[m]; unsafe.StringData(u.UserUUID) != unsafe.StringData(m) {
			t.Errorf("member %s is a string of its own, not the users list's", m)
		}
	}

	// The next read keeps the view's strings for the users still there,
	// and names a new user with one string too.
	cat := srv.AddUser("cat@example.com", lightdash.RoleMember)
	if _, err := srv.AddGroup("cats", cat.UserUUID, ann.UserUUID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.readLightdash(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	next := w.view.current()
	for _, u := range next.Users {
		if old, ok := byUUID[u.UserUUID]; ok && unsafe.StringData(old.UserUUID) != unsafe.StringData(u.UserUUID) {
			t.Errorf("user %s: the next read made a new string", u.Email)
		}
		byUUID[u.UserUUID] = u
	}
	for _, g := range next.Groups {
		for _, m := range g.MemberUUIDs {
			if u, ok := byUUID[m]; !ok || unsafe.StringData(u.UserUUID) != unsafe.StringData(m) {
				t.Errorf("group %s: member %s is a string of its own, not the users list's", g.Name, m)
			}
		}
	}
}
