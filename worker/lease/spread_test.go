package lease

import (
	"testing"
	"time"
)

func TestSpreadDelay(t *testing.T) {
	step := time.Second
	for _, tt := range []struct {
		leading int
		step    time.Duration
		want    time.Duration
	}{
		{0, step, 0},         // leading nothing: take a free lease at once
		{-1, step, 0},        // never negative
		{1, step, step},      // one unit led: one poll interval behind an idle replica
		{2, step, 2 * step},  // further behind with every unit led
		{3, step, 2 * step},  // the cap
		{50, step, 2 * step}, // a busy replica still takes a lease nobody else takes
		{2, 0, 0},            // no step, no delay
		{1, 3333 * time.Millisecond, 3333 * time.Millisecond},
	} {
		if got := spreadDelay(tt.leading, tt.step); got != tt.want {
			t.Errorf("spreadDelay(%d, %v) = %v, want %v", tt.leading, tt.step, got, tt.want)
		}
	}
}

// TestSpreaderClaims: units of one replica that find their leases free at
// the same moment do not all go at once; a won term counts until it ends.
func TestSpreaderClaims(t *testing.T) {
	poll := time.Second
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	var s Spreader
	type step struct {
		what string
		do   func() time.Duration
		want time.Duration
	}
	for _, st := range []step{
		{"x finds its lease free: goes at once", func() time.Duration { return s.Delay("x", t0, poll) }, 0},
		{"y at the same moment: waits for x's attempt", func() time.Duration { return s.Delay("y", t0, poll) }, 2 * poll},
		{"x asks again: its own claim does not count", func() time.Duration { return s.Delay("x", t0, poll) }, 0},
		{"y after x's claim lapsed (x lost): goes", func() time.Duration { return s.Delay("y", t0.Add(poll), poll) }, 0},
		{"x won after all: y's claim still pending, x leads", func() time.Duration { s.Elected("x"); return s.Delay("z", t0.Add(poll), poll) }, 4 * poll},
		{"later, x still leads", func() time.Duration { return s.Delay("z", t0.Add(time.Hour), poll) }, 2 * poll},
		{"x's term ended", func() time.Duration { s.Ended(); return s.Delay("z", t0.Add(time.Hour), poll) }, 0},
	} {
		if got := st.do(); got != st.want {
			t.Errorf("%s: got %v, want %v", st.what, got, st.want)
		}
	}
}
