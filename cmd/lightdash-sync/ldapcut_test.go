package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// cutConfig is e's configuration with the directory behind proxy, read in
// pages of two, and the safety thresholds opened wide, so that only the
// rule against acting on a partial read stands between a cut and a
// deletion.
func cutConfig(t *testing.T, e *ldapEnv, proxy *ldaptest.CutProxy, extra, ldapExtra string) string {
	t.Helper()
	cfg := e.config(t, `
sync:
  safety: {delete_grace_period: 0s, delete_after_reads: 1, max_group_deletes: 1000, max_group_deletes_percent: 100,
           max_member_removals: 100000, max_member_removals_percent: 100}
`+extra)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), e.slapd.URL(), proxy.URL(), 1)
	s = strings.Replace(s, "watch: syncrepl", "watch: syncrepl\n      page_size: 2", 1)
	if ldapExtra != "" {
		s = strings.Replace(s, "watch: syncrepl", "watch: syncrepl\n      "+ldapExtra, 1)
	}
	if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReconcileThroughCutConnectionDeletesNothing is the one-shot
// reconcile of an unchanged directory whose LDAP connection is cut,
// cleanly and mid-message, at every message of the read, with the safety
// thresholds opened wide: it must fail or hold back, and never delete a
// group or remove a member on the strength of the part it read.
func TestReconcileThroughCutConnectionDeletesNothing(t *testing.T) {
	e := newLDAPEnv(t)
	proxy := ldaptest.NewCutProxy(t, e.slapd.URL())
	cfg := cutConfig(t, e, proxy, "", "")

	proxy.Reset()
	if code, out, errOut := runMain(t, "reconcile", "--config", cfg); code != exitOK {
		t.Fatalf("uncut reconcile exited %d:\n%s\n%s", code, out, errOut)
	}
	want := map[string]string{}
	for _, name := range []string{"ldap-engineering", "ldap-platform", "ldap-sales"} {
		want[name] = e.members(name)
	}
	msgs := proxy.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the reconcile's LDAP connections: %v messages, want one connection", msgs)
	}
	writes := e.ld.WriteCount()
	for n := 1; n < msgs[0]; n++ {
		for _, mid := range []bool{false, true} {
			proxy.Arm(ldaptest.Cut{After: n, Mid: mid})
			code, _, errOut := runMain(t, "reconcile", "--config", cfg)
			if code == exitOK {
				t.Errorf("cut %d (mid %v): reconcile succeeded on a cut read", n, mid)
			}
			if !strings.Contains(errOut, "corp") {
				t.Errorf("cut %d (mid %v): the error does not name the source:\n%s", n, mid, errOut)
			}
			if w := e.ld.WriteCount(); w != writes {
				t.Fatalf("cut %d (mid %v): %d Lightdash writes after a cut read:\n%s", n, mid, w-writes, errOut)
			}
		}
	}
	for name, m := range want {
		if got := e.members(name); got != m {
			t.Errorf("%s = %s, want %s", name, got, m)
		}
	}
}

// TestDaemonThroughCutConnectionsRemovesNothing runs the daemon with
// every LDAP connection it opens cut at one message, moving the cut
// through every message of the read a full run makes: the syncrepl
// session, the scheduled full reads and the reads of the groups an event
// names all break somewhere. While they do, no group may be deleted and no
// member removed; once the network heals, a change made meanwhile arrives.
// Both kinds of full read are cut: a paged read of the daemon's own, and
// the refresh of a syncrepl session restarted for a full run.
func TestDaemonThroughCutConnectionsRemovesNothing(t *testing.T) {
	for _, tc := range []struct{ name, extra string }{
		// With a one-level group scope the watcher's refresh cannot stand
		// for a read, so every full run reads in pages of two.
		{"paged read", "group_scope: one"},
		// Every full run restarts the syncrepl session, whose refresh
		// without a cookie is the read the run takes.
		{"watcher refresh", "watch_snapshot_max_age: 1ns"},
	} {
		t.Run(tc.name, func(t *testing.T) { testDaemonThroughCuts(t, tc.extra) })
	}
}

