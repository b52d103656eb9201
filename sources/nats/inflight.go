package nats

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// inflight holds the events handed to the daemon and not yet settled, and
// tells the server every third of AckWait that they are still being worked
// on. The daemon may hold a change a while (debounce, a busy queue, a slow
// Lightdash); without this the event would be redelivered meanwhile, and
// AckWait only bounds how long a crashed consumer keeps an event from the
// others. One ticker serves every event: with tens of thousands in flight
// (MaxAckPending), a goroutine and a timer per event would cost more than
// the events themselves.
type inflight struct {
	mu   sync.Mutex
	msgs map[jetstream.Msg]struct{}
}

func newInflight() *inflight { return &inflight{msgs: map[jetstream.Msg]struct{}{}} }

func (f *inflight) add(m jetstream.Msg) {
	f.mu.Lock()
	f.msgs[m] = struct{}{}
	f.mu.Unlock()
}

func (f *inflight) remove(m jetstream.Msg) {
	f.mu.Lock()
	delete(f.msgs, m)
	f.mu.Unlock()
}

// run extends the ack deadline of every held event each interval until
// ctx ends. The signals are plain publishes, buffered by the client, so a
// tick costs one pass over the held events and no round trip.
func (f *inflight) run(ctx context.Context, log *zap.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var held []jetstream.Msg
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		held = held[:0]
		for m := range f.msgs {
			held = append(held, m)
		}
		f.mu.Unlock()
		failed := 0
		for _, m := range held {
			// An event settled meanwhile answers ErrMsgAlreadyAckd: harmless.
			if err := m.InProgress(); err != nil {
				failed++
			}
		}
		n := len(held)
		clear(held) // settled messages are not kept until the next tick
		if failed > 0 {
			log.Debug("extend ack deadlines", zap.Int("failed", failed), zap.Int("held", n))
		}
	}
}
