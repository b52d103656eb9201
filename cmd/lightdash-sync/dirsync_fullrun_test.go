package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// TestDirSyncFullRunFromTheWatcher: on Active Directory a full run the
// operator asks for (POST /reconcile) takes the directory from the DirSync
// watcher's state, which polls first: a member added just before, which
// the watcher (polling hourly) has not seen, reaches Lightdash with that
// run, and no read of the directory is made for it.
func TestDirSyncFullRunFromTheWatcher(t *testing.T) {
	srv := ldaptest.SharedSamba(t)
	c, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // after the deletes below
	users, groups := "OU=fr-users,"+srv.BaseDN(), "OU=fr-groups,"+srv.BaseDN()
	for _, ou := range []string{users, groups} {
		addEntry(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}})
		t.Cleanup(func() { deleteTree(t, c, ou) })
	}
	for _, u := range []string{"ann", "bob"} {
		addADUser(t, c, "CN="+u+","+users, "fr-"+u, u+"@example.com")
	}
	group := "CN=eng," + groups
	addEntry(t, c, group, map[string][]string{"objectClass": {"group"}, "sAMAccountName": {"fr-eng"}, "member": {"CN=ann," + users}})

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
      user_base_dn: `+users+`
      group_base_dn: `+groups+`
      watch: dirsync
      poll_interval: 1h`, `
  rules:
    - {name: ad, prefix: "fr-", case: lower}`)
	withAdminToken(t, cfg)
	base := "http://" + runUntilTestEnds(t, cfg, daemonOpts{}).addr
	testutil.Eventually(t, "fr-eng after start-up", func() bool { return e.members("fr-eng") == "ann" })
	testutil.Eventually(t, "the DirSync watcher's first poll", func() bool {
		_, m := httpGet(base + "/metrics")
		return strings.Contains(m, `lightdash_sync_ldap_searches_total{kind="dirsync",result="ok",source="ad"} 1`)
	})

	addMember(t, c, group, "CN=bob,"+users)
	runs, reads := fullRuns(base[len("http://"):]), sourceReads(base, "ad", "watcher")
	if code := httpPost(base+"/reconcile", testAdminToken); code != http.StatusAccepted {
		t.Fatalf("POST /reconcile = %d", code)
	}
	testutil.Eventually(t, "the requested full run", func() bool { return fullRuns(base[len("http://"):]) > runs })
	if n := sourceReads(base, "ad", "watcher"); n != reads+1 {
		t.Errorf("full runs from the watcher's state went from %d to %d, want one more", reads, n)
	}
	if got := e.members("fr-eng"); got != "ann,bob" {
		t.Errorf("after the full run, fr-eng = %s, want ann,bob", got)
	}
}

// withAdminToken gives the configuration at path an admin token.
func withAdminToken(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `admin: {listen: "127.0.0.1:0"}`, `admin: {listen: "127.0.0.1:0", token: `+testAdminToken+`}`, 1)
	if err := os.WriteFile(filepath.Clean(path), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sourceReads is lightdash_sync_full_reconcile_directory_reads_total for
// source and directory_read how.
func sourceReads(base, source, how string) int {
	_, m := httpGet(base + "/metrics")
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, `lightdash_sync_full_reconcile_directory_reads_total{directory_read="`+how+`",source="`+source+`"} `) {
			var v int
			if _, err := fmt.Sscan(l[strings.LastIndex(l, " ")+1:], &v); err == nil {
				return v
			}
		}
	}
	return 0
}
