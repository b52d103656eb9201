package chaos

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/worker/lease"
)

// flappingScenario sizes the flapping test: how many leadership moves to
// force, how long each new leader keeps the lease before the next push
// (so that it writes in its term), and the pace of directory changes.
type flappingScenario struct {
	scenario
	Moves int
	Dwell time.Duration
	Every time.Duration
}

var (
	shortFlapping = flappingScenario{
		scenario: scenario{Name: "short", Users: 60, Groups: 24, NewGroups: 4, Converge: time.Minute,
			LeaseTTL: 3 * time.Second, LightdashTimeout: 2 * time.Second},
		Moves: 8, Dwell: 300 * time.Millisecond, Every: 50 * time.Millisecond,
	}
	longFlapping = flappingScenario{
		scenario: scenario{Name: "long", Users: 200, Groups: 100, NewGroups: 12, Converge: 2 * time.Minute,
			LeaseTTL: 3 * time.Second, LightdashTimeout: 2 * time.Second},
		Moves: 40, Dwell: time.Second, Every: 50 * time.Millisecond,
	}
)

// push is one way an outsider or the network takes the lease from its
// holder without killing anyone.
type push string

const (
	pushDelete   push = "lease deleted"
	pushGarbage  push = "lease overwritten with garbage"
	pushIntruder push = "lease overwritten by another holder"
	pushCut      push = "leader's NATS connection cut"
)

var (
	pushes    = []push{pushDelete, pushGarbage, pushIntruder, pushCut}
	pushNames = map[string]push{"delete": pushDelete, "garbage": pushGarbage, "intruder": pushIntruder, "cut": pushCut}

	pushFlag = flag.String("chaos.pushes", "delete,garbage,intruder,cut", "the ways TestFlapping moves leadership, comma-separated")
)

// pushOrder is the pushes of -chaos.pushes in an order drawn from rng,
// each kind once per cycle, so that every kind is used (a cut moves
// leadership to the other replica for sure; after a push on the lease
// itself, either replica may win it).
func pushOrder(rng *mrand.Rand, n int) ([]push, error) {
	var kinds []push
	for _, name := range strings.Split(*pushFlag, ",") {
		p, ok := pushNames[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("-chaos.pushes: unknown push %q (want delete, garbage, intruder, cut)", name)
		}
		kinds = append(kinds, p)
	}
	var order []push
	for len(order) < n {
		cycle := append([]push(nil), kinds...)
		rng.Shuffle(len(cycle), func(i, j int) { cycle[i], cycle[j] = cycle[j], cycle[i] })
		order = append(order, cycle...)
	}
	return order, nil
}

// leaseBucket is the daemon's default ha.bucket.
const leaseBucket = "lightdash_sync_leader"

