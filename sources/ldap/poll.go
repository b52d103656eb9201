package ldap

import (
	"context"
	"errors"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// generalizedTime is the LDAP GeneralizedTime layout servers use for
// modifyTimestamp.
const generalizedTime = "20060102150405Z"

// poller is the fallback for servers without syncrepl or DirSync: it asks
// for entries whose modifyTimestamp is at or after the newest one seen,
// and reads everything every FullReadInterval, since deletions leave no
// timestamp behind.
type poller struct {
	s       *Source
	changes chan<- sources.Change
	tr      *tracker
	since   string // newest modifyTimestamp seen
	loaded  bool
	lastAll time.Time
}

func (s *Source) watchPoll(ctx context.Context, changes chan<- sources.Change) error {
	p := &poller{s: s, changes: changes, tr: newTracker(s.cfg.MemberValue == MemberValueUID)}
	bo := newBackoff(s.cfg.ReconnectMin, s.cfg.ReconnectMax)
	for ctx.Err() == nil {
		err := p.round(ctx)
		if ctx.Err() != nil {
			break
		}
		wait := s.cfg.PollInterval
		if err != nil {
			s.metrics.reconnect.WithLabelValues(s.cfg.Name).Inc()
			s.metrics.connected.WithLabelValues(s.cfg.Name).Set(0)
			s.log.Warn("ldap poll failed; retrying", zap.Error(err))
			wait = bo.next()
		} else {
			s.metrics.connected.WithLabelValues(s.cfg.Name).Set(1)
			bo.reset()
		}
		sleep(ctx, wait)
	}
	s.metrics.connected.WithLabelValues(s.cfg.Name).Set(0)
	return nil
}

// round does one poll: a full read when due (or first), else a search for
// recently modified entries.
func (p *poller) round(ctx context.Context) error {
	s := p.s
	if !p.loaded || time.Since(p.lastAll) >= s.cfg.FullReadInterval {
		users, groups, err := s.readRecords(ctx, readOpts{})
		if err != nil && !errors.Is(err, errIncomplete) {
			return err
		}
		seen := map[string]bool{}
		for _, r := range append(users, groups...) {
			seen[r.id] = true
			p.note(r.stamp)
			if !p.loaded { // first read: only learn; the full reconciliation covers it
				p.tr.fill(r)
				continue
			}
			if !s.send(ctx, p.changes, p.tr.apply(r, false, "poll full read"), WatchPoll) {
				return nil
			}
		}
		if err == nil && p.loaded { // never infer deletions from an incomplete read
			for _, ch := range p.tr.prune(seen, "poll: entry gone") {
				if !s.send(ctx, p.changes, ch, WatchPoll) {
					return nil
				}
			}
		}
		p.loaded, p.lastAll = true, time.Now()
		return nil
	}
	c, err := s.dial(ctx, true)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := &reader{s: s, conn: c}
	since := ""
	if p.since != "" {
		since = "(modifyTimestamp>=" + goldap.EscapeFilter(p.since) + ")"
	}
	for _, q := range []struct {
		group            bool
		kind, base, scop string
		filter           string
	}{
		{false, "poll", s.cfg.UserBaseDN, s.cfg.UserScope, s.userFilter(since)},
		{true, "poll", s.cfg.GroupBaseDN, s.cfg.GroupScope, s.groupFilter(since)},
	} {
		es, err := r.search(q.kind, q.base, q.scop, q.filter)
		if err != nil {
			return err
		}
		for _, rec := range r.decodeAll(es, q.group) {
			p.note(rec.stamp)
			if !s.send(ctx, p.changes, p.tr.apply(rec, false, "poll modify"), WatchPoll) {
				return nil
			}
		}
	}
	return nil
}

// note advances the high-water mark. GeneralizedTime strings in the same
// layout order like the times they spell.
func (p *poller) note(stamp string) {
	if stamp > p.since {
		p.since = stamp
	}
}
