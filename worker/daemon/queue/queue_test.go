package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestLeadingAndTrailingEdge(t *testing.T) {
	tests := []struct {
		name     string
		debounce time.Duration
		maxDelay time.Duration
		// out, when not negative, is when "g" was last handed out (and
		// done at once) before the changes in adds arrive.
		out      int
		adds     []int // ms at which changes to key "g" arrive
		nowMS    int
		wantDue  bool
		wantWake int // ms, when not due
	}{
		{"quiet key is due at once", 500 * time.Millisecond, 10 * time.Second, -1, []int{0}, 0, true, 0},
		{"quiet key coalesces what arrives before it is taken", 500 * time.Millisecond, 10 * time.Second, -1, []int{0, 0, 0}, 0, true, 0},
		{"quiet again a debounce after the last hand-out", 500 * time.Millisecond, 10 * time.Second, 0, []int{500}, 500, true, 0},
		{"change after a hand-out waits the debounce", 500 * time.Millisecond, 10 * time.Second, 0, []int{100}, 599, false, 600},
		{"trailing change at debounce", 500 * time.Millisecond, 10 * time.Second, 0, []int{100}, 600, true, 0},
		{"burst extends the wait", 500 * time.Millisecond, 10 * time.Second, 0, []int{1, 300, 600}, 1000, false, 1100},
		{"burst due after quiet", 500 * time.Millisecond, 10 * time.Second, 0, []int{1, 300, 600}, 1100, true, 0},
		{"constant changes capped by max delay", 500 * time.Millisecond, 2 * time.Second, 0, []int{1, 400, 800, 1200, 1600, 1900}, 2001, true, 0},
		{"max delay not yet reached", 500 * time.Millisecond, 2 * time.Second, 0, []int{1, 400, 800, 1200, 1600, 1900}, 2000, false, 2001},
		{"zero debounce is due at once", 0, 0, 0, []int{0}, 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New(tt.debounce, tt.maxDelay, 10)
			if tt.out >= 0 {
				q.Add(context.Background(), "g", at(tt.out), nil)
				it, ok, _ := q.Next(at(tt.out))
				if !ok {
					t.Fatalf("first change to a quiet key not due at once")
				}
				q.Done(it, at(tt.out), nil)
			}
			for _, ms := range tt.adds {
				if err := q.Add(context.Background(), "g", at(ms), nil); err != nil {
					t.Fatal(err)
				}
			}
			it, ok, wake := q.Next(at(tt.nowMS))
			if ok != tt.wantDue {
				t.Fatalf("Next(%dms) ok = %v, want %v", tt.nowMS, ok, tt.wantDue)
			}
			if ok && it.Changes != len(tt.adds) {
				t.Errorf("coalesced changes = %d, want %d", it.Changes, len(tt.adds))
			}
			if !ok && !wake.Equal(at(tt.wantWake)) {
				t.Errorf("wake = %v, want %v", wake.Sub(t0), at(tt.wantWake).Sub(t0))
			}
		})
	}
}

// TestChangeDuringWorkIsTrailing: a change that arrives while its key is
// in flight waits for the debounce even when the work took longer.
func TestChangeDuringWorkIsTrailing(t *testing.T) {
	q := New(500*time.Millisecond, 10*time.Second, 10)
	q.Add(context.Background(), "g", at(0), nil)
	it, _, _ := q.Next(at(0))
	q.Add(context.Background(), "g", at(700), nil)
	q.Done(it, at(700), nil)
	if _, ok, wake := q.Next(at(700)); ok || !wake.Equal(at(1200)) {
		t.Fatalf("Next(700ms) = due %v wake %v, want not due until 1200ms", ok, wake.Sub(t0))
	}
}

// TestNextWorkWaitsForTheDebounceAfterTheLast: work that takes longer than
// the debounce pushes the next hand-out of its key to a debounce after it
// ended, so the writes of one key are never closer than the debounce.
func TestNextWorkWaitsForTheDebounceAfterTheLast(t *testing.T) {
	q := New(500*time.Millisecond, 500*time.Millisecond, 10)
	q.Add(context.Background(), "g", at(0), nil)
	it, _, _ := q.Next(at(0))
	q.Add(context.Background(), "g", at(100), nil)
	q.Done(it, at(1000), nil)
	if _, ok, wake := q.Next(at(1000)); ok || !wake.Equal(at(1500)) {
		t.Fatalf("Next(1000ms) = due %v wake %v, want not due until 1500ms", ok, wake.Sub(t0))
	}
	q.Add(context.Background(), "h", at(1000), nil) // another key is not held back
	if it, ok, _ := q.Next(at(1000)); !ok || it.Key != "h" {
		t.Fatalf("Next(1000ms) = %+v %v, want h at once", it, ok)
	}
}

// TestRedeliveryBringsARetryForward: a failed key is re-added in the
// future (the retry); a redelivered change to it comes sooner.
func TestRedeliveryBringsARetryForward(t *testing.T) {
	q := New(500*time.Millisecond, 10*time.Second, 10)
	q.Add(context.Background(), "g", at(0), nil)
	it, _, _ := q.Next(at(0))
	q.Done(it, at(100), errors.New("lightdash down"))
	q.Add(context.Background(), "g", at(100+30000), nil) // the retry
	q.Add(context.Background(), "g", at(1000), nil)      // the source redelivers
	if _, ok, wake := q.Next(at(999)); ok || !wake.Equal(at(1000)) {
		t.Fatalf("Next(999ms) = due %v wake %v, want due at 1000ms", ok, wake.Sub(t0))
	}
}

