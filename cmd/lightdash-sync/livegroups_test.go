package main

import (
	"os"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// TestLiveLDAPChangesOpenNoConnection: once the syncrepl watcher vouches
// for its state, the daemon reads the groups each live change names from
// that state: a run of changes reaches Lightdash without a single new
// LDAP connection (so no bind and no search per event).
func TestLiveLDAPChangesOpenNoConnection(t *testing.T) {
	e := newLDAPEnv(t)
	proxy := ldaptest.NewCutProxy(t, e.slapd.URL())
	// The removal limits are opened wide: the changes remove members.
	cfg := e.config(t, `
schedule: {debounce: 10ms, max_delay: 100ms}
admin: {listen: "127.0.0.1:0"}
sync:
  safety: {max_member_removals: 100000, max_member_removals_percent: 100}
`)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), e.slapd.URL(), proxy.URL(), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := runUntilTestEnds(t, cfg, daemonOpts{}).addr
	if got := e.members("ldap-engineering"); got != "alice,bob,carol" {
		t.Fatalf("after start-up, ldap-engineering = %s", got)
	}

	proxy.Reset()
	member := func(op uint, uid string) {
		e.slapd.Modify(&goldap.ModifyRequest{DN: engineering, Changes: []goldap.Change{{Operation: op,
			Modification: goldap.PartialAttribute{Type: "member", Vals: []string{"uid=" + uid + ",ou=people,dc=example,dc=com"}}}}})
	}
	steps := []struct {
		op   uint
		uid  string
		want string
	}{
		{goldap.AddAttribute, "dave", "alice,bob,carol,dave"},
		{goldap.DeleteAttribute, "bob", "alice,carol,dave"},
		{goldap.AddAttribute, "bob", "alice,bob,carol,dave"},
		{goldap.DeleteAttribute, "dave", "alice,bob,carol"},
		{goldap.DeleteAttribute, "alice", "bob,carol"},
	}
	for _, s := range steps {
		member(s.op, s.uid)
		testutil.Eventually(t, "ldap-engineering = "+s.want, func() bool { return e.members("ldap-engineering") == s.want })
	}
	if conns := proxy.Messages(); len(conns) != 0 {
		t.Errorf("%d live changes opened %d LDAP connections (messages each: %v), want none", len(steps), len(conns), conns)
	}
	_, m := httpGet("http://" + addr + "/metrics")
	if !strings.Contains(m, `lightdash_sync_ldap_group_reads_total{from="watcher",source="corp"}`) ||
		strings.Contains(m, `lightdash_sync_ldap_group_reads_total{from="directory"`) {
		t.Errorf("the changed groups were not all read from the watcher's state:\n%s", grepLines(m, "group_reads_total"))
	}
}