// TestFlapping is issue 10's "two replicas, forced leadership flapping:
// never two writers at once". Two `lightdash-sync run` replicas share one
// NATS (each through its own TCP proxy) and follow one slapd while a
// driver changes the directory every Every. The test moves leadership
// again and again, killing nobody: it deletes the lease key, overwrites
// it with garbage or with another holder through the NATS key-value API,
// and cuts the leader's NATS connection until the standby has taken over.
// From the replicas' logs (term windows) and the fake Lightdash's request
// log (which token wrote when), no replica may write outside its own terms
// or inside the other's (see termProblems). After the flapping, one
// requested reconciliation later, Lightdash must equal the directory, and
// both replicas must exit 0 on SIGTERM.
func TestFlapping(t *testing.T) {
	if testing.Short() {
		t.Skip("the flapping test runs two daemons for half a minute; not in -short mode")
	}
	ldaptest.RequireSlapd(t)
	fs := shortFlapping
	if *longFlag {
		fs = longFlapping
	}
	var mu sync.Mutex
	proxies := map[*proc]*Proxy{}
	var r *haRig
	r = newHARig(t, "flapping", fs.scenario, func(p *proc, s daemonSettings) daemonSettings {
		px, err := NewProxy(hostPort(t, r.ns.ClientURL()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { px.Close() })
		mu.Lock()
		proxies[p] = px
		mu.Unlock()
		s.NATSURL = "nats://" + px.Addr()
		return s
	})
	ctx := r.ctx

	// The outsider's own connection, straight to the server.
	nc, err := nats.Connect(r.ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	// Half a poll apart, so that after a push on the lease the replica
	// that did not lead tends to poll first (see the pacing below).
	a, b := r.startPair(fs.LeaseTTL / 6)
	runs := []*proc{a, b}
	kv, err := js.KeyValue(ctx, leaseBucket)
	if err != nil {
		t.Fatalf("the lease bucket: %v", err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("lease keys %v (%v), want exactly one", keys, err)
	}
	key := keys[0]

	// Paced for the whole flapping, so that the new groups come during it;
	// stopped when the moves are done.
	stopChanges := r.changes(time.Duration(fs.Moves)*(takeoverBound(fs.LeaseTTL)+2*fs.Dwell), fs.Every)
	flapStart := time.Now()
	rng := r.rng(3)
	order, err := pushOrder(rng, 4*fs.Moves)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[push]int{}
	moves := 0
	ledAt := time.Now() // about when the current leader was elected
	bound := 4 * takeoverBound(fs.LeaseTTL)
	for moves < fs.Moves && len(order) > 0 {
		old := leaderOf(ctx, runs)
		if old == nil {
			t.Fatalf("no replica leads before move %d:\n%s", moves+1, tail(runs, 20))
		}
		how := order[0]
		order = order[1:]
		pushed := time.Now()
		switch how {
		case pushDelete:
			err = kv.Delete(ctx, key)
		case pushGarbage:
			_, err = kv.Put(ctx, key, []byte("not a lease"))
		case pushIntruder:
			var v []byte
			v, err = json.Marshal(map[string]any{"holder": "intruder", "expires": time.Now().Add(fs.LeaseTTL)})
			if err == nil {
				_, err = kv.Put(ctx, key, v)
			}
		case pushCut:
			mu.Lock()
			px := proxies[old]
			mu.Unlock()
			px.Cut()
		}
		if err != nil {
			t.Fatalf("move %d, %s: %v", moves+1, how, err)
		}
		counts[how]++
		next, ok := waitMoved(ctx, runs, old, how == pushCut, time.Now().Add(bound))
		ledAt = time.Now()
		if how == pushCut {
			mu.Lock()
			proxies[old].Restore()
			mu.Unlock()
		}
		if !ok {
			t.Fatalf("move %d: %s at %s, and no new term within %s:\n%s", moves+1, how, clock(pushed), bound, tail(runs, 30))
		}
		moves++
		t.Logf("move %d: %s; run %d led, run %d leads %s later", moves, how, old.n, next.n, time.Since(pushed).Round(10*time.Millisecond))
		sleep(ctx, fs.Dwell)
		// A push on the lease is won by whichever replica polls first once
		// the pushed value has expired server-side, a TTL later. The new
		// leader renews, and after losing polls, in step with its election;
		// pushing just after one of its ticks lets the other replica's poll
		// come first, so most pushes hand leadership over.
		renew := lease.DefaultRenewEvery(fs.LeaseTTL)
		phase := time.Since(ledAt) % renew
		sleep(ctx, (renew+renew/8-phase)%renew)
	}
	flapped := time.Since(flapStart)
	created := stopChanges()
	stopped := time.Now()

	// Converged: the last leader, asked for one full reconciliation, makes
	// Lightdash equal the directory.
	leader := waitOneLeaderOf(t, ctx, runs, fs.Converge)
	r.sup.follow(leader)
	want := r.directory(created)
	requestReconcile(t, ctx, r.sup, fs.scenario, r.ld, want, stopped)
	got, count := lightdashGroups(r.ld)
	checkState(t, want, got, count, r.manual)

	// Graceful stops, then the writers.
	r.stop(runs...)
	reqs := r.ld.Requests()
	var terms []term
	for _, p := range runs {
		ts, err := readTerms(p)
		if err != nil {
			t.Fatal(err)
		}
		terms = append(terms, ts...)
	}
	problems, rep := termProblems(reqs, runs, terms)
	// The old leader's late writes first: they are the damaging kind.
	var late, rest []string
	for _, p := range problems {
		if strings.Contains(p, "the old leader still wrote") {
			late = append(late, p)
		} else {
			rest = append(rest, p)
		}
	}
	for _, ps := range [][]string{late, rest} {
		for i, p := range ps {
			if i == 10 {
				t.Errorf("... and %d more like it", len(ps)-i)
				break
			}
			t.Error(p)
		}
	}
	for _, o := range rep.Overlaps {
		t.Logf("term windows overlap: %s", o)
	}
	if len(problems) > 0 {
		t.Logf("%d writes by an old leader inside the next leader's term, %d by a new leader while the old one's term was not over", rep.Stale, rep.Early)
	}
	t.Logf("%d moves forced in %s (%s); the logs show %d terms, %d moves, %d to the other replica; %d writes checked in %d terms; closest write to the other replica's term: %s; latest write after its own term's end (on the wire): %s",
		moves, flapped.Round(100*time.Millisecond), pushSummary(counts), rep.Terms, rep.Moves, rep.Handovers, rep.Writes, rep.WrittenTerms, closest(rep.Closest), rep.Latest)
	if rep.Moves < fs.Moves {
		t.Errorf("the logs show %d moves, want at least %d: the flapping did not happen", rep.Moves, fs.Moves)
	}
	// A cut hands leadership to the other replica for sure; after a push
	// on the lease, the first replica to poll once the value has expired
	// server-side (the bucket's TTL) takes it, often the same one again.
	if rep.Handovers == 0 && counts[pushCut] > 0 {
		t.Error("leadership never passed to the other replica")
	}
	// The check has teeth only if both replicas wrote, in many terms.
	if rep.WrittenTerms < fs.Moves/2 {
		t.Errorf("only %d of %d terms had writes; the check saw too little", rep.WrittenTerms, rep.Terms)
	}
	r.checkOutputs(reqs)
}

// leaderOf returns the run that says it leads, or nil.
func leaderOf(ctx context.Context, runs []*proc) *proc {
	for _, p := range runs {
		if isLeader(ctx, p) {
			return p
		}
	}
	return nil
}

// waitMoved waits until old no longer leads and some run (old included,
// unless other is true) leads in a new term.
func waitMoved(ctx context.Context, runs []*proc, old *proc, other bool, deadline time.Time) (*proc, bool) {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	gone := false
	for wctx.Err() == nil {
		if !gone {
			gone = !isLeader(wctx, old)
		}
		if gone {
			for _, p := range runs {
				if (p != old || !other) && isLeader(wctx, p) {
					return p, true
				}
			}
		}
		sleep(wctx, 25*time.Millisecond)
	}
	return nil, false
}

// waitOneLeaderOf waits until exactly one of runs leads.
func waitOneLeaderOf(t *testing.T, ctx context.Context, runs []*proc, within time.Duration) *proc {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for wctx.Err() == nil {
		var leaders []*proc
		for _, p := range runs {
			if isLeader(wctx, p) {
				leaders = append(leaders, p)
			}
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		sleep(wctx, 100*time.Millisecond)
	}
	t.Fatalf("no single leader within %s:\n%s", within, tail(runs, 30))
	return nil
}

func pushSummary(counts map[push]int) string {
	var parts []string
	for _, p := range pushes {
		parts = append(parts, fmt.Sprintf("%d %s", counts[p], p))
	}
	return strings.Join(parts, ", ")
}

func closest(d time.Duration) string {
	if d < 0 {
		return "none (one replica led every term)"
	}
	return d.Round(time.Millisecond).String()
}
