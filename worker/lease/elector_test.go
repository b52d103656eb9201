package lease

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

var fast = Config{TTL: time.Second, RenewEvery: 200 * time.Millisecond}

func TestOneOfTwoWinsAndKeepsIt(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var ts terms
	a := start(t, s, fast, "a", &ts)
	b := start(t, s, fast, "b", &ts)
	leader := waitLeader(t, 5*time.Second, a, b)
	follower := a
	if leader == a {
		follower = b
	}
	// Stable conditions: the leader keeps renewing for several TTLs
	// without a single change of leader.
	time.Sleep(3 * fast.TTL)
	if !leader.IsLeader() || follower.IsLeader() {
		t.Fatalf("after 3 TTLs: %s, want only %s leading", names(a, b), leader.Identity())
	}
	if got := follower.Holder(); got != leader.Identity() {
		t.Errorf("follower sees holder %q, want %q", got, leader.Identity())
	}
	if got := leader.Holder(); got != leader.Identity() {
		t.Errorf("leader sees holder %q, want itself", got)
	}
	if n := len(ts.snapshot()); n != 1 {
		t.Errorf("%d terms in stable conditions, want 1", n)
	}
	ts.assertNoOverlap(t)
}

func TestTakeoverAfterLeaderDies(t *testing.T) {
	s := newServer(t)
	var ts terms
	a := start(t, s, fast, "a", &ts)
	waitLeader(t, 5*time.Second, a)
	b := start(t, s, fast, "b", &ts)
	// Death: the leader's connection goes away, so it neither renews nor
	// releases. It must stop acting by its cutoff, and b must wait for
	// the lease to expire.
	died := time.Now()
	a.nc.Close()
	waitLeader(t, 3*fast.TTL, b)
	took := time.Since(died)
	t.Logf("takeover %v after the leader died (ttl %v, renew every %v)", took, fast.TTL, fast.RenewEvery)
	if a.IsLeader() {
		t.Error("dead leader still believes it leads")
	}
	if took > fast.TTL+fast.RenewEvery+time.Second {
		t.Errorf("takeover took %v, want within ttl + renew_every + 1s", took)
	}
	ts.assertNoOverlap(t)
}

func TestTakeoverPromptlyAfterRelease(t *testing.T) {
	s := newServer(t)
	cfg := Config{TTL: 3 * time.Second, RenewEvery: 200 * time.Millisecond}
	var ts terms
	a := start(t, s, cfg, "a", &ts)
	waitLeader(t, 5*time.Second, a)
	b := start(t, s, cfg, "b", &ts)
	time.Sleep(2 * cfg.RenewEvery) // b has seen a's lease
	if b.IsLeader() {
		t.Fatal("b leads while a holds the lease")
	}
	released := time.Now()
	a.Stop()
	waitLeader(t, 3*cfg.TTL, b)
	took := time.Since(released)
	t.Logf("takeover %v after a graceful release", took)
	// Waiting out the lease would take at least ttl - renew_every.
	if took >= cfg.TTL-cfg.RenewEvery {
		t.Errorf("takeover took %v: the release was not honoured", took)
	}
	ts.assertNoOverlap(t)
}

func TestServerRestartMidLease(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	cfg := Config{TTL: 2 * time.Second, RenewEvery: 300 * time.Millisecond}
	var ts terms
	a := start(t, s, cfg, "a", &ts)
	b := start(t, s, cfg, "b", &ts)
	waitLeader(t, 5*time.Second, a, b)
	s = natstest.Restart(t, s, nil)
	// The lease survives in the store; whoever holds it after the
	// restart holds it alone.
	time.Sleep(cfg.TTL)
	leader := waitLeader(t, 3*cfg.TTL, a, b)
	time.Sleep(cfg.TTL)
	if !leader.IsLeader() {
		t.Errorf("leadership changed hands in stable conditions after the restart: %s", names(a, b))
	}
	ts.assertNoOverlap(t)
}

func TestOnElectedReturningEndsTheTerm(t *testing.T) {
	s := newServer(t)
	nc, js := natstest.Connect(t, s)
	reg := prometheus.NewRegistry()
	e, err := New(context.Background(), js, Config{Key: "unit", Identity: "a", TTL: time.Second, RenewEvery: 100 * time.Millisecond}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	calls := make(chan struct{}, 10)
	r := runElector(t, e, nc, func(context.Context) { calls <- struct{}{} })
	for range 2 {
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatal("onElected not called again after it returned")
		}
	}
	r.Stop()
	if r.IsLeader() {
		t.Error("IsLeader after Run returned")
	}
	if got := metricValue(t, reg, "lightdash_sync_leader_lost_total", "unit", "unit", "reason", reasonReleased); got < 2 {
		t.Errorf("released terms = %v, want >= 2", got)
	}
}

