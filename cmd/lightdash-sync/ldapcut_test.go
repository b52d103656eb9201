package main

import (
	"context"
	"fmt"
	"os"
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
func cutConfig(t *testing.T, e *ldapEnv, proxy *ldaptest.CutProxy, extra string, daemonReads bool) string {
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
	if daemonReads {
		// Every full run reads the directory (the watcher restarts from a
		// full read) instead of taking the watcher's state, so the cuts
		// reach the full reads.
		s = strings.Replace(s, "watch: syncrepl", "watch: syncrepl\n      watch_snapshot_max_age: 1ns", 1)
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
	cfg := cutConfig(t, e, proxy, "", false)

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
// through every message of a read: the syncrepl session, the scheduled
// full reads and the reads of the groups an event names all break
// somewhere. While they do, no group may be deleted and no member
// removed; once the network heals, a change made meanwhile arrives.
func TestDaemonThroughCutConnectionsRemovesNothing(t *testing.T) {
	e := newLDAPEnv(t)
	proxy := ldaptest.NewCutProxy(t, e.slapd.URL())
	cfg := cutConfig(t, e, proxy, `
schedule: {reconcile: "@every 1s", debounce: 10ms, max_delay: 100ms}
admin: {listen: "127.0.0.1:0"}
`, true)
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	var stderr syncBuffer
	go func() { exited <- Main(ctx, []string{"run", "--config", cfg}, &syncBuffer{}, &stderr) }()
	defer func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			t.Error("run did not stop")
		}
	}()
	addr := adminAddr(t, &stderr)
	testutil.Eventually(t, "/readyz", func() bool { code, _ := httpGet("http://" + addr + "/readyz"); return code == 200 })
	want := map[string]string{"ldap-engineering": "alice,bob,carol", "ldap-platform": "carol", "ldap-sales": "dave"}
	for name, m := range want {
		if got := e.members(name); got != m {
			t.Fatalf("after start-up, %s = %s, want %s", name, got, m)
		}
	}
	// dave joins engineering while every read is being cut: the syncrepl
	// session and the event's read break, and so do the full runs.
	e.slapd.Modify(&goldap.ModifyRequest{DN: engineering, Changes: []goldap.Change{{Operation: goldap.AddAttribute,
		Modification: goldap.PartialAttribute{Type: "member", Vals: []string{"uid=dave,ou=people,dc=example,dc=com"}}}}})
	// A full read in pages of two is 21 messages: the bind, 5 users and
	// 7 groups, and 3 and 4 page ends.
	for n := 1; n <= 20; n += 3 {
		cut := ldaptest.Cut{After: n, Mid: n%4 == 3}
		proxy.Arm(cut)
		// Two scheduled runs end: the second started after the cut was armed.
		for runs, deadline := fullRuns(addr), time.Now().Add(10*time.Second); fullRuns(addr) < runs+2; {
			for name, m := range want {
				if got := e.members(name); !holds(got, m) {
					t.Fatalf("cut %v: %s = %s, had %s", cut, name, got, m)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("cut %v: no two full runs in 10s", cut)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if proxy.Cuts() == 0 {
			t.Fatalf("cut %v: no connection was cut", cut)
		}
	}
	for _, r := range e.ld.Requests() {
		if r.Method == "DELETE" {
			t.Errorf("a Lightdash DELETE while reads were cut: %s", r.Path)
		}
	}
	proxy.Reset()
	testutil.Eventually(t, "dave in ldap-engineering", func() bool { return e.members("ldap-engineering") == "alice,bob,carol,dave" })
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
func fullRuns(addr string) int {
	_, m := httpGet("http://" + addr + "/metrics")
	n := 0
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "lightdash_sync_reconcile_runs_total{") {
			var v float64
			fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v)
			n += int(v)
		}
	}
	return n
}
