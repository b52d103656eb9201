package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
)

// testDaemon is a `lightdash-sync run` started by runUntilTestEnds.
type testDaemon struct {
	addr string // the admin listener's host:port
	// stop cancels the daemon and waits for it; the test fails unless it
	// exits 0 within the bound. Later calls, and the cleanup's, do nothing.
	stop func()
}

// daemonOpts is what a few callers change; the zero value suits most.
type daemonOpts struct {
	args       []string      // flags after run --config, e.g. --dry-run
	stopWithin time.Duration // the bound on stopping; 40 s when zero
	// waitReady waits for /readyz; testutil.Eventually when nil.
	waitReady func(t *testing.T, what string, cond func() bool)
}

// runUntilTestEnds runs `run --config cfg` until the end of the test (or stop)
// and returns once its /readyz answers 200. The configuration's admin
// listener must log its address (adminAddr).
func runUntilTestEnds(t *testing.T, cfg string, opts daemonOpts) testDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	var stderr syncBuffer
	args := append([]string{"run", "--config", cfg}, opts.args...)
	go func() { exited <- Main(ctx, args, &syncBuffer{}, &stderr) }()
	bound := opts.stopWithin
	if bound == 0 {
		bound = 40 * time.Second
	}
	var once sync.Once
	d := testDaemon{stop: func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-exited:
				if code != exitOK {
					t.Errorf("run exited %d:\n%s", code, stderr.String())
				}
			case <-time.After(bound):
				t.Errorf("run did not stop within %v:\n%s", bound, stderr.String())
			}
		})
	}}
	t.Cleanup(d.stop)
	d.addr = adminAddr(t, &stderr)
	wait := opts.waitReady
	if wait == nil {
		wait = func(t *testing.T, what string, cond func() bool) { testutil.Eventually(t, what, cond) }
	}
	wait(t, "/readyz", func() bool { code, _ := httpGet("http://" + d.addr + "/readyz"); return code == 200 })
	return d
}
