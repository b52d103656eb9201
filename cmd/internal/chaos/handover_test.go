package chaos

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/worker/lease"
)

// handoverScenario sizes the handover test. Each round kills the leader
// KillAfter into the round (plus up to a second drawn from the seed, so
// that kills fall at any phase of the leader's renewals and writes), measures the standby's takeover, restarts the
// killed replica and watches it stay standby for Watch.
type handoverScenario struct {
	scenario
	Rounds    int
	KillAfter time.Duration
	Watch     time.Duration
	Every     time.Duration // one directory change every Every
}

var (
	shortHandover = handoverScenario{
		scenario: scenario{Name: "short", Users: 60, Groups: 24, NewGroups: 4, Converge: time.Minute,
			LeaseTTL: 3 * time.Second, LightdashTimeout: 2 * time.Second},
		Rounds: 1, KillAfter: 3 * time.Second, Watch: 5 * time.Second, Every: 50 * time.Millisecond,
	}
	longHandover = handoverScenario{
		scenario: scenario{Name: "long", Users: 200, Groups: 100, NewGroups: 12, Converge: 2 * time.Minute,
			LeaseTTL: 3 * time.Second, LightdashTimeout: 2 * time.Second},
		Rounds: 6, KillAfter: 3 * time.Second, Watch: 5 * time.Second, Every: 50 * time.Millisecond,
	}
)

// takeoverBound is the configured takeover time: a standby takes over a
// lease whose holder died once it has seen the same revision for the TTL,
// and it looks every RenewEvery (the default, TTL/3). See package lease.
func takeoverBound(ttl time.Duration) time.Duration { return ttl + lease.DefaultRenewEvery(ttl) }

// TestHandover is issue 7's "two daemons on one NATS: only the leader
// writes, killing it hands over within the configured time and nothing is
// lost". Two `lightdash-sync run` subprocesses share one embedded NATS
// (state and leader lease) and follow one slapd; while a driver changes
// the directory, the leader is SIGKILLed and the standby must take over
// within the lease's bound, the killed replica comes back and must stay
// standby, and in the fake's request log no two replicas ever wrote
// interleaved. After the changes stop, one requested reconciliation later,
// Lightdash must equal the directory.
func TestHandover(t *testing.T) {
	if testing.Short() {
		t.Skip("the handover test runs two daemons for half a minute; not in -short mode")
	}
	ldaptest.RequireSlapd(t)
	hs := shortHandover
	if *longFlag {
		hs = longHandover
	}
	r := newHARig(t, "handover", hs.scenario, nil)
	ctx, sup, ld := r.ctx, r.sup, r.ld

	// Both replicas start together: exactly one wins the lease and
	// catches up, the other is a ready standby.
	leader, standby := r.startPair(0)
	terms := []*proc{leader} // the runs that led, in order

	// The directory changes all along, at a steady pace.
	roundTime := hs.KillAfter + time.Second + takeoverBound(hs.LeaseTTL) + 3*time.Second + hs.Watch
	stopChanges := r.changes(time.Duration(hs.Rounds)*roundTime, hs.Every)

	bound := takeoverBound(hs.LeaseTTL)
	var takeovers []time.Duration
	jitter := r.rng(3)
	for round := 1; round <= hs.Rounds; round++ {
		sleep(ctx, hs.KillAfter+time.Duration(jitter.Int64N(int64(time.Second))))
		sup.follow(leader)
		if sup.signal(syscall.SIGKILL) != leader {
			t.Fatalf("round %d: run %d (the leader) was not running when it was to be killed:\n%s", round, leader.n, tail([]*proc{leader}, 30))
		}
		ledAt, ok := waitLeader(ctx, standby, leader.ended.Add(4*bound))
		if !ok {
			t.Fatalf("round %d: run %d did not take over within %s of run %d's SIGKILL:\n%s", round, standby.n, 4*bound, leader.n, tail([]*proc{standby}, 30))
		}
		took := ledAt.Sub(leader.ended)
		takeovers = append(takeovers, took)
		t.Logf("round %d: run %d (leader) SIGKILLed; run %d led %s later (configured bound: lease TTL %s + renew interval %s = %s)",
			round, leader.n, standby.n, took.Round(10*time.Millisecond), hs.LeaseTTL, lease.DefaultRenewEvery(hs.LeaseTTL), bound)
		// Generous slack: the daemons share two loaded cores with -race tests.
		if took > 2*bound {
			t.Errorf("round %d: takeover took %s, more than twice the configured %s", round, took.Round(10*time.Millisecond), bound)
		}
		terms = append(terms, standby)
		leader = standby
		sup.follow(leader)

		// The killed replica comes back and must stay standby while the
		// leader lives, for longer than a takeover would take.
		standby = r.start()
		sup.follow(leader)
		if !waitReady(ctx, standby, hs.Converge) {
			t.Fatalf("round %d: restarted run %d never became ready:\n%s", round, standby.n, tail([]*proc{standby}, 30))
		}
		watchStandby(t, ctx, leader, standby, hs.Watch)
	}
	created := stopChanges()
	stopped := time.Now()

	// Nothing lost: one requested reconciliation later, Lightdash equals
	// the directory.
	want := r.directory(created)
	// First from events alone (the new leader's start-up reconciliation
	// and syncrepl from the cookie the old one saved): a change made while
	// nobody led must not wait for the next scheduled reconciliation.
	eventsEqual := waitEqual(ctx, ld, want, hs.Converge)
	if eventsEqual < 0 {
		t.Errorf("events alone did not bring Lightdash to the directory within %s of the changes stopping", hs.Converge)
	} else {
		t.Logf("from events alone, Lightdash equalled the directory %s after the changes stopped", eventsEqual.Round(10*time.Millisecond))
	}
	sup.follow(leader)
	const drift = "lightdash_sync_drift_changes_total"
	_, before := httpGet(ctx, leader.url("/metrics"))
	requestReconcile(t, ctx, sup, hs.scenario, ld, want, stopped)
	_, after := httpGet(ctx, leader.url("/metrics"))
	fixed := metricSum(after, drift) - metricSum(before, drift)
	t.Logf("the requested reconciliation fixed %v changes events had missed", fixed)
	if eventsEqual >= 0 && fixed != 0 {
		t.Errorf("%s went up by %v in the requested reconciliation, after events had already made Lightdash equal the directory", drift, fixed)
	}
	got, count := lightdashGroups(ld)
	checkState(t, want, got, count, r.manual)

	// Graceful stops, then the request log.
	r.stop(standby, leader)
	reqs := ld.Requests()
	checkWriters(t, reqs, sup.runs(), terms)
	r.checkOutputs(reqs)
	t.Logf("takeover times after SIGKILL: %v (bound %s); %d Lightdash requests", roundAll(takeovers), bound, len(reqs))
}

