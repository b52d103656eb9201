package nats

import "testing"

func TestDeliveriesGap(t *testing.T) {
	var d deliveries
	for _, c := range []struct {
		seq, missed uint64
	}{
		{7, 0}, // the first of a subscription: earlier ones went elsewhere
		{8, 0},
		{11, 2},
		{12, 0},
		{10, 0}, // out of order: not counted twice
		{13, 0},
	} {
		if got := d.next(c.seq); got != c.missed {
			t.Errorf("next(%d) = %d missed, want %d", c.seq, got, c.missed)
		}
	}
}
