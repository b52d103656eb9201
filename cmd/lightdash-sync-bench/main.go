// Command lightdash-sync-bench measures lightdash-sync at directory scale:
// it generates a directory, loads it into a real slapd with
// slapadd and its users into the fake Lightdash, runs the real
// lightdash-sync binary against them, and prints each figure beside the
// floor measured in the same run (a bare paged LDAP dump, the minimum
// Lightdash calls times the latency of one call). See docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Options are the harness's flags.
type Options struct {
	Size
	Latencies []time.Duration
	Debounces []time.Duration
	Changes   int
	Events    int
	// MaxAckPending is the NATS source's max_ack_pending (0: the
	// product's default).
	MaxAckPending int
	Concurrency   int
	Rate          float64
	Cost          Cost   // the fake Lightdash's cost model; zero: off
	Out           string // table or markdown
	Scenarios     map[string]bool
	Bin           string // lightdash-sync binary; built when empty
	ColdBin       string // binary for the cold reconciliation only; Bin when empty
	RunTimeout    time.Duration
	Work          string // scratch directory; a temp dir when empty
	ReadyTimeout  time.Duration
	ChildEnv      []string  // extra NAME=value for the binary under test (-child-env)
	Verbose       io.Writer // progress; nil for none
}

var allScenarios = []string{"cold", "warm", "changed", "live", "burst", "fullrun", "nats"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rows, errs, err := Run(ctx, opt)
	printRows(os.Stdout, opt, rows)
	for _, e := range errs {
		fmt.Fprintln(os.Stderr, "CHECK FAILED:", e)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("lightdash-sync-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	var lat, deb, scen string
	fs.IntVar(&o.Users, "users", 100000, "directory users")
	fs.IntVar(&o.Groups, "groups", 10000, "directory groups")
	fs.IntVar(&o.Memberships, "memberships", 500000, "direct user memberships")
	fs.Float64Var(&o.Nested, "nested", 0.05, "fraction of groups holding a nested group")
	fs.Uint64Var(&o.Seed, "seed", 1, "generator seed")
	fs.StringVar(&lat, "latency", "0,20ms", "fake Lightdash per-request latencies, comma-separated")
	fs.StringVar(&deb, "debounce", "0,500ms", "daemon debounce values for the live-change scenario")
	fs.IntVar(&o.Changes, "changes", 200, "live changes per debounce value")
	fs.IntVar(&o.Events, "events", 50000, "NATS events to publish")
	fs.IntVar(&o.MaxAckPending, "max-ack-pending", 0, "the NATS source's max_ack_pending (0: the product default)")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "sync.concurrency (and lightdash.burst)")
	fs.Float64Var(&o.Rate, "rate", 1000, "lightdash.rate_limit, requests per second")
	fs.DurationVar(&o.Cost.Call, "call-cost", 0, "fake Lightdash: server CPU each token call spends first (the real bcrypt: 50ms; 0: off)")
	fs.DurationVar(&o.Cost.Row, "row-cost", 0, "fake Lightdash: time a list answer spends per row on the server's one event loop (10us: see docs/benchmarks.md; 0: off)")
	fs.IntVar(&o.Cost.CPUs, "server-cpus", 0, "fake Lightdash: token checks run at once under -call-cost (0: lightdashtest.DefaultServerCPUs)")
	fs.StringVar(&o.Out, "out", "table", "table or markdown")
	fs.StringVar(&scen, "scenarios", "all", "all, or some of "+strings.Join(allScenarios, ","))
	fs.StringVar(&o.Bin, "bin", "", "lightdash-sync binary (built from this module when empty)")
	fs.StringVar(&o.ColdBin, "cold-bin", "", "binary for the cold reconciliation only (to prime the state when -bin cannot finish it in time); the row says so")
	fs.DurationVar(&o.RunTimeout, "run-timeout", 9*time.Minute, "longest one reconcile subprocess may run; a killed run reports the writes it made")
	fs.StringVar(&o.Work, "work", "", "scratch directory (a temporary one, removed after, when empty)")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 10*time.Minute, "how long the daemon may take to become ready")
	var childEnv string
	fs.StringVar(&childEnv, "child-env", "", "comma-separated NAME=value set for the binary under test only, e.g. GOMEMLIMIT=250MiB")
	verbose := fs.Bool("v", false, "print progress to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.Latencies, err = durations(lat); err != nil {
		return o, fmt.Errorf("-latency: %w", err)
	}
	if o.Debounces, err = durations(deb); err != nil {
		return o, fmt.Errorf("-debounce: %w", err)
	}
	if o.Scenarios, err = scenarios(scen); err != nil {
		return o, err
	}
	for _, kv := range strings.Split(childEnv, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return o, fmt.Errorf("-child-env: %q is not NAME=value", kv)
		}
		o.ChildEnv = append(o.ChildEnv, kv)
	}
	if o.Out != "table" && o.Out != "markdown" {
		return o, fmt.Errorf("-out: %q is not table or markdown", o.Out)
	}
	if o.Concurrency <= 0 || o.Rate <= 0 || o.Changes <= 0 || o.Events < 0 {
		return o, fmt.Errorf("-concurrency, -rate and -changes must be positive, -events not negative")
	}
	if o.Cost.Call < 0 || o.Cost.Row < 0 || o.Cost.CPUs < 0 {
		return o, fmt.Errorf("-call-cost, -row-cost and -server-cpus must not be negative")
	}
	if *verbose {
		o.Verbose = stderr
	}
	return o, nil
}

func durations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil {
			return nil, err
		}
		if d < 0 {
			return nil, fmt.Errorf("%s is negative", f)
		}
		out = append(out, d)
	}
	return out, nil
}

func scenarios(s string) (map[string]bool, error) {
	m := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "all" {
			for _, a := range allScenarios {
				m[a] = true
			}
			continue
		}
		known := false
		for _, a := range allScenarios {
			known = known || a == f
		}
		if !known {
			return nil, fmt.Errorf("-scenarios: unknown %q (want all or %s)", f, strings.Join(allScenarios, ","))
		}
		m[f] = true
	}
	return m, nil
}
