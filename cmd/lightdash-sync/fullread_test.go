package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
)

// TestReconcileReadFullFromTheDaemon: on a daemon whose full runs take the
// syncrepl watcher's state, POST /reconcile takes it again and POST
// /reconcile?read=full reads the directory in full.
func TestReconcileReadFullFromTheDaemon(t *testing.T) {
	e := newLDAPEnv(t)
	cfg := e.config(t, "schedule: {debounce: 10ms, max_delay: 100ms}\nadmin: {listen: \"127.0.0.1:0\", token: "+testAdminToken+"}\n")
	base := "http://" + runUntilTestEnds(t, cfg, daemonOpts{}).addr
	for _, c := range []struct{ query, want string }{
		{"", "watcher"},
		{"?read=full", "full"},
		{"", "watcher"},
	} {
		runs, reads := fullRuns(base[len("http://"):]), directoryReads(base, c.want)
		if code := httpPost(base+"/reconcile"+c.query, testAdminToken); code != http.StatusAccepted {
			t.Fatalf("POST /reconcile%s = %d", c.query, code)
		}
		testutil.Eventually(t, "a requested full run", func() bool { return fullRuns(base[len("http://"):]) > runs })
		if n := directoryReads(base, c.want); n != reads+1 {
			t.Errorf("POST /reconcile%s: directory reads %q went from %d to %d, want one more", c.query, c.want, reads, n)
		}
	}
}

// directoryReads is lightdash_sync_full_reconcile_directory_reads_total
// for source corp and directory_read how.
func directoryReads(base, how string) int {
	_, m := httpGet(base + "/metrics")
	series := fmt.Sprintf(`lightdash_sync_full_reconcile_directory_reads_total{directory_read=%q,source="corp"} `, how)
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, series) {
			var v int
			fmt.Sscan(strings.TrimPrefix(l, series), &v)
			return v
		}
	}
	return 0
}
