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

// ldapEnv is a real slapd seeded with the LDAP fixture and the fake
// Lightdash holding some of its users.
type ldapEnv struct {
	slapd  *ldaptest.Server
	ld     *lightdashtest.Server
	dir    string
	emails map[string]string // Lightdash uuid → email
}

func newLDAPEnv(t *testing.T) *ldapEnv {
	t.Helper()
	e := &ldapEnv{
		slapd:  ldaptest.Start(t, ldaptest.WithSeedFile("../../testdata/ldap/directory.ldif")),
		ld:     lightdashtest.NewServer(),
		dir:    t.TempDir(),
		emails: map[string]string{},
	}
	t.Cleanup(e.ld.Close)
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		m := e.ld.AddUser(u+"@example.com", lightdash.RoleViewer)
		e.emails[m.UserUUID] = u
	}
	return e
}

func (e *ldapEnv) config(t *testing.T, extra string) string {
	t.Helper()
	pw := filepath.Join(e.dir, "bind-password")
	os.WriteFile(pw, []byte(e.slapd.ReaderPassword()), 0o600)
	cfg := `
log: {level: info, format: console}
lightdash: {url: "` + e.ld.URL() + `", token: "` + e.ld.AdminToken() + `"}
sources:
  - name: corp
    type: ldap
    ldap:
      urls: ["` + e.slapd.URL() + `"]
      bind_dn: "` + e.slapd.ReaderDN() + `"
      bind_password_file: ` + pw + `
      user_base_dn: ou=people,dc=example,dc=com
      group_base_dn: ou=groups,dc=example,dc=com
      watch: syncrepl
mapping:
  rules:
    - name: teams
      include: [engineering, platform, sales]
      prefix: "ldap-"
state: {path: ` + filepath.Join(e.dir, "state.json") + `}
` + extra
	p := filepath.Join(e.dir, "lightdash-sync.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *ldapEnv) members(name string) string {
	if ms, ok := e.ld.GroupMembers(name, e.emails); ok {
		return strings.Join(ms, ",")
	}
	return "<no group>"
}

const engineering = "cn=engineering,ou=groups,dc=example,dc=com"

// TestPlanAndReconcileAgainstSlapd runs the one-shot commands against a
// real OpenLDAP: plan shows the work and writes nothing, reconcile does
// it, a second plan is empty, and a saved plan is applied only while the
// directory still matches it.
func TestPlanAndReconcileAgainstSlapd(t *testing.T) {
	e := newLDAPEnv(t)
	cfg := e.config(t, "")

	code, out, errOut := runMain(t, "plan", "--config", cfg, "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("first plan exited %d, want 2 (changes pending):\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"create  ldap-engineering", "3 members", "ldap-platform", "ldap-sales", "Plan: 3 to create"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if n := e.ld.WriteCount(); n != 0 {
		t.Fatalf("plan made %d writes", n)
	}

	if code, out, errOut := runMain(t, "reconcile", "--config", cfg); code != exitOK {
		t.Fatalf("reconcile exited %d:\n%s\n%s", code, out, errOut)
	}
	// engineering nests platform: carol comes through it.
	if got := e.members("ldap-engineering"); got != "alice,bob,carol" {
		t.Errorf("ldap-engineering = %s, want alice,bob,carol", got)
	}
	if got := e.members("ldap-sales"); got != "dave" {
		t.Errorf("ldap-sales = %s, want dave (a uniqueMember)", got)
	}
	if code, out, _ := runMain(t, "plan", "--config", cfg, "--detailed-exitcode"); code != exitOK || !strings.Contains(out, "No changes") {
		t.Errorf("plan after reconcile exited %d, want 0:\n%s", code, out)
	}

	// bob leaves engineering; save the plan, then apply exactly it.
	e.slapd.Modify(&goldap.ModifyRequest{DN: engineering, Changes: []goldap.Change{{Operation: goldap.DeleteAttribute, Modification: goldap.PartialAttribute{Type: "member", Vals: []string{"uid=bob,ou=people,dc=example,dc=com"}}}}})
	planFile := filepath.Join(e.dir, "plan.json")
	if code, out, errOut := runMain(t, "plan", "--config", cfg, "--output", "json", "--out", planFile); code != exitOK || !strings.Contains(out, `"remove"`) {
		t.Fatalf("plan --output json = %d:\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := runMain(t, "reconcile", "--config", cfg, "--plan", planFile); code != exitOK {
		t.Fatalf("reconcile --plan exited %d:\n%s\n%s", code, out, errOut)
	}
	if got := e.members("ldap-engineering"); got != "alice,carol" {
		t.Errorf("after the saved plan, ldap-engineering = %s, want alice,carol", got)
	}

	// A plan saved before the directory changed is refused.
	if code, _, _ := runMain(t, "plan", "--config", cfg, "--output", "json", "--out", planFile); code != exitOK {
		t.Fatal("plan failed")
	}
	e.slapd.Modify(&goldap.ModifyRequest{DN: engineering, Changes: []goldap.Change{{Operation: goldap.AddAttribute, Modification: goldap.PartialAttribute{Type: "member", Vals: []string{"uid=dave,ou=people,dc=example,dc=com"}}}}})
	code, _, errOut = runMain(t, "reconcile", "--config", cfg, "--plan", planFile)
	if code != exitFailure || !strings.Contains(errOut, "directory changed") {
		t.Errorf("a stale saved plan: exit %d, %q; want 1 and 'directory changed'", code, errOut)
	}
}

// TestLiveLDAPChangeReachesLightdash runs the daemon on a real slapd with
// syncrepl: a membership change reaches Lightdash, and costs one Lightdash
// request once the start-up reconciliation has read everything.
func TestLiveLDAPChangeReachesLightdash(t *testing.T) {
	e := newLDAPEnv(t)
	cfg := e.config(t, "schedule: {debounce: 10ms, max_delay: 100ms}\nadmin: {listen: \"127.0.0.1:0\"}\n")
	addr := runUntilTestEnds(t, cfg, daemonOpts{}).addr
	if got := e.members("ldap-engineering"); got != "alice,bob,carol" {
		t.Fatalf("after start-up, ldap-engineering = %s", got)
	}
	// The start-up reconciliation took the syncrepl watcher's read
	// instead of reading the directory a second time (sources/ldap share.go).
	if _, m := httpGet("http://" + addr + "/metrics"); !strings.Contains(m, `lightdash_sync_ldap_shared_snapshots_total{source="corp"} 1`) {
		t.Errorf("the start-up snapshot was not the watcher's read; metrics:\n%s", grepLines(m, "lightdash_sync_ldap_"))
	}

	before := len(e.ld.Requests())
	e.slapd.Modify(&goldap.ModifyRequest{DN: engineering, Changes: []goldap.Change{{Operation: goldap.AddAttribute, Modification: goldap.PartialAttribute{Type: "member", Vals: []string{"uid=dave,ou=people,dc=example,dc=com"}}}}})
	testutil.Eventually(t, "dave in ldap-engineering", func() bool { return e.members("ldap-engineering") == "alice,bob,carol,dave" })
	reqs := e.ld.Requests()[before:]
	if len(reqs) != 1 || reqs[0].Method != "PATCH" {
		var got []string
		for _, r := range reqs {
			got = append(got, r.Method+" "+r.Endpoint)
		}
		t.Errorf("the change cost %d Lightdash requests (%s), want exactly the one PATCH", len(reqs), strings.Join(got, ", "))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
