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

func TestDebounceAndMaxDelay(t *testing.T) {
	tests := []struct {
		name     string
		debounce time.Duration
		maxDelay time.Duration
		adds     []int // ms at which changes to key "g" arrive
		nowMS    int
		wantDue  bool
		wantWake int // ms, when not due
	}{
		{"single change before debounce", 500 * time.Millisecond, 10 * time.Second, []int{0}, 499, false, 500},
		{"single change at debounce", 500 * time.Millisecond, 10 * time.Second, []int{0}, 500, true, 0},
		{"burst extends the wait", 500 * time.Millisecond, 10 * time.Second, []int{0, 300, 600}, 1000, false, 1100},
		{"burst due after quiet", 500 * time.Millisecond, 10 * time.Second, []int{0, 300, 600}, 1100, true, 0},
		{"constant changes capped by max delay", 500 * time.Millisecond, 2 * time.Second, []int{0, 400, 800, 1200, 1600, 1900}, 2000, true, 0},
		{"max delay not yet reached", 500 * time.Millisecond, 2 * time.Second, []int{0, 400, 800, 1200, 1600, 1900}, 1999, false, 2000},
		{"zero debounce is due at once", 0, 0, []int{0}, 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := New(tt.debounce, tt.maxDelay, 10)
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
	q.Done(it, nil)
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
	q.Done(it, boom)
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
	q.Done(it, nil)
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
