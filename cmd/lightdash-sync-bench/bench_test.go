package main

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// TestSmall runs the whole harness at the smoke size of issue 9 (1,000
// groups, 10,000 users) so it cannot rot. It checks correctness only —
// write counts, 2 list reads when warm, every live change written, every
// NATS group made, no errors — never a timing.
func TestSmall(t *testing.T) {
	if !ldaptest.Installed() {
		if os.Getenv("CI") == "true" {
			t.Fatal("slapd is not installed (run .ci/install-deps); the benchmark smoke test needs it in CI")
		}
		t.Skip("slapd not installed; run .ci/install-deps")
	}
	if testing.Short() {
		t.Skip("builds and runs the daemon; not in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opt, err := parseFlags([]string{
		"-users", "10000", "-groups", "1000", "-memberships", "50000",
		"-latency", "0", "-debounce", "50ms", "-changes", "10", "-events", "1000",
		"-run-timeout", "3m", "-ready-timeout", "2m", "-work", t.TempDir(),
		"-call-cost", "1ms", "-row-cost", "1us",
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs, err := Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Error(e)
	}
	var b strings.Builder
	printRows(&b, opt, rows)
	t.Log("\n" + b.String())
	want := map[string]bool{"cold": false, "warm": false, "changed 1%": false, "live change p99, debounce 50ms": false, "nats events": false,
		"burst 1000 changes on 10 groups, debounce 500ms": false,
		"daemon full run, directory from the watcher":     false, "daemon full run, directory read in full": false}
	startups := 0
	for _, r := range rows {
		if strings.HasPrefix(r.Scenario, "daemon start-up, ") {
			startups++
			continue
		}
		if _, ok := want[r.Scenario]; !ok {
			t.Errorf("unexpected row %q", r.Scenario)
			continue
		}
		want[r.Scenario] = true
		if r.WantWrites >= 0 && r.Writes != r.WantWrites {
			t.Errorf("%s: %d writes, want %d", r.Scenario, r.Writes, r.WantWrites)
		}
		if r.Scenario == "warm" && (r.Lists != 2 || r.Writes != 0) {
			t.Errorf("warm: %d list reads and %d writes, want 2 and 0", r.Lists, r.Writes)
		}
		if r.Scenario == "nats events" && r.Writes == 0 {
			t.Error("nats: no Lightdash writes")
		}
	}
	for s, seen := range want {
		if !seen {
			t.Errorf("no %q row", s)
		}
	}
	if startups != 2 { // the live daemon and the burst and full-run one
		t.Errorf("%d start-up rows, want 2", startups)
	}
}

func TestFlagsRejectBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"-latency", "fast"},
		{"-latency", "-5ms"},
		{"-debounce", "x"},
		{"-out", "html"},
		{"-scenarios", "cold,bogus"},
		{"-concurrency", "0"},
		{"-changes", "0"},
		{"-child-env", "GOMEMLIMIT"},
		{"-child-env", "=250MiB"},
		{"-call-cost", "-1ms"},
		{"-row-cost", "-1us"},
		{"-server-cpus", "-1"},
	} {
		if _, err := parseFlags(args, new(strings.Builder)); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	o, err := parseFlags([]string{"-latency", "0,20ms", "-scenarios", "cold,warm", "-child-env", "GOMEMLIMIT=250MiB, GOGC=50"}, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Latencies) != 2 || o.Latencies[1] != 20*time.Millisecond || !o.Scenarios["warm"] || o.Scenarios["live"] {
		t.Errorf("parsed %+v", o)
	}
	if !slices.Equal(o.ChildEnv, []string{"GOMEMLIMIT=250MiB", "GOGC=50"}) {
		t.Errorf("-child-env parsed as %q", o.ChildEnv)
	}
}

func TestGenerate(t *testing.T) {
	s := Size{Users: 1000, Groups: 100, Memberships: 5050, Nested: 0.1, Seed: 7}
	a, err := Generate(s, "dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(s, "dc=example,dc=com")
	if string(a.LDIF()) != string(b.LDIF()) {
		t.Error("same seed, different LDIF")
	}
	total, nested := 0, 0
	for g := range s.Groups {
		total += len(a.members[g])
		if a.child[g] >= 0 {
			nested++
			if a.isChild[g] {
				t.Errorf("group %d is both parent and child", g)
			}
		}
	}
	if total != s.Memberships || nested != 10 {
		t.Errorf("%d memberships, %d nested; want %d, 10", total, nested, s.Memberships)
	}
	ch := a.Changeable(10)
	if len(ch) != 10 {
		t.Fatalf("%d changeable groups, want 10", len(ch))
	}
	for _, g := range ch {
		if a.isChild[g] {
			t.Errorf("changeable group %d is nested in another", g)
		}
		u := a.NewMember(g, 1)
		if !matched(u) {
			t.Errorf("new member %d has no Lightdash account", u)
		}
	}
	for _, bad := range []Size{{Users: 0, Groups: 1, Memberships: 1}, {Users: 10, Groups: 5, Memberships: 2}, {Users: 10, Groups: 1, Memberships: 1, Nested: 0.9}, {Users: 2, Groups: 1, Memberships: 5}} {
		if _, err := Generate(bad, "dc=x"); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestRunOnceRSSIsTheChilds: the peak RSS of a one-shot child is its own,
// not this process's. (getrusage maxrss of a vfork-started child includes
// the parent's high-water mark; it made every one-shot figure ~400 MB
// too high before.)
func TestRunOnceRSSIsTheChilds(t *testing.T) {
	held := make([]byte, 300<<20)
	for i := range held {
		held[i] = byte(i)
	}
	res, err := runOnce(context.Background(), nil, "/bin/sh", "unused", "-c", "sleep 0.3")
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRSS <= 0 || res.MaxRSS > 100<<20 {
		t.Errorf("a shell sleeping reports peak RSS %d MB while the harness holds %d MB", res.MaxRSS>>20, len(held)>>20)
	}
	runtime.KeepAlive(held)
}

func TestCPUTimeCountsThisProcess(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for after := before; after <= before; after, _ = cpuTime(os.Getpid()) {
		for i := range 1 << 20 {
			x += i
		}
	}
	if before < 0 || x == 0 {
		t.Fatalf("cpuTime %s, sum %d", before, x)
	}
}
