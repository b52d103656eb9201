package lease

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Run campaigns for the lease until ctx is done. Each time this replica
// wins, Run calls onElected in a new goroutine with a leaderCtx that is
// cancelled (cause ErrLost) the moment leadership is lost or must be
// assumed lost, and when ctx is done. Run waits for onElected to return,
// releases the lease if it still holds it, and campaigns again. If
// onElected returns while the lease is still held, the term ends the same
// way: the lease is released and, after RenewEvery, contested again.
//
// Run returns nil once ctx is done and the lease is released, or
// ErrRunning if the Elector is already running.
func (e *Elector) Run(ctx context.Context, onElected func(leaderCtx context.Context)) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.running.Store(false)
	var seen, free observation
	for ctx.Err() == nil {
		rev, sent, ok := e.campaign(ctx, &seen, &free)
		if ok {
			e.lead(ctx, rev, sent, onElected)
			seen, free = observation{}, observation{}
		}
		if !sleep(ctx, e.cfg.RenewEvery) {
			break
		}
	}
	return nil
}

// observation is the lease revision a standby has been looking at, and
// since when on its own clock.
type observation struct {
	rev   uint64
	since time.Time
}

// observe notes rev at now and reports whether rev has stayed unchanged
// for a whole TTL.
func (o *observation) observe(rev uint64, now time.Time, ttl time.Duration) bool {
	if o.rev != rev || o.since.IsZero() {
		*o = observation{rev: rev, since: now}
		return false
	}
	return now.Sub(o.since) >= ttl
}

// campaign makes one attempt at the lease. On success it returns the
// revision written and the time measured before the write was sent. seen
// tracks a holder's revision (to tell a dead one), free since when the
// lease has been free (for AcquireDelay).
func (e *Elector) campaign(ctx context.Context, seen, free *observation) (rev uint64, sent time.Time, ok bool) {
	opCtx, cancel := context.WithTimeout(ctx, e.cfg.TTL-margin(e.cfg.TTL))
	defer cancel()
	msg, err := e.stream.GetLastMsgForSubject(opCtx, e.subject)
	// Read the clock after the answer: whatever it shows was written
	// before now, so waiting TTL from now waits TTL from the write.
	now := e.cfg.Clock()
	var expected uint64
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		// Never held, or expired server-side: TTL has passed since the
		// holder's last write, so its cutoff has passed too.
		e.setHolder("")
		expected = 0
	case err != nil:
		if ctx.Err() == nil {
			e.natsError("read lease", err)
		}
		return 0, time.Time{}, false
	case isMarker(msg):
		// Deleted or purged behind the holder's back: the holder may not
		// know yet, so wait as for a live holder.
		e.setHolder("")
		if !seen.observe(msg.Sequence, now, e.cfg.TTL) {
			*free = observation{}
			e.natsOK()
			return 0, time.Time{}, false
		}
		expected = msg.Sequence
	default:
		r, derr := decodeRecord(msg.Data)
		switch {
		case derr == nil && r.Released:
			e.setHolder("")
		case derr != nil:
			e.setHolder("?")
			if !seen.observe(msg.Sequence, now, e.cfg.TTL) {
				*free = observation{}
				e.natsOK()
				return 0, time.Time{}, false
			}
		default:
			e.setHolder(r.Holder)
			stale := seen.observe(msg.Sequence, now, e.cfg.TTL)
			if !stale || now.Before(r.Expires) {
				*free = observation{}
				e.natsOK()
				return 0, time.Time{}, false
			}
		}
		expected = msg.Sequence
	}
	if e.cfg.AcquireDelay != nil {
		// Asked afresh at every poll, so a replica that meanwhile won
		// another unit waits longer; measured from when this replica first
		// saw the lease free at this revision.
		if d := e.cfg.AcquireDelay(); d > 0 && !free.observe(expected, now, d) {
			e.natsOK()
			return 0, time.Time{}, false
		}
	}
	sent = e.cfg.Clock()
	val, err := record{Holder: e.cfg.Identity, Expires: sent.Add(e.cfg.TTL)}.encode()
	if err != nil {
		e.natsError("encode lease", err)
		return 0, time.Time{}, false
	}
	rev, err = e.kv.Update(opCtx, e.cfg.Key, val, expected)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		e.natsOK()
		return 0, time.Time{}, false // another replica was faster
	}
	if err != nil {
		if ctx.Err() == nil {
			e.natsError("acquire lease", err)
		}
		return 0, time.Time{}, false
	}
	e.natsOK()
	return rev, sent, true
}

