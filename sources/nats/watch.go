package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Headers set on a dead-lettered event.
const (
	HeaderReason     = "Lightdash-Sync-Reason"
	HeaderEventID    = "Lightdash-Sync-Event-Id"
	HeaderEventType  = "Lightdash-Sync-Event-Type"
	HeaderDeliveries = "Lightdash-Sync-Deliveries"
	HeaderStream     = "Lightdash-Sync-Stream"
	HeaderStreamSeq  = "Lightdash-Sync-Stream-Sequence"
	HeaderSubject    = "Lightdash-Sync-Subject"
)

// pullBufferBytes bounds the messages fetched ahead, in bytes. A burst
// is read and written in batches (one view write per group per batch,
// the groups concurrently), which the fetched-ahead messages feed: the
// more a batch holds, the fewer view writes per event. Their ack
// deadlines run while the daemon is busy, which AckWait (minutes) covers,
// and they are held in memory, which the bound limits (see pullBytes).
//
// The bound is in bytes alone: the client's buffer then holds up to a
// million messages, far more than the bytes allow, where a bound in
// messages makes the buffer exactly that size, with no room for the
// server's status messages that share it, and the client dropped an event
// (unacknowledged until AckWait) when it overflowed (docs/benchmarks.md).
const pullBufferBytes = 8 << 20

// pullBytes is the byte bound of the pull: pullBufferBytes, or twice the
// largest message the server accepts if that is more, since a message
// larger than the bound would stall the pull.
func (s *Source) pullBytes() int {
	return max(pullBufferBytes, 2*int(s.nc.MaxPayload()))
}

// maxBatch and maxBatchBytes bound a batch: it goes on taking events as
// the pull refills while they keep coming, since the more events of a
// burst a batch holds, the fewer writes per event (one per group per
// batch), up to 4 MiB of events held at once.
const (
	maxBatch      = 8192
	maxBatchBytes = 4 << 20
)

// batchLinger is how long a batch waits for one more event once the
// fetched-ahead ones are taken: long enough for the next pull to land
// during a burst, short against the live latency of a single event.
const batchLinger = time.Millisecond