// waitEqual polls the fake until it equals want and returns how long that
// took, or -1 if it did not within d.
func waitEqual(ctx context.Context, ld *lightdashtest.Server, want map[string][]string, d time.Duration) time.Duration {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for wctx.Err() == nil {
		if got, count := lightdashGroups(ld); equalState(want, got, count) {
			return time.Since(start)
		}
		sleep(wctx, 50*time.Millisecond)
	}
	return -1
}

// waitOneLeader waits until one of a and b leads and has finished its
// start-up reconciliation while the other is a ready standby.
func waitOneLeader(t *testing.T, ctx context.Context, sup *supervisor, a, b *proc, within time.Duration) (leader, standby *proc) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for wctx.Err() == nil {
		la, lb := isLeader(wctx, a), isLeader(wctx, b)
		if la && lb {
			t.Fatalf("runs %d and %d both lead", a.n, b.n)
		}
		if la != lb {
			leader, standby = a, b
			if lb {
				leader, standby = b, a
			}
			if waitReady(wctx, leader, within) && waitReady(wctx, standby, within) {
				t.Logf("run %d leads, run %d is a ready standby", leader.n, standby.n)
				return leader, standby
			}
		}
		sleep(wctx, 100*time.Millisecond)
	}
	t.Fatalf("no single ready leader within %s:\n%s", within, tail(sup.runs(), 30))
	return nil, nil
}

// waitLeader polls p's /status.json until it leads, and returns when it
// first saw it lead, or false at deadline.
func waitLeader(ctx context.Context, p *proc, deadline time.Time) (time.Time, bool) {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for wctx.Err() == nil {
		if isLeader(wctx, p) {
			return time.Now(), true
		}
		sleep(wctx, 25*time.Millisecond)
	}
	return time.Time{}, false
}

// waitReady polls p's /readyz until it answers 200.
func waitReady(ctx context.Context, p *proc, within time.Duration) bool {
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for wctx.Err() == nil {
		if code, _ := httpGet(wctx, p.url("/readyz")); code == 200 {
			return true
		}
		select {
		case <-p.exited:
			return false
		default:
		}
		sleep(wctx, 100*time.Millisecond)
	}
	return false
}

// watchStandby checks, for d, that standby never leads. The leader should
// lead throughout; a gap is logged (a renewal that missed its cutoff on a
// loaded machine ends a term safely), not failed.
func watchStandby(t *testing.T, ctx context.Context, leader, standby *proc, d time.Duration) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	gaps := 0
	for wctx.Err() == nil {
		if isLeader(wctx, standby) {
			t.Errorf("restarted run %d leads beside the live leader run %d", standby.n, leader.n)
			return
		}
		if !isLeader(wctx, leader) && wctx.Err() == nil {
			gaps++
		}
		sleep(wctx, 100*time.Millisecond)
	}
	if gaps > 0 {
		t.Logf("run %d did not report leading in %d polls while run %d was watched", leader.n, gaps, standby.n)
	}
	t.Logf("restarted run %d stayed standby for %s beside leader run %d", standby.n, d, leader.n)
}

func roundAll(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Round(10 * time.Millisecond).String()
	}
	return out
}