// isMarker reports whether msg is a delete or purge marker rather than a
// value.
func isMarker(msg *jetstream.RawStreamMsg) bool {
	if msg.Header == nil {
		return false
	}
	return msg.Header.Get("KV-Operation") != "" || msg.Header.Get(jetstream.MarkerReasonHeader) != ""
}

// lead runs one term: it starts onElected, renews until the lease is lost,
// ctx is done or onElected returns, then waits for onElected and releases.
func (e *Elector) lead(ctx context.Context, rev uint64, sent time.Time, onElected func(context.Context)) {
	leaderCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(ErrLost)
	// The cutoff timer cancels leaderCtx at sent+TTL-margin unless a
	// renewal moves it first; Stop reporting false means it already fired.
	var deadline time.Time
	cutoff := func(from time.Time) *time.Timer {
		deadline = from.Add(e.cfg.TTL - margin(e.cfg.TTL))
		return time.AfterFunc(deadline.Sub(e.cfg.Clock()), func() { cancel(ErrLost) })
	}
	timer := cutoff(sent)
	e.mu.Lock()
	e.leaderCtx = leaderCtx
	e.holder = e.cfg.Identity
	e.mu.Unlock()
	e.m.leader.WithLabelValues(e.cfg.Key).Set(1)
	e.m.elected.WithLabelValues(e.cfg.Key).Inc()
	stopGauge := context.AfterFunc(leaderCtx, func() { e.m.leader.WithLabelValues(e.cfg.Key).Set(0) })
	defer stopGauge()
	e.log.Info("lease: elected leader", zap.Uint64("revision", rev))

	done := make(chan struct{})
	go func() {
		defer close(done)
		onElected(leaderCtx)
	}()

	reason := reasonReleased
	tick := time.NewTicker(e.cfg.RenewEvery)
	defer tick.Stop()
renew:
	for {
		select {
		case <-done:
			break renew
		case <-leaderCtx.Done():
			if ctx.Err() == nil {
				reason = reasonExpired
			}
			break renew
		case <-tick.C:
		}
		s := e.cfg.Clock()
		newRev, err := e.renew(ctx, rev, s, deadline)
		switch {
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			reason = reasonConflict
			cancel(ErrLost)
			break renew
		case err != nil:
			if ctx.Err() == nil {
				e.natsError("renew lease", err)
			}
			continue // the cutoff timer ends the term if no renewal succeeds
		}
		e.natsOK()
		if !timer.Stop() {
			reason = reasonExpired // renewed, but only after the cutoff
			break renew
		}
		rev = newRev
		timer = cutoff(s)
	}
	timer.Stop()
	cancel(ErrLost)
	e.mu.Lock()
	e.leaderCtx = nil
	e.holder = "" // unknown until the next campaign reads the lease
	e.mu.Unlock()
	e.m.lost.WithLabelValues(e.cfg.Key, reason).Inc()
	<-done
	e.log.Info("lease: leadership ended", zap.String("reason", reason))
	if reason != reasonConflict {
		e.release(ctx, rev)
	}
}

// renew rewrites the lease at rev with an expiry counted from s. It gives
// up at the current cutoff: a renewal landing later would not help.
func (e *Elector) renew(ctx context.Context, rev uint64, s, deadline time.Time) (uint64, error) {
	if !s.Before(deadline) {
		return 0, errors.New("lease: renewal due after the cutoff")
	}
	if e.renewFault != nil {
		if err := e.renewFault(); err != nil {
			return 0, err
		}
	}
	val, err := record{Holder: e.cfg.Identity, Expires: s.Add(e.cfg.TTL)}.encode()
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, deadline.Sub(s))
	defer cancel()
	return e.kv.Update(rctx, e.cfg.Key, val, rev)
}

// release marks the lease free if this replica still holds revision rev,
// so a standby takes over at once instead of after the TTL. It is called
// only after onElected has returned.
func (e *Elector) release(ctx context.Context, rev uint64) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.TTL-margin(e.cfg.TTL))
	defer cancel()
	val, err := record{Holder: e.cfg.Identity, Expires: e.cfg.Clock(), Released: true}.encode()
	if err == nil {
		_, err = e.kv.Update(rctx, e.cfg.Key, val, rev)
	}
	switch {
	case err == nil:
		e.setHolder("")
		e.log.Info("lease: released")
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		// Someone else holds it now, or it expired: nothing to release.
	default:
		e.log.Warn("lease: release failed; the lease expires on its own", zap.Error(err))
	}
}
