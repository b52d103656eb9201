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

	"github.com/lightdash-sync/lightdash-sync/worker"
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

// pullBuffer bounds the messages fetched ahead. Buffered messages' ack
// timers run while the daemon is busy, so the buffer stays small.
const pullBuffer = 16

// Watch consumes the stream until ctx is done, and returns nil then; it
// returns an error only if the source is closed under it. For each event:
//   - poison (undecodable, invalid, oversized): terminated with the reason,
//     logged once, counted; the events behind it flow on;
//   - older than the view for its group or user: acknowledged, ignored,
//     counted;
//   - otherwise: written to the view, then sent as a worker.Change whose
//     Done acknowledges it (nil) or naks it with the configured backoff
//     (error); on the MaxDeliver-th failure it goes to the dead-letter
//     subject and is terminated. A Done(err) after ctx ended, or with an
//     error wrapping context.Canceled, is a shutdown: plain nak, no dead
//     letter.
//
// Sending blocks while the daemon is busy; that is the backpressure.
// Connection loss and server restarts are retried inside with backoff.
func (s *Source) Watch(ctx context.Context, changes chan<- worker.Change) error {
	for attempt := 0; ; attempt++ {
		handled, err := s.consume(ctx, changes)
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
func (s *Source) consume(ctx context.Context, changes chan<- worker.Change) (handled int, err error) {
	// Re-declaring the consumer on every (re)start also repairs a consumer
	// deleted by an operator or lost with a non-persistent server.
	cons, err := s.ensureConsumer(ctx)
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(pullBuffer))
	if err != nil {
		return 0, fmt.Errorf("start pull: %w", err)
	}
	var unhanded jetstream.Msg // taken but not handed over when ctx ended
	defer func() { s.release(it, unhanded) }()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return handled, fmt.Errorf("next message: %w", err)
		}
		if err := s.handle(ctx, msg, changes); err != nil {
			unhanded = msg
			return handled, err
		}
		handled++
	}
}

// releaseWait bounds how long release waits for the server to confirm
// that the pull subscription is gone.
const releaseWait = 5 * time.Second

// release ends a pull subscription and hands back held (the message
// taken but not handed over, if any) and what it fetched ahead. Stop alone
// would unsubscribe later, in the library's goroutine, and drop the
// buffered messages, which the server would redeliver only after AckWait,
// although the next consume starts at once. So release drains: the
// library unsubscribes and flushes, and Next yields the buffered messages
// until the flush came back, that is until the server has dropped the
// subscription's pull requests. Only then are the messages naked: naked
// earlier, they could be redelivered to the pull request still open and
// be lost in the same way.
func (s *Source) release(it jetstream.MessagesContext, held jetstream.Msg) {
	if !s.nc.IsConnected() {
		// Nothing can be naked or unsubscribed now; the server forgets the
		// subscription with the connection and redelivers after AckWait.
		it.Stop()
		return
	}
	var back []jetstream.Msg
	if held != nil {
		back = append(back, held)
	}
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
	for _, msg := range back {
		if err := msg.Nak(); err != nil {
			s.log.Debug("nak message on release", zap.Error(err))
		}
	}
}

// handle processes one message. It returns an error only when ctx ended
// before the change was handed over; the message is then neither acked
// nor naked, and the caller hands it back (release).
func (s *Source) handle(ctx context.Context, msg jetstream.Msg, changes chan<- worker.Change) error {
	meta, err := msg.Metadata()
	if err != nil { // not a JetStream message: cannot happen on a pull consumer
		s.log.Error("message without JetStream metadata", zap.Error(err))
		return nil
	}
	e, err := s.dec.Decode(msg.Data())
	if err != nil {
		s.poison(msg, meta, err)
		return nil
	}
	typ := e.Type.Short()
	s.m.received.WithLabelValues(typ).Inc()
	log := s.log.With(zap.String("event_id", e.ID), zap.String("type", typ),
		zap.Uint64("stream_seq", meta.Sequence.Stream), zap.Uint64("delivery", meta.NumDelivered))

	res, err := s.view.apply(ctx, e)
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // stopping: release naks it for the next consumer
	}
	if err != nil {
		s.m.viewErrors.Inc()
		log.Warn("update view", zap.Error(err))
		s.failed(log, msg, meta, e, fmt.Errorf("update view: %w", err))
		return nil
	}
	if res.Stale {
		s.m.stale.WithLabelValues(typ).Inc()
		log.Debug("stale event ignored")
		if err := msg.Ack(); err != nil {
			log.Warn("ack stale event", zap.Error(err))
		}
		return nil
	}
	var once sync.Once
	done := make(chan struct{})
	ch := worker.Change{
		Source:   s.cfg.Name,
		GroupIDs: res.GroupIDs,
		UserIDs:  res.UserIDs,
		Reason:   "nats " + typ + " " + e.ID,
		Done: func(err error) {
			once.Do(func() {
				close(done)
				if err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled)) {
					// Shutting down, not failing: hand the event to the next
					// consumer without spending a delivery on a dead letter.
					log.Info("change abandoned at shutdown; event will be redelivered", zap.Error(err))
					_ = msg.Nak()
					return
				}
				if err != nil {
					s.failed(log, msg, meta, e, err)
					return
				}
				if aerr := msg.Ack(); aerr != nil {
					log.Warn("ack event", zap.Error(aerr))
					return
				}
				s.m.applied.WithLabelValues(typ).Inc()
			})
		},
	}
	go s.keepAlive(ctx, log, msg, done)
	select {
	case changes <- ch:
		return nil
	case <-ctx.Done():
		// release naks it, for the next consumer now rather than after AckWait.
		return ctx.Err()
	}
}

