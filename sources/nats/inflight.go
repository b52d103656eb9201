package nats

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// inflight holds the events taken from the stream and not yet settled. It
// counts their bytes, so that Watch takes no more once MaxInflightBytes
// are held (the pull then stops fetching as its buffer fills), and it
// tells the server every third of AckWait that the held events are still
// being worked on. The daemon may hold a change a while (debounce, a busy
// queue, a slow Lightdash); without the signal the event would be
// redelivered meanwhile, and AckWait only bounds how long a crashed
// consumer keeps an event from the others. One ticker serves every event:
// with tens of thousands in flight (MaxAckPending), a goroutine and a
// timer per event would cost more than the events themselves.
type inflight struct {
	mu    sync.Mutex
	msgs  map[*pending]struct{}
	bytes int
	max   int
	room  chan struct{} // closed, and replaced, when bytes fall
	gauge prometheus.Gauge
}

func newInflight(maxBytes int, gauge prometheus.Gauge) *inflight {
	return &inflight{msgs: map[*pending]struct{}{}, max: maxBytes, room: make(chan struct{}), gauge: gauge}
}

// take counts n bytes taken from the stream.
func (f *inflight) take(n int) {
	f.mu.Lock()
	f.bytes += n
	f.gauge.Set(float64(f.bytes))
	f.mu.Unlock()
}

// free uncounts n bytes of a message settled or handed back.
func (f *inflight) free(n int) {
	f.mu.Lock()
	f.bytes -= n
	f.gauge.Set(float64(f.bytes))
	close(f.room)
	f.room = make(chan struct{})
	f.mu.Unlock()
}

// full reports whether the bytes held reach the cap.
func (f *inflight) full() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes >= f.max
}

// waitRoom returns once the bytes held are below the cap, or ctx's error.
// It calls blocked once if it has to wait.
func (f *inflight) waitRoom(ctx context.Context, blocked func()) error {
	for {
		f.mu.Lock()
		if f.bytes < f.max {
			f.mu.Unlock()
			return nil
		}
		room := f.room
		f.mu.Unlock()
		if blocked != nil {
			blocked()
			blocked = nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// add keeps p alive until settle.
func (f *inflight) add(p *pending) {
	f.mu.Lock()
	f.msgs[p] = struct{}{}
	f.mu.Unlock()
}

// settle stops keeping p alive and uncounts its bytes.
func (f *inflight) settle(p *pending) {
	f.mu.Lock()
	delete(f.msgs, p)
	f.mu.Unlock()
	f.free(p.size)
}

// run extends the ack deadline of every held event each interval until
// ctx ends. The signals are plain publishes, buffered by the client, so a
// tick costs one pass over the held events and no round trip.
func (f *inflight) run(ctx context.Context, log *zap.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var held []*pending
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		held = held[:0]
		for p := range f.msgs {
			held = append(held, p)
		}
		f.mu.Unlock()
		failed := 0
		for _, p := range held {
			// An event settled meanwhile answers ErrMsgAlreadyAckd: harmless.
			if err := p.ack.InProgress(); err != nil {
				failed++
			}
		}
		n := len(held)
		clear(held) // settled events are not kept until the next tick
		if failed > 0 {
			log.Debug("extend ack deadlines", zap.Int("failed", failed), zap.Int("held", n))
		}
	}
}
