package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// TestMain runs the tests in a network namespace of their own, where
// Samba's fixed ports cannot clash (see ldaptest.Main).
func TestMain(m *testing.M) { ldaptest.Main(m) }

// dirLiveEnv is a directory server other than slapd, the fake Lightdash
// holding ann and bob, and the daemon's configuration.
type dirLiveEnv struct {
	ld     *lightdashtest.Server
	dir    string
	emails map[string]string // Lightdash uuid → name
}

func newDirLiveEnv(t *testing.T) *dirLiveEnv {
	e := &dirLiveEnv{ld: lightdashtest.NewServer(), dir: t.TempDir(), emails: map[string]string{}}
	t.Cleanup(e.ld.Close)
	for _, u := range []string{"ann", "bob"} {
		m := e.ld.AddUser(u+"@example.com", lightdash.RoleViewer)
		e.emails[m.UserUUID] = u
	}
	return e
}

// config writes the configuration: the source block as a quickstart gives
// it, plus the test's password file and a fast schedule.
func (e *dirLiveEnv) config(t *testing.T, password, source, mapping string) string {
	t.Helper()
	pw := filepath.Join(e.dir, "bind-password")
	if err := os.WriteFile(pw, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `
log: {level: info, format: console}
lightdash: {url: "` + e.ld.URL() + `", token: "` + e.ld.AdminToken() + `"}
sources:
` + strings.ReplaceAll(source, "PASSWORD_FILE", pw) + `
mapping:
` + mapping + `
state: {path: ` + filepath.Join(e.dir, "state.json") + `}
schedule: {debounce: 10ms, max_delay: 100ms}
admin: {listen: "127.0.0.1:0"}
`
	p := filepath.Join(e.dir, "lightdash-sync.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *dirLiveEnv) members(name string) string {
	if ms, ok := e.ld.GroupMembers(name, e.emails); ok {
		return strings.Join(ms, ",")
	}
	return "<no group>"
}

// addADUser adds an enabled Active Directory user with a password and a
// mail address.
func addADUser(t *testing.T, c *goldap.Conn, dn, sam, mail string) {
	t.Helper()
	addEntry(t, c, dn, map[string][]string{
		"objectClass": {"user"}, "sAMAccountName": {sam}, "mail": {mail},
		"unicodePwd": {ldaptest.UnicodePwd("Us3r-Passw0rd!")}, "userAccountControl": {"512"},
	})
}

func addEntry(t *testing.T, c *goldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	for n, v := range attrs {
		req.Attribute(n, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// deleteTree deletes dn and everything below it (the subtree delete
// control: Samba and OpenLDAP both honour it).
func deleteTree(t *testing.T, c *goldap.Conn, dn string) {
	t.Helper()
	if err := c.Del(goldap.NewDelRequest(dn, []goldap.Control{goldap.NewControlSubtreeDelete()})); err != nil {
		t.Errorf("delete %s: %v", dn, err)
	}
}

func addMember(t *testing.T, c *goldap.Conn, group, member string) {
	t.Helper()
	req := goldap.NewModifyRequest(group, nil)
	req.Add("member", []string{member})
	if err := c.Modify(req); err != nil {
		t.Fatalf("add %s to %s: %v", member, group, err)
	}
}

// TestLiveActiveDirectoryChangeReachesLightdash runs the daemon with the
// README's Active Directory quickstart against Samba's AD DC: DirSync
// brings a new member to Lightdash.
func TestLiveActiveDirectoryChangeReachesLightdash(t *testing.T) {
	srv := ldaptest.SharedSamba(t)
	c, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // after the delete below
	ou := "OU=e2e," + srv.BaseDN()
	addEntry(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}})
	t.Cleanup(func() { deleteTree(t, c, ou) })
	for _, u := range []string{"ann", "bob"} {
		addADUser(t, c, "CN="+u+","+ou, "e2e-"+u, u+"@example.com")
	}
	group := "CN=Lightdash Eng," + ou
	addEntry(t, c, group, map[string][]string{"objectClass": {"group"}, "sAMAccountName": {"e2e-eng"}, "member": {"CN=ann," + ou}})

	e := newDirLiveEnv(t)
	cfg := e.config(t, ldaptest.SambaPassword, `
  - name: ad
    type: ldap
    ldap:
      urls: [`+srv.LDAPSURL()+`]
      ca_file: `+srv.TLS().CAFile+`
      bind_dn: `+ldaptest.SambaAdminDN+`
      bind_password_file: PASSWORD_FILE
      schema: activedirectory
      user_base_dn: DC=corp,DC=example
      group_base_dn: DC=corp,DC=example
      group_filter: (cn=Lightdash *)
      email_attributes: [mail, userPrincipalName]
      watch: dirsync
      poll_interval: 200ms`, `
  rules:
    - {name: ad, prefix: "ad-", case: lower}`)
	runUntilTestEnds(t, cfg, daemonOpts{})
	if got := e.members("ad-lightdash eng"); got != "ann" {
		t.Fatalf("after start-up, ad-lightdash eng = %s, want ann", got)
	}
	addMember(t, c, group, "CN=bob,"+ou)
	testutil.Eventually(t, "bob in ad-lightdash eng", func() bool { return e.members("ad-lightdash eng") == "ann,bob" })
}

// TestLive389DSChangeReachesLightdash runs the daemon with the 389ds
// preset against 389 Directory Server: syncrepl (Content
// Synchronization) brings a new member to Lightdash.
func TestLive389DSChangeReachesLightdash(t *testing.T) {
	srv := ldaptest.Shared389DS(t)
	c, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	top := "ou=e2e," + ldaptest.DS389Suffix
	people, groups := "ou=people,"+top, "ou=groups,"+top
	for _, ou := range []string{top, people, groups} {
		addEntry(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}})
	}
	for _, u := range []string{"ann", "bob"} {
		addEntry(t, c, "uid="+u+","+people, map[string][]string{
			"objectClass": {"inetOrgPerson"}, "uid": {u}, "cn": {u}, "sn": {u}, "mail": {u + "@example.com"},
		})
	}
	group := "cn=lightdash-eng," + groups
	addEntry(t, c, group, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"lightdash-eng"}, "member": {"uid=ann," + people}})

	e := newDirLiveEnv(t)
	cfg := e.config(t, ldaptest.DS389Password, `
  - name: corp
    type: ldap
    ldap:
      urls: [`+srv.URL()+`]
      bind_dn: "`+ldaptest.DS389RootDN+`"
      bind_password_file: PASSWORD_FILE
      schema: 389ds
      user_base_dn: `+people+`
      group_base_dn: `+groups+`
      group_filter: (cn=lightdash-*)`, `
  rules:
    - name: lightdash-groups
      rewrite_regex: "^lightdash-(.*)$"
      rewrite_replace: "$1"`)
	runUntilTestEnds(t, cfg, daemonOpts{})
	if got := e.members("eng"); got != "ann" {
		t.Fatalf("after start-up, eng = %s, want ann", got)
	}
	addMember(t, c, group, "uid=bob,"+people)
	testutil.Eventually(t, "bob in eng", func() bool { return e.members("eng") == "ann,bob" })
}

// TestCheckActiveDirectoryPlainBind: Samba, like Active Directory by
// default, refuses a simple bind over plain LDAP; check fails the source
// and says what to change.
func TestCheckActiveDirectoryPlainBind(t *testing.T) {
	srv := ldaptest.SharedSamba(t)
	e := newDirLiveEnv(t)
	cfg := e.config(t, ldaptest.SambaPassword, `
  - name: ad
    type: ldap
    ldap:
      urls: [`+srv.URL()+`]
      bind_dn: `+ldaptest.SambaAdminDN+`
      bind_password_file: PASSWORD_FILE
      schema: activedirectory
      user_base_dn: DC=corp,DC=example
      group_base_dn: DC=corp,DC=example`, `
  rules:
    - {name: ad, prefix: "ad-"}`)
	code, out, errOut := runMain(t, "check", "--config", cfg)
	if code != exitFailure || !strings.Contains(out, "FAIL  source ad (ldap)") || !strings.Contains(out, "set start_tls: true") {
		t.Errorf("check exited %d, want 1 with the source failed and told to use TLS:\n%s\n%s", code, out, errOut)
	}
}