// Watch consumes the stream until ctx is done, and returns nil then; it
// returns an error only if the source is closed under it. For each event:
//   - poison (undecodable, invalid, oversized): terminated with the reason,
//     logged once, counted; the events behind it flow on;
//   - older than the view for its group or user: acknowledged, ignored,
//     counted;
//   - otherwise: written to the view, then sent as a sources.Change whose
//     Done acknowledges it (nil) or naks it with the configured backoff
//     (error); on the MaxDeliver-th failure it goes to the dead-letter
//     subject and is terminated. A Done(err) after ctx ended, or with an
//     error wrapping context.Canceled, is a shutdown: plain nak, no dead
//     letter.
//
// Events are taken in batches of what has been fetched (see applyAll);
// changes are still sent one per event, in stream order, each only after
// its event is in the view.
//
// Sending blocks while the daemon is busy; that is the backpressure.
// Connection loss and server restarts are retried inside with backoff.
func (s *Source) Watch(ctx context.Context, changes chan<- sources.Change) error {
	held := newInflight(s.cfg.MaxInflightBytes, s.m.inflightBytes)
	keepAlive, stop := context.WithCancel(ctx)
	defer stop() // also when the source is closed under Watch
	go held.run(keepAlive, s.log, s.cfg.AckWait/3)
	// Another instance may have raised the floor since New (the one that
	// held the lead before this one); the sweep reads it again hourly.
	if _, _, err := s.view.loadFloor(ctx); err != nil {
		s.m.viewErrors.Inc()
		s.log.Warn("read view floor", zap.Error(err))
	}
	go s.sweep(keepAlive)
	for attempt := 0; ; attempt++ {
		handled, err := s.consume(ctx, changes, held)
		if ctx.Err() != nil {
			return nil
		}
		if s.nc.IsClosed() {
			return fmt.Errorf("nats source %s: connection closed", s.cfg.Name)
		}
		if handled > 0 {
			attempt = 0 // it worked for a while: start the backoff afresh
		}
		wait := backoffDelay(100*time.Millisecond, 30*time.Second, attempt)
		s.log.Warn("nats consumer interrupted; retrying", zap.Error(err), zap.Duration("in", wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// consume runs one pull subscription until it fails or ctx ends, and
// says how many messages it handled.
func (s *Source) consume(ctx context.Context, changes chan<- sources.Change, held *inflight) (handled int, err error) {
	// Re-declaring the consumer on every (re)start also repairs a consumer
	// deleted by an operator or lost with a non-persistent server.
	cons, err := s.ensureConsumer(ctx)
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages(jetstream.PullMaxBytes(s.pullBytes()))
	if err != nil {
		return 0, fmt.Errorf("start pull: %w", err)
	}
	var unhanded []*pending // taken but not handed over when ctx ended
	defer func() { s.release(it, unhanded) }()
	var seen deliveries
	batch := make([]jetstream.Msg, 0, maxBatch)
	for {
		if err := s.waitRoom(ctx, held); err != nil {
			return handled, fmt.Errorf("next message: %w", err)
		}
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return handled, fmt.Errorf("next message: %w", err)
		}
		held.take(len(msg.Data()))
		batch = append(batch[:0], msg)
		size := len(msg.Data())
		var nextErr error
		wait := newLinger()
		for len(batch) < maxBatch && size < maxBatchBytes && !held.full() {
			wait.restart()
			m, err := it.Next(jetstream.NextContext(wait))
			if err != nil {
				if !errors.Is(err, errLingerOver) {
					nextErr = err // handle what was taken first
				}
				break
			}
			held.take(len(m.Data()))
			batch = append(batch, m)
			size += len(m.Data())
		}
		wait.stop()
		unhanded, err = s.handleBatch(ctx, batch, changes, held, &seen)
		clear(batch) // settled or handed over: their payloads can go
		if err != nil {
			return handled, err
		}
		handled += len(batch)
		if nextErr != nil {
			return handled, fmt.Errorf("next message: %w", nextErr)
		}
	}
}

// waitRoom waits until the events in flight hold less than
// MaxInflightBytes; meanwhile nothing more is taken, so the pull stops
// fetching once its buffer is full, and the server keeps the rest.
func (s *Source) waitRoom(ctx context.Context, held *inflight) error {
	return held.waitRoom(ctx, func() {
		s.m.inflightFull.Inc()
		s.log.Debug("max_inflight_bytes reached; waiting for acknowledgements before taking more")
	})
}

// releaseWait bounds how long release waits for the server to confirm
// that the pull subscription is gone.
const releaseWait = 5 * time.Second

// release ends a pull subscription and hands back held (the messages
// taken but not handed over, if any) and what it fetched ahead. Stop alone
// would unsubscribe later, in the library's goroutine, and drop the
// buffered messages, which the server would redeliver only after AckWait,
// although the next consume starts at once. So release drains: the
// library unsubscribes and flushes, and Next yields the buffered messages
// until the flush came back, that is until the server has dropped the
// subscription's pull requests. Only then are the messages naked: naked
// earlier, they could be redelivered to the pull request still open and
// be lost in the same way.
func (s *Source) release(it jetstream.MessagesContext, held []*pending) {
	if !s.nc.IsConnected() {
		// Nothing can be naked or unsubscribed now; the server forgets the
		// subscription with the connection and redelivers after AckWait.
		it.Stop()
		return
	}
	var back []jetstream.Msg
	it.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), releaseWait)
	defer cancel()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			break // drained, closed, or given up after releaseWait
		}
		back = append(back, msg)
	}
	for _, p := range held {
		if err := p.ack.Nak(); err != nil {
			s.log.Debug("nak message on release", zap.Error(err))
		}
	}
	for _, msg := range back {
		if err := msg.Nak(); err != nil {
			s.log.Debug("nak message on release", zap.Error(err))
		}
	}
}

// taken is a decoded message of a batch. The event goes once the batch is
// handled; p stays until the event is settled.
type taken struct {
	p *pending
	e *Event
}