// keepAlive tells the server the event is still being worked on, every
// third of AckWait, until Done is called or Watch stops. The daemon may
// hold a change a while (debounce, a busy queue, a slow Lightdash); without
// this the event would be redelivered meanwhile. AckWait then only bounds
// how long a crashed consumer keeps an event from the others.
func (s *Source) keepAlive(ctx context.Context, log *zap.Logger, msg jetstream.Msg, done <-chan struct{}) {
	t := time.NewTicker(s.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if err := msg.InProgress(); err != nil {
				log.Debug("extend ack deadline", zap.Error(err))
			}
		}
	}
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

// failed naks an event whose change could not be applied, or dead-letters
// it once it has been delivered MaxDeliver times (the server would not
// deliver it again).
func (s *Source) failed(log *zap.Logger, msg jetstream.Msg, meta *jetstream.MsgMetadata, e *Event, cause error) {
	typ := e.Type.Short()
	n := int(meta.NumDelivered)
	if n < s.cfg.MaxDeliver {
		delay := s.cfg.Backoff[min(n, len(s.cfg.Backoff))-1]
		s.m.naked.WithLabelValues(typ).Inc()
		log.Warn("change not applied; will retry", zap.Error(cause), zap.Duration("in", delay))
		if err := msg.NakWithDelay(delay); err != nil {
			log.Warn("nak event", zap.Error(err))
		}
		return
	}
	if s.cfg.DeadLetterSubject == "" {
		log.Error("change not applied after max_deliver attempts; dropped (no dead_letter_subject)", zap.Error(cause))
	} else if err := s.deadLetter(msg, meta, e, cause); err != nil {
		log.Error("change not applied after max_deliver attempts and dead-lettering failed; dropped",
			zap.NamedError("cause", cause), zap.Error(err))
	} else {
		s.m.deadLettered.WithLabelValues(typ).Inc()
		log.Error("change not applied after max_deliver attempts; dead-lettered",
			zap.Error(cause), zap.String("dead_letter_subject", s.cfg.DeadLetterSubject))
	}
	if err := msg.TermWithReason("max deliveries: " + headerSafe(cause.Error())); err != nil {
		log.Warn("terminate event", zap.Error(err))
	}
}

// deadLetter publishes the original event with the reason in headers. A
// stream capturing the subject makes it durable; without one it is still
// published to any subscriber.
func (s *Source) deadLetter(msg jetstream.Msg, meta *jetstream.MsgMetadata, e *Event, cause error) error {
	dl := nats.NewMsg(s.cfg.DeadLetterSubject)
	dl.Data = msg.Data()
	dl.Header.Set(HeaderReason, headerSafe(cause.Error()))
	dl.Header.Set(HeaderEventID, e.ID)
	dl.Header.Set(HeaderEventType, string(e.Type))
	dl.Header.Set(HeaderDeliveries, strconv.FormatUint(meta.NumDelivered, 10))
	dl.Header.Set(HeaderStream, meta.Stream)
	dl.Header.Set(HeaderStreamSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
	dl.Header.Set(HeaderSubject, msg.Subject())
	dl.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("dlq-%s-%d", meta.Stream, meta.Sequence.Stream))
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
