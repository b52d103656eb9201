package nats

import (
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pending is what an event keeps from its decoding until it is settled:
// its ack handle and what the logs and a dead letter need. It keeps neither
// the message nor the decoded event, which hold the payload: the view holds
// what the event said, and the daemon re-reads it from there. The payload
// is kept only on the last delivery, the one a failure dead-letters.
type pending struct {
	ack       *ackHandle
	size      int // payload bytes, counted in flight until settled
	id        string
	typ       Type
	subject   string
	stream    string
	streamSeq uint64
	delivered uint64
	data      []byte // nil unless this is the last delivery
}

// newPending takes what p needs from a decoded message.
func (s *Source) newPending(msg jetstream.Msg, meta *jetstream.MsgMetadata, e *Event) *pending {
	p := &pending{
		ack:       &ackHandle{nc: s.nc, reply: msg.Reply()},
		size:      len(msg.Data()),
		id:        e.ID,
		typ:       e.Type,
		subject:   msg.Subject(),
		stream:    meta.Stream,
		streamSeq: meta.Sequence.Stream,
		delivered: meta.NumDelivered,
	}
	if s.lastDelivery(p.delivered) {
		p.data = msg.Data()
	}
	return p
}

// lastDelivery reports whether a failure of delivery n is final: the
// event is then dead-lettered rather than naked.
func (s *Source) lastDelivery(n uint64) bool { return n >= uint64(s.cfg.MaxDeliver) }

// ackHandle settles one delivered message. The JetStream ack protocol is a
// publish of a few bytes to the message's reply subject; the handle keeps
// that subject alone, where a jetstream.Msg would keep the payload alive.
// Once settled, it sends nothing more: an in-progress signal after a
// delayed nak would postpone the redelivery to AckWait.
type ackHandle struct {
	nc      *nats.Conn
	reply   string
	mu      sync.Mutex
	settled bool
}

// send publishes body; final marks the message settled.
func (a *ackHandle) send(body string, final bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.settled {
		return jetstream.ErrMsgAlreadyAckd
	}
	if err := a.nc.Publish(a.reply, []byte(body)); err != nil {
		return fmt.Errorf("settle message: %w", err)
	}
	a.settled = final
	return nil
}

func (a *ackHandle) Ack() error        { return a.send("+ACK", true) }
func (a *ackHandle) Nak() error        { return a.send("-NAK", true) }
func (a *ackHandle) InProgress() error { return a.send("+WPI", false) }

func (a *ackHandle) NakWithDelay(d time.Duration) error {
	return a.send(fmt.Sprintf(`-NAK {"delay": %d}`, d.Nanoseconds()), true)
}

func (a *ackHandle) TermWithReason(reason string) error {
	return a.send("+TERM "+reason, true)
}