func testDaemonThroughCuts(t *testing.T, extra string) {
	e := newLDAPEnv(t)
	proxy := ldaptest.NewCutProxy(t, e.slapd.URL())
	cfg := cutConfig(t, e, proxy, `
schedule: {reconcile: "@every 1s", debounce: 10ms, max_delay: 100ms}
admin: {listen: "127.0.0.1:0"}
`, extra)
	addr := runUntilTestEnds(t, cfg, daemonOpts{}).addr
	want := map[string]string{"ldap-engineering": "alice,bob,carol", "ldap-platform": "carol", "ldap-sales": "dave"}
	for name, m := range want {
		if got := e.members(name); got != m {
			t.Fatalf("after start-up, %s = %s, want %s", name, got, m)
		}
	}
	// The longest connection of two uncut full runs is the read they make.
	proxy.Reset()
	waitFullRuns(t, addr, "uncut", func() {})
	read := slices.Max(append(proxy.Messages(), 0))
	t.Logf("the full runs' connections carried %v messages", proxy.Messages())
	if read < 14 { // the bind, 5 users and 7 groups, and the end of the read
		t.Fatalf("the full runs' reads carried %d messages, want at least 14: %v", read, proxy.Messages())
	}
	// dave joins engineering while every read is being cut: the syncrepl
	// session and the event's read break, and so do the full runs.
	e.slapd.Modify(&goldap.ModifyRequest{DN: engineering, Changes: []goldap.Change{{Operation: goldap.AddAttribute,
		Modification: goldap.PartialAttribute{Type: "member", Vals: []string{"uid=dave,ou=people,dc=example,dc=com"}}}}})
	for n := 1; n < read; n += 3 {
		cut := ldaptest.Cut{After: n, Mid: n%4 == 3}
		proxy.Arm(cut)
		failed := failedRuns(addr)
		waitFullRuns(t, addr, cut.String(), func() {
			for name, m := range want {
				if got := e.members(name); !holds(got, m) {
					t.Fatalf("cut %v: %s = %s, had %s", cut, name, got, m)
				}
			}
		})
		if proxy.Cuts() == 0 {
			t.Fatalf("cut %v: no connection was cut", cut)
		}
		// The second run started after the cut was armed: its read broke.
		if failedRuns(addr) == failed {
			t.Fatalf("cut %v: no full run failed: the cut missed the full read", cut)
		}
	}
	for _, r := range e.ld.Requests() {
		if r.Method == "DELETE" {
			t.Errorf("a Lightdash DELETE while reads were cut: %s", r.Path)
		}
	}
	proxy.Reset()
	testutil.Eventually(t, "dave in ldap-engineering", func() bool { return e.members("ldap-engineering") == "alice,bob,carol,dave" })
	if _, m := httpGet("http://" + addr + "/metrics"); strings.Contains(m, `directory_read="watcher"`) {
		t.Errorf("a full run took the watcher's state:\n%s", grepLines(m, "directory_reads_total"))
	}
}

// waitFullRuns waits for two more full runs to end at addr, calling check
// while it waits.
func waitFullRuns(t *testing.T, addr, what string, check func()) {
	t.Helper()
	runs := fullRuns(addr)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		check()
		if fullRuns(addr) >= runs+2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no two full runs in 10s", what)
		}
	}
}

// holds reports whether the comma-separated members got include all of want's.
func holds(got, want string) bool {
	have := map[string]bool{}
	for _, m := range strings.Split(got, ",") {
		have[m] = true
	}
	for _, m := range strings.Split(want, ",") {
		if !have[m] {
			return false
		}
	}
	return true
}

// fullRuns is how many full reconciliations the daemon at addr ended.
func fullRuns(addr string) int { return countRuns(addr, "") }

// failedRuns is how many of them failed with an error.
func failedRuns(addr string) int { return countRuns(addr, `result="error"`) }

// countRuns sums lightdash_sync_reconcile_runs_total over the series whose
// labels contain label.
func countRuns(addr, label string) int {
	_, m := httpGet("http://" + addr + "/metrics")
	n := 0
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "lightdash_sync_reconcile_runs_total{") && strings.Contains(l, label) {
			var v float64
			fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v)
			n += int(v)
		}
	}
	return n
}