// handleBatch processes fetched messages in stream order. It returns an
// error only when ctx ended before every change was handed over, with the
// events neither settled nor handed over, which the caller hands back
// (release). A decoded event is in held, kept alive, from here until it
// is settled: the daemon may leave the batch waiting on the changes
// channel for a while. The bytes of every message in msgs were taken
// (held.take); each is freed as its message is settled or handed back.
func (s *Source) handleBatch(ctx context.Context, msgs []jetstream.Msg, changes chan<- sources.Change, held *inflight, seen *deliveries) ([]*pending, error) {
	items := make([]taken, 0, len(msgs))
	events := make([]*Event, 0, len(msgs))
	for _, msg := range msgs {
		meta, err := msg.Metadata()
		if err != nil { // not a JetStream message: cannot happen on a pull consumer
			held.free(len(msg.Data()))
			s.log.Error("message without JetStream metadata", zap.Error(err))
			continue
		}
		if meta.NumDelivered > 1 {
			s.redelivered(msg, meta)
		}
		if missed := seen.next(meta.Sequence.Consumer); missed > 0 {
			s.missed(meta, missed)
		}
		e, err := s.dec.Decode(msg.Data())
		if err != nil {
			held.free(len(msg.Data()))
			s.poison(msg, meta, err)
			continue
		}
		s.m.received.WithLabelValues(e.Type.Short()).Inc()
		p := s.newPending(msg, meta, e)
		held.add(p)
		items = append(items, taken{p: p, e: e})
		events = append(events, e)
	}
	outs := s.view.applyAll(ctx, events)
	for i, it := range items {
		if ctx.Err() != nil {
			// Stopping: release naks the rest for the next consumer, which
			// finds whatever was written already applied.
			return s.handBack(items[i:], held), ctx.Err()
		}
		p := it.p
		switch o := outs[i]; {
		case o.err != nil:
			log := s.eventLog(p)
			s.m.viewErrors.Inc()
			log.Warn("update view", zap.Error(o.err))
			s.failed(log, p, fmt.Errorf("update view: %w", o.err))
			held.settle(p)
		case o.rejected != nil:
			s.refuse(it, o.rejected)
			held.settle(p)
		case o.Stale:
			s.m.stale.WithLabelValues(p.typ.Short()).Inc()
			if ce := s.log.Check(zap.DebugLevel, "stale event ignored"); ce != nil {
				ce.Write(zap.String("event_id", p.id), zap.Uint64("stream_seq", p.streamSeq))
			}
			if err := p.ack.Ack(); err != nil {
				s.eventLog(p).Warn("ack stale event", zap.Error(err))
			}
			held.settle(p)
		default:
			if err := s.handOver(ctx, p, o.applied, changes, held); err != nil {
				return s.handBack(items[i:], held), err
			}
		}
	}
	return nil, nil
}

// handBack takes items out of held and returns them, for release to nak.
func (s *Source) handBack(items []taken, held *inflight) []*pending {
	out := make([]*pending, len(items))
	for i, it := range items {
		held.settle(it.p)
		out[i] = it.p
	}
	return out
}

// eventLog is the logger for one event. It is built only when there is
// something to log: tens of thousands of events may be in flight.
func (s *Source) eventLog(p *pending) *zap.Logger {
	return s.log.With(zap.String("event_id", p.id), zap.String("type", p.typ.Short()),
		zap.Uint64("stream_seq", p.streamSeq), zap.Uint64("delivery", p.delivered))
}

// handOver sends the change for an applied event; its Done settles the
// message and takes it out of held. It returns ctx's error if ctx ended
// first; the message is then neither acked nor naked. The change keeps p,
// not the message or the event.
func (s *Source) handOver(ctx context.Context, p *pending, res applied, changes chan<- sources.Change, held *inflight) error {
	typ := p.typ.Short()
	var once sync.Once
	ch := sources.Change{
		Source:   s.cfg.Name,
		GroupIDs: res.GroupIDs,
		UserIDs:  res.UserIDs,
		Reason:   "nats " + typ + " " + p.id,
		Done: func(err error) {
			once.Do(func() {
				defer held.settle(p)
				if err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled)) {
					// Shutting down, not failing: hand the event to the next
					// consumer without spending a delivery on a dead letter.
					s.eventLog(p).Info("change abandoned at shutdown; event will be redelivered", zap.Error(err))
					_ = p.ack.Nak()
					return
				}
				if err != nil {
					s.failed(s.eventLog(p), p, err)
					return
				}
				if aerr := p.ack.Ack(); aerr != nil {
					s.eventLog(p).Warn("ack event", zap.Error(aerr))
					return
				}
				s.m.applied.WithLabelValues(typ).Inc()
			})
		},
	}
	select {
	case changes <- ch:
		return nil
	case <-ctx.Done():
		// release naks it, for the next consumer now rather than after AckWait.
		return ctx.Err()
	}
}

// redelivered logs and counts a delivery after the first. The retry of a
// naked event is one; any other means an event was held unacknowledged
// for ack_wait, or a consumer stopped without settling it.
func (s *Source) redelivered(msg jetstream.Msg, meta *jetstream.MsgMetadata) {
	s.m.redelivered.Inc()
	s.log.Warn("event redelivered", zap.String("subject", msg.Subject()),
		zap.Uint64("stream_seq", meta.Sequence.Stream), zap.Uint64("delivery", meta.NumDelivered))
}

