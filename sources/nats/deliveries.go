package nats

// deliveries follows the consumer sequence of one pull subscription. The
// server numbers every delivery of the consumer, redeliveries included,
// and a subscription that is the consumer's only reader receives them in
// order; a gap is a delivery made and never received, which nothing
// acknowledges or keeps alive until ack_wait runs out.
type deliveries struct {
	last uint64 // 0 before the first
}

// next records delivery seq and returns how many were skipped before it.
func (d *deliveries) next(seq uint64) (missed uint64) {
	if d.last != 0 && seq > d.last+1 {
		missed = seq - d.last - 1
	}
	d.last = max(d.last, seq)
	return missed
}