// TestBurstCostsOneHandOutPerKeyPerDebounce: changes arriving every
// millisecond on several keys are handed out at most once per key in any
// debounce period, the first at once.
func TestBurstCostsOneHandOutPerKeyPerDebounce(t *testing.T) {
	const debounce = 500
	q := New(debounce*time.Millisecond, debounce*time.Millisecond, 100) // the tightest max delay
	keys := []string{"a", "b", "c"}
	outs := map[string][]int{}
	for ms := 0; ms < 3000; ms++ {
		for _, k := range keys {
			q.Add(context.Background(), k, at(ms), nil)
		}
		for {
			it, ok, _ := q.Next(at(ms))
			if !ok {
				break
			}
			outs[it.Key] = append(outs[it.Key], ms)
			q.Done(it, at(ms), nil)
		}
	}
	for _, k := range keys {
		got := outs[k]
		if len(got) == 0 || got[0] != 0 {
			t.Fatalf("%s handed out at %v, want first at 0ms", k, got)
		}
		for i := 1; i < len(got); i++ {
			if got[i]-got[i-1] < debounce {
				t.Errorf("%s handed out at %v: %dms apart, want at least %dms", k, got, got[i]-got[i-1], debounce)
			}
		}
	}
}

func TestKeyNeverHandedOutTwiceAtOnce(t *testing.T) {
	q := New(0, 0, 10)
	ctx := context.Background()
	q.Add(ctx, "a", at(0), nil)
	it, ok, _ := q.Next(at(0))
	if !ok || it.Key != "a" {
		t.Fatalf("Next = %+v %v, want a", it, ok)
	}
	// A change arrives while "a" is being worked on: it waits for Done.
	q.Add(ctx, "a", at(1), nil)
	q.Add(ctx, "b", at(1), nil)
	it2, ok, _ := q.Next(at(5))
	if !ok || it2.Key != "b" {
		t.Fatalf("Next while a in flight = %+v %v, want b", it2, ok)
	}
	if _, ok, _ := q.Next(at(5)); ok {
		t.Fatal("a was handed out while still in flight")
	}
	q.Done(it, at(5), nil)
	it3, ok, _ := q.Next(at(5))
	if !ok || it3.Key != "a" {
		t.Fatalf("Next after Done = %+v %v, want a again", it3, ok)
	}
}

func TestDoneCallsEveryCoalescedCallback(t *testing.T) {
	q := New(time.Second, time.Minute, 10)
	var calls atomic.Int32
	boom := errors.New("lightdash down")
	for i := 0; i < 1000; i++ {
		q.Add(context.Background(), "g", at(i), func(err error) {
			if !errors.Is(err, boom) {
				t.Errorf("callback got %v, want %v", err, boom)
			}
			calls.Add(1)
		})
	}
	it, ok, _ := q.Next(at(999 + 1000))
	if !ok || it.Changes != 1000 {
		t.Fatalf("Next = %+v %v, want one item of 1000 changes", it, ok)
	}
	if got := q.Merges(); got != 999 {
		t.Errorf("merges = %d, want 999", got)
	}
	q.Done(it, at(1999), boom)
	if got := calls.Load(); got != 1000 {
		t.Errorf("callbacks = %d, want 1000", got)
	}
}

func TestFullQueueWaitsInsteadOfDropping(t *testing.T) {
	q := New(0, 0, 2)
	ctx := context.Background()
	q.Add(ctx, "a", at(0), nil)
	q.Add(ctx, "b", at(0), nil)
	// Merging into a pending key never waits, even when full.
	if err := q.Add(ctx, "a", at(1), nil); err != nil {
		t.Fatal(err)
	}
	added := make(chan error, 1)
	go func() { added <- q.Add(ctx, "c", at(2), nil) }()
	select {
	case err := <-added:
		t.Fatalf("Add to a full queue returned %v at once, want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	it, _, _ := q.Next(at(3)) // frees a slot
	if err := <-added; err != nil {
		t.Fatalf("Add after room was made: %v", err)
	}
	q.Done(it, at(3), nil)
	if q.Len() != 2 {
		t.Errorf("Len = %d, want 2 (b and c)", q.Len())
	}

	// A waiting Add gives up with its context.
	cctx, cancel := context.WithCancel(ctx)
	go func() { added <- q.Add(cctx, "d", at(4), nil) }()
	cancel()
	if err := <-added; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Add = %v, want context.Canceled", err)
	}
}

func TestCloseAndDrain(t *testing.T) {
	q := New(time.Hour, time.Hour, 10)
	var got []error
	q.Add(context.Background(), "a", at(0), func(err error) { got = append(got, err) })
	q.Add(context.Background(), "b", at(0), func(err error) { got = append(got, err) })
	q.Close()
	if err := q.Add(context.Background(), "c", at(0), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	shutdown := errors.New("shutting down")
	if n := q.Drain(shutdown); n != 2 {
		t.Errorf("Drain = %d, want 2", n)
	}
	if len(got) != 2 || !errors.Is(got[0], shutdown) {
		t.Errorf("drained callbacks got %v, want two %q", got, shutdown)
	}
}