// missed logs and counts deliveries the server made to this subscription
// that never reached it: they stay unacknowledged until ack_wait.
func (s *Source) missed(meta *jetstream.MsgMetadata, n uint64) {
	s.m.missed.Add(float64(n))
	s.log.Warn("deliveries missed; the server will redeliver them after ack_wait",
		zap.Uint64("missed", n), zap.Uint64("consumer_seq", meta.Sequence.Consumer),
		zap.Uint64("stream_seq", meta.Sequence.Stream))
}

// poison terminates an event that can never be applied.
func (s *Source) poison(msg jetstream.Msg, meta *jetstream.MsgMetadata, err error) {
	reason := "malformed"
	var de *DecodeError
	fields := []zap.Field{zap.String("subject", msg.Subject()), zap.Uint64("stream_seq", meta.Sequence.Stream), zap.Error(err)}
	if errors.As(err, &de) {
		reason = de.Reason()
		if de.EventID != "" {
			fields = append(fields, zap.String("event_id", de.EventID))
		}
	}
	s.m.received.WithLabelValues("unknown").Inc()
	s.m.poison.WithLabelValues(reason).Inc()
	s.log.Warn("poison event terminated", fields...)
	if terr := msg.TermWithReason("poison: " + err.Error()); terr != nil {
		s.log.Warn("terminate poison event", zap.Error(terr))
	}
}

// refuse terminates a well-formed event that the view will not apply
// (see admit), like poison: it would never be applied on redelivery.
func (s *Source) refuse(it taken, err error) {
	reason := ErrInvalid.Error()
	var re *RejectError
	if errors.As(err, &re) {
		reason = re.Reason()
	}
	s.m.poison.WithLabelValues(reason).Inc()
	log := s.eventLog(it.p).With(zap.String("event_source", it.e.Source), zap.String("about", it.e.entityKey()))
	log.Warn("event refused and terminated", zap.Error(err))
	if terr := it.p.ack.TermWithReason(headerSafe("refused: " + err.Error())); terr != nil {
		log.Warn("terminate refused event", zap.Error(terr))
	}
}

// failed naks an event whose change could not be applied, or dead-letters
// it once it has been delivered MaxDeliver times (the server would not
// deliver it again).
func (s *Source) failed(log *zap.Logger, p *pending, cause error) {
	typ := p.typ.Short()
	if !s.lastDelivery(p.delivered) {
		n := int(p.delivered)
		delay := s.cfg.Backoff[min(n, len(s.cfg.Backoff))-1]
		s.m.naked.WithLabelValues(typ).Inc()
		log.Warn("change not applied; will retry", zap.Error(cause), zap.Duration("in", delay))
		if err := p.ack.NakWithDelay(delay); err != nil {
			log.Warn("nak event", zap.Error(err))
		}
		return
	}
	if err := s.deadLetter(p, cause); err != nil {
		log.Error("change not applied after max_deliver attempts and dead-lettering failed; dropped",
			zap.NamedError("cause", cause), zap.Error(err))
	} else {
		s.m.deadLettered.WithLabelValues(typ).Inc()
		log.Error("change not applied after max_deliver attempts; dead-lettered",
			zap.Error(cause), zap.String("dead_letter_subject", s.cfg.DeadLetterSubject))
	}
	if err := p.ack.TermWithReason("max deliveries: " + headerSafe(cause.Error())); err != nil {
		log.Warn("terminate event", zap.Error(err))
	}
}

// deadLetter publishes the original event with the reason in headers. A
// stream capturing the subject makes it durable; without one it is still
// published to any subscriber.
func (s *Source) deadLetter(p *pending, cause error) error {
	dl := nats.NewMsg(s.cfg.DeadLetterSubject)
	dl.Data = p.data
	dl.Header.Set(HeaderReason, headerSafe(cause.Error()))
	dl.Header.Set(HeaderEventID, p.id)
	dl.Header.Set(HeaderEventType, string(p.typ))
	dl.Header.Set(HeaderDeliveries, strconv.FormatUint(p.delivered, 10))
	dl.Header.Set(HeaderStream, p.stream)
	dl.Header.Set(HeaderStreamSeq, strconv.FormatUint(p.streamSeq, 10))
	dl.Header.Set(HeaderSubject, p.subject)
	dl.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("dlq-%s-%d", p.stream, p.streamSeq))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.js.PublishMsg(ctx, dl)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		if err = s.nc.PublishMsg(dl); err == nil {
			err = s.nc.FlushWithContext(ctx)
		}
	}
	if err != nil {
		return fmt.Errorf("publish to dead-letter subject: %w", err)
	}
	return nil
}

// headerSafe makes s fit a header value: one line, bounded.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = strings.ToValidUTF8(s[:1024], "")
	}
	return s
}