func TestMetricsFollowLeadership(t *testing.T) {
	s := newServer(t)
	nc, js := natstest.Connect(t, s)
	reg := prometheus.NewRegistry()
	mk := func(key string) *Elector {
		e, err := New(context.Background(), js, Config{Key: key, Identity: "a", TTL: time.Second, RenewEvery: 100 * time.Millisecond}, nil, reg)
		if err != nil {
			t.Fatalf("New(%s): %v", key, err)
		}
		return e
	}
	// Two units on one registry share the metric families.
	e1, e2 := mk("one"), mk("two")
	_ = e2
	var ts terms
	r := runElector(t, e1, nc, ts.onElected("a"))
	waitLeader(t, 5*time.Second, r)
	if got := metricValue(t, reg, "lightdash_sync_leader", "unit", "one"); got != 1 {
		t.Errorf("leader gauge while leading = %v, want 1", got)
	}
	if got := metricValue(t, reg, "lightdash_sync_leader", "unit", "two"); got != 0 {
		t.Errorf("leader gauge of the idle unit = %v, want 0", got)
	}
	if got := metricValue(t, reg, "lightdash_sync_leader_elected_total", "unit", "one"); got != 1 {
		t.Errorf("elected = %v, want 1", got)
	}
	r.Stop()
	if got := metricValue(t, reg, "lightdash_sync_leader", "unit", "one"); got != 0 {
		t.Errorf("leader gauge after stop = %v, want 0", got)
	}
}

func TestRunTwiceIsRefused(t *testing.T) {
	s := newServer(t)
	var ts terms
	r := start(t, s, fast, "a", &ts)
	waitLeader(t, 5*time.Second, r)
	if err := r.Run(context.Background(), func(context.Context) {}); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
}

func TestNewRefusesBucketWithShorterTTL(t *testing.T) {
	s := newServer(t)
	_, js := natstest.Connect(t, s)
	ctx := context.Background()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "short", TTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	_, err := New(ctx, js, Config{Bucket: "short", Key: "unit", TTL: 2 * time.Second}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "shorter than the lease ttl") {
		t.Errorf("New on a bucket with a shorter TTL = %v, want a refusal", err)
	}
	// A longer bucket TTL is safe (takeover waits for the recorded expiry).
	if _, err := New(ctx, js, Config{Bucket: "short", Key: "unit", TTL: 500 * time.Millisecond}, nil, nil); err != nil {
		t.Errorf("New on a bucket with a longer TTL: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	s := newServer(t)
	_, js := natstest.Connect(t, s)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no key", Config{}, "key is required"},
		{"bad key", Config{Key: "a b"}, `key "a b"`},
		{"key ends in dot", Config{Key: "a."}, `key "a."`},
		{"bad bucket", Config{Key: "k", Bucket: "a.b"}, `bucket "a.b"`},
		{"ttl too short", Config{Key: "k", TTL: time.Millisecond}, "ttl 1ms"},
		{"renew too slow", Config{Key: "k", TTL: time.Second, RenewEvery: 900 * time.Millisecond}, "renew_every 900ms"},
		{"renew negative", Config{Key: "k", RenewEvery: -time.Second}, "renew_every -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), js, tt.cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(context.Background(), nil, Config{Key: "k"}, nil, nil); err == nil {
		t.Error("New with a nil JetStream: no error")
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Config{Key: "k"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bucket != DefaultBucket || cfg.TTL != DefaultTTL || cfg.RenewEvery != DefaultTTL/3 || cfg.Identity == "" || cfg.Clock == nil {
		t.Errorf("defaults = %+v", cfg)
	}
}

// TestUnitsAreIndependent: each Lightdash target has its own lease, so two
// replicas can lead one unit each, and one replica can lead several.
func TestUnitsAreIndependent(t *testing.T) {
	s := newServer(t)
	var ts1, ts2 terms
	one := start(t, s, Config{Key: "one", TTL: time.Second, RenewEvery: 200 * time.Millisecond}, "a", &ts1)
	waitLeader(t, 5*time.Second, one)
	two := start(t, s, Config{Key: "two", TTL: time.Second, RenewEvery: 200 * time.Millisecond}, "b", &ts2)
	waitLeader(t, 5*time.Second, two)
	if !one.IsLeader() {
		t.Error("unit one lost its leader when unit two elected one")
	}
}

// TestAcquireDelayYieldsAFreeLease: a replica whose AcquireDelay is long
// (it already leads other units) leaves a free lease to one that has
// none, although it started campaigning first; after its delay its
// compare-and-set finds the lease taken and it stays a standby.
func TestAcquireDelayYieldsAFreeLease(t *testing.T) {
	s := newServer(t)
	var ts terms
	var asked atomic.Int32
	busy := fast
	busy.AcquireDelay = func() time.Duration { asked.Add(1); return 2 * fast.RenewEvery }
	a := start(t, s, busy, "a", &ts)
	b := start(t, s, fast, "b", &ts)
	waitLeader(t, 5*time.Second, b)
	time.Sleep(2 * fast.TTL)
	if a.IsLeader() || !b.IsLeader() {
		t.Fatalf("%s, want only b leading", names(a, b))
	}
	if asked.Load() == 0 {
		t.Error("AcquireDelay was never asked")
	}
	if n := ts.count("a"); n != 0 {
		t.Errorf("a led %d terms, want none", n)
	}
	ts.assertNoOverlap(t)
	// Alone, the delayed replica still takes the lease, after its delay.
	b.Stop()
	waitLeader(t, 5*time.Second, a)
	ts.assertNoOverlap(t)
}
