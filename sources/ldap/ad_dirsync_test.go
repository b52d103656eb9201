package ldap

import (
	"context"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// adGroups seeds the test's OUs: ann, bob, cat; eng (ann) inside all
// (eng), sales (bob, cat).
type adSeed struct {
	ann, bob, cat   string
	eng, sales, all string
}

func seedAD(t *testing.T, d *adDir) adSeed {
	t.Helper()
	var s adSeed
	s.ann = d.addUser("ann", "ann@example.com", false)
	s.bob = d.addUser("bob", "bob@example.com", false)
	s.cat = d.addUser("cat", "cat@example.com", false)
	s.eng = d.addGroup("eng", []string{s.ann}, nil)
	s.sales = d.addGroup("sales", []string{s.bob, s.cat}, nil)
	s.all = d.addGroup("all", nil, []string{s.eng})
	return s
}

func (d *adDir) addGroup(name string, users, groups []string) string {
	d.t.Helper()
	id, err := d.AddGroup(context.Background(), sources.DirGroup{Name: name, MemberUsers: users, MemberGroups: groups})
	if err != nil {
		d.t.Fatal(err)
	}
	return id
}

func (d *adDir) mod(id string, f func(*goldap.ModifyRequest)) {
	d.t.Helper()
	if err := d.modify(id, f); err != nil {
		d.t.Fatal(err)
	}
}

func (d *adDir) dnOf(id string) string {
	d.t.Helper()
	dn, err := d.dn(id)
	if err != nil {
		d.t.Fatal(err)
	}
	return dn
}

// TestDirSyncActiveDirectoryLive follows Samba with DirSync from a real
// cookie: members added and removed, a user disabled, a group renamed, a
// user and a group deleted (Samba answers isDeleted and a "\0ADEL:" name).
func TestDirSyncActiveDirectoryLive(t *testing.T) {
	d := newADDir(t)
	s := seedAD(t, d)
	src := newSource(t, d.config())
	w := startWatch(t, src)
	w.waitReady(t)

	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Add("member", []string{d.dnOf(s.bob)}) })
	w.waitChange(t, "bob added to eng", s.bob, s.eng, s.all)
	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Delete("member", []string{d.dnOf(s.ann)}) })
	w.waitChange(t, "ann removed from eng", s.ann, s.eng, s.all)
	d.mod(s.cat, func(r *goldap.ModifyRequest) { r.Replace("userAccountControl", []string{"514"}) })
	w.waitChange(t, "cat disabled", s.cat, s.sales)
	if err := d.conn.ModifyDN(goldap.NewModifyDNRequest(d.dnOf(s.sales), "CN=sales-emea", true, "")); err != nil {
		t.Fatal(err)
	}
	d.setDN(s.sales, "CN=sales-emea,"+d.groups)
	w.waitChange(t, "sales renamed", "", s.sales)
	// A user's tombstone has no objectCategory, which the preset's user
	// filter asks for: it is found by isDeleted.
	if err := d.conn.Del(goldap.NewDelRequest(d.dnOf(s.bob), nil)); err != nil {
		t.Fatal(err)
	}
	w.waitChange(t, "bob deleted", s.bob, s.eng, s.sales)
	if err := d.DeleteGroup(context.Background(), s.eng); err != nil {
		t.Fatal(err)
	}
	w.waitChange(t, "eng deleted", "", s.eng, s.all)
}

// TestDirSyncActiveDirectoryMoveOut moves a user out of user_base_dn, as
// leavers are moved to a "Disabled Users" OU: DirSync reports the move
// (new DN), and the user must leave every group at once, not at the next
// full read.
func TestDirSyncActiveDirectoryMoveOut(t *testing.T) {
	d := newADDir(t)
	s := seedAD(t, d)
	gone := "OU=t" + d.n + "gone," + d.srv.BaseDN()
	if _, err := d.add(gone, map[string][]string{"objectClass": {"organizationalUnit"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.conn.Del(goldap.NewDelRequest(gone, []goldap.Control{goldap.NewControlSubtreeDelete()})) })
	src := newSource(t, d.config())
	w := startWatch(t, src)
	w.waitReady(t)

	if err := d.conn.ModifyDN(goldap.NewModifyDNRequest(d.dnOf(s.bob), "CN=bob", true, gone)); err != nil {
		t.Fatal(err)
	}
	w.waitChange(t, "bob moved out of the user base", s.bob, s.sales)
}

// TestWithCNFromName: AD sends a renamed entry's new RDN value as name
// only; the merged entry must not keep the old cn (the group's name).
func TestWithCNFromName(t *testing.T) {
	old := adEntry("CN=sales,OU=g,DC=x", 1, map[string][]string{"objectClass": {"group"}, "cn": {"sales"}})
	delta := adEntry("CN=sales-emea,OU=g,DC=x", 1, map[string][]string{"name": {"sales-emea"}})
	if got := mergeEntry(old, withCNFromName(delta)).GetAttributeValue("cn"); got != "sales-emea" {
		t.Errorf("cn after a rename: got %q, want sales-emea", got)
	}
	same := adEntry("CN=a,OU=g,DC=x", 1, map[string][]string{"name": {"a"}, "cn": {"a"}})
	if got := withCNFromName(same); got != same {
		t.Error("an entry that has cn was changed")
	}
}

// TestDirSyncActiveDirectoryResume resumes DirSync from the saved cookie
// after a daemon restart (a change made while it was stopped is
// reported) and follows Samba across a restart of the server.
func TestDirSyncActiveDirectoryResume(t *testing.T) {
	d := newADDir(t)
	s := seedAD(t, d)
	cookies := NewMemoryCookieStore()
	src := newSource(t, d.config())
	src.cookies = cookies
	w := startWatch(t, src)
	w.waitReady(t)
	w.stop()

	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Add("member", []string{d.dnOf(s.bob)}) })
	src = newSource(t, d.config())
	src.cookies = cookies
	w = startWatch(t, src)
	w.waitChange(t, "bob added while the daemon was stopped", "", s.eng, s.all)

	if err := d.srv.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := d.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d.conn = c
	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Delete("member", []string{d.dnOf(s.ann)}) })
	w.waitChange(t, "ann removed after the server restarted", s.ann, s.eng, s.all)
}
