package lease

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// errInjected stands in for a network failure during renewal.
var errInjected = errors.New("injected renewal failure")

// TestFlappingNeverOverlaps forces leadership to move again and again,
// by every means an outsider or the network can: the lease deleted or
// overwritten behind the leader's back, garbage written into it, and
// renewals that fail until the leader's cutoff passes. However it moves,
// no two leaderCtx windows may overlap.
func TestFlappingNeverOverlaps(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	cfg := Config{TTL: time.Second, RenewEvery: 150 * time.Millisecond}
	var ts terms
	faulty := make([]atomic.Bool, 3)
	var es []*running
	for i, who := range []string{"a", "b", "c"} {
		es = append(es, startWithFault(t, s, cfg, who, &ts, func() error {
			if faulty[i].Load() {
				return errInjected
			}
			return nil
		}))
	}
	_, js := natstest.Connect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	waitLeader(t, 5*time.Second, es...)

	rng := rand.New(rand.NewPCG(7, 7))
	var actions [4]int
	// Each action comes after the previous one had time to move the lease
	// (a takeover after a delete or an overwrite waits a whole TTL).
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); {
		time.Sleep(time.Duration(700+rng.IntN(1000)) * time.Millisecond)
		switch a := rng.IntN(4); a {
		case 0: // deleted behind the leader's back
			err = kv.Delete(ctx, "unit")
			actions[a]++
		case 1: // garbage
			_, err = kv.Put(ctx, "unit", []byte("not a lease"))
			actions[a]++
		case 2: // an intruder claims it, with an expiry already past
			var v []byte
			v, err = record{Holder: "intruder", Expires: time.Now()}.encode()
			if err == nil {
				_, err = kv.Put(ctx, "unit", v)
			}
			actions[a]++
		case 3: // the leader's renewals fail until it must step down
			for i, e := range es {
				if e.IsLeader() {
					faulty[i].Store(true)
					time.AfterFunc(cfg.TTL, func() { faulty[i].Store(false) })
					actions[a]++
				}
			}
		}
		if err != nil {
			t.Fatalf("chaos: %v", err)
		}
	}
	for _, e := range es {
		e.Stop()
	}
	all := ts.snapshot()
	t.Logf("%d terms after %v deletes, garbage writes, intruders, renewal faults", len(all), actions)
	if len(all) < 4 {
		t.Errorf("only %d terms: the chaos did not move leadership, so the test proved nothing", len(all))
	}
	ts.assertNoOverlap(t)
}

// TestRenewalFailureEndsTermBeforeExpiry checks the cutoff itself: a leader
// whose renewals fail loses its leaderCtx no later than TTL - TTL/5 after
// its last successful renewal was sent, and with cause ErrLost.
func TestRenewalFailureEndsTermBeforeExpiry(t *testing.T) {
	s := newServer(t)
	cfg := Config{TTL: time.Second, RenewEvery: 100 * time.Millisecond}
	var fail atomic.Bool
	var lastOK atomic.Int64
	nc, js := natstest.Connect(t, s)
	cfg.Key, cfg.Identity = "unit", "a"
	e, err := New(context.Background(), js, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.renewFault = func() error {
		if fail.Load() {
			return errInjected
		}
		lastOK.Store(time.Now().UnixNano())
		return nil
	}
	type result struct {
		end   time.Time
		cause error
	}
	ended := make(chan result, 1)
	var once atomic.Bool
	r := runElector(t, e, nc, func(ctx context.Context) {
		<-ctx.Done()
		if once.CompareAndSwap(false, true) {
			ended <- result{time.Now(), context.Cause(ctx)}
		}
	})
	waitLeader(t, 5*time.Second, r)
	time.Sleep(3 * cfg.RenewEvery)
	fail.Store(true)
	var got result
	select {
	case got = <-ended:
	case <-time.After(3 * cfg.TTL):
		t.Fatal("leaderCtx still live 3 TTLs after renewals started failing")
	}
	last := time.Unix(0, lastOK.Load())
	if cut := last.Add(cfg.TTL - margin(cfg.TTL)); got.end.Before(cut.Add(-cfg.RenewEvery)) || got.end.After(cut.Add(100*time.Millisecond)) {
		t.Errorf("leaderCtx ended %v after the last good renewal, want about %v", got.end.Sub(last), cfg.TTL-margin(cfg.TTL))
	}
	if !errors.Is(got.cause, ErrLost) {
		t.Errorf("cause = %v, want ErrLost", got.cause)
	}
}
