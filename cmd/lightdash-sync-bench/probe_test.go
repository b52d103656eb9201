package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// TestResetHWM checks that a phase's peak RSS does not carry the peak of
// the phase before: after 256 MB are touched and handed back to the
// system, the reset mark is below the old one.
func TestResetHWM(t *testing.T) {
	pid := os.Getpid()
	b := make([]byte, 256<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	before, err := vmHWM(pid)
	if err != nil {
		t.Fatal(err)
	}
	b = nil
	runtime.GC()
	debug.FreeOSMemory()
	if err := resetHWM(pid); err != nil {
		t.Fatal(err)
	}
	after, err := vmHWM(pid)
	if err != nil {
		t.Fatal(err)
	}
	if after > before-128<<20 {
		t.Errorf("VmHWM after the reset %d MB, before %d MB: not reset", after>>20, before>>20)
	}
}

// TestPagesFloorFetchesWhatTheClientReads checks that the warm floor asks
// for exactly the pages the client's ListUsers and ListGroups read.
func TestPagesFloorFetchesWhatTheClientReads(t *testing.T) {
	ld := lightdashtest.NewServer()
	defer ld.Close()
	for i := range 2*lightdash.DefaultUserPageSize + 10 {
		ld.AddUser(userEmail(i), lightdash.RoleMember)
	}
	ctx := context.Background()
	c := &lightdash.Client{BaseURL: ld.URL(), Token: ld.AdminToken(), RateLimit: 1e6, Burst: 1000, Timeout: time.Minute}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListGroups(ctx); err != nil {
		t.Fatal(err)
	}
	want := listCalls(ld)
	ld.ResetRequests()
	if _, err := fetchPages(ctx, ld.URL(), ld.AdminToken(), len(ld.Users())); err != nil {
		t.Fatal(err)
	}
	if got := listCalls(ld); !slices.Equal(got, want) {
		t.Errorf("floor fetched %q, the client read %q", got, want)
	}
	if len(want) != warmLists(len(ld.Users())) {
		t.Errorf("client read %d lists, want %d", len(want), warmLists(len(ld.Users())))
	}
}

// listCalls is the fake's log as sorted "method path?query".
func listCalls(ld *lightdashtest.Server) []string {
	var out []string
	for _, r := range ld.Requests() {
		out = append(out, r.Method+" "+r.Path+"?"+r.Query)
	}
	slices.Sort(out)
	return out
}
