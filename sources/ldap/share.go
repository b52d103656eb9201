package ldap

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// handoff lets a syncrepl watcher hand its first full read to the start-up
// reconciliation's Snapshot, so a starting daemon reads the directory once,
// not twice at once (the two together would be its peak memory). What is
// handed over is what the server sent, before the watcher derived anything
// from it: a refresh without a cookie (only when both scopes are subtrees
// under the watch base) or the full read before a resumed session. It goes
// only to a Snapshot already waiting, once per ExpectWatch; if the watcher
// cannot offer one or stalls for Timeout, Snapshot reads itself.
type handoff struct {
	mu      sync.Mutex
	expect  bool         // ExpectWatch was called and nothing offered or declined since
	waiting chan offered // the Snapshot waiting for the read; nil when none
	// progress is when the watcher last showed progress (unix nanos): a
	// persistent search has no read timeout, so a stalled one would
	// otherwise hold the start-up reconciliation for ever.
	progress atomic.Int64
}

// offered is a watcher's read and what it was, or nil: read for yourself.
type offered struct {
	snap *sources.Snapshot
	how  string
}

// alive records progress of the watcher's read.
func (h *handoff) alive() { h.progress.Store(time.Now().UnixNano()) }

// ExpectWatch tells the source that Watch is about to start (the daemon
// calls it before starting its watchers), so that the first Snapshot,
// which may run before Watch begins, waits for the watcher's first read
// of the directory rather than making a second one beside it. It has no
// effect with watch mode dirsync, poll or none, or in_chain nesting; with
// a read that turns out not to be shareable the Snapshot waits only until
// the watcher's session starts.
func (s *Source) ExpectWatch() {
	switch s.cfg.Watch {
	case WatchAuto, WatchSyncrepl:
	default:
		return
	}
	if s.cfg.NestedGroups == NestedInChain {
		return
	}
	s.share.mu.Lock()
	defer s.share.mu.Unlock()
	s.share.expect = true
}

// await returns the watcher's read when this Snapshot may wait for it:
// (nil, nil) means read the directory.
func (s *Source) await(ctx context.Context) (*sources.Snapshot, error) { return s.awaitAfter(ctx, nil) }

// awaitAfter is await that calls start, when not nil, once this Snapshot
// waits: a watcher asked to read again (reseedWatcher) cannot offer its
// read before anyone waits for it.
func (s *Source) awaitAfter(ctx context.Context, start func()) (*sources.Snapshot, error) {
	h := &s.share
	h.mu.Lock()
	if !h.expect || h.waiting != nil {
		h.mu.Unlock()
		if start != nil {
			start()
		}
		return nil, nil
	}
	ch := make(chan offered, 1)
	h.waiting = ch
	h.mu.Unlock()
	if start != nil {
		start()
	}
	h.alive()
	tick := time.NewTicker(max(time.Millisecond, min(time.Second, s.cfg.Timeout/4)))
	defer tick.Stop()
	// stop ends the wait; if the watcher has already offered its read
	// (offer sends while holding mu), that read is taken anyway. giveUp
	// also stops later Snapshots waiting for this watcher.
	stop := func(giveUp bool) (offered, bool) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.waiting == ch {
			h.waiting = nil
			h.expect = h.expect && !giveUp
			return offered{}, false
		}
		return <-ch, true
	}
	var o offered
wait:
	for {
		select {
		case o = <-ch:
			break wait
		case <-ctx.Done():
			var ok bool
			if o, ok = stop(false); !ok {
				return nil, ctx.Err()
			}
			break wait
		case <-tick.C:
			if time.Since(time.Unix(0, h.progress.Load())) < s.cfg.Timeout {
				continue
			}
			var ok bool
			if o, ok = stop(true); !ok {
				s.log.Warn("ldap snapshot: the change watcher's read made no progress; reading the directory instead",
					zap.Duration("for", s.cfg.Timeout))
				return nil, nil
			}
			break wait
		}
	}
	if o.snap != nil {
		s.metrics.shared.WithLabelValues(s.cfg.Name).Inc()
		s.log.Info("ldap snapshot taken from the watcher's read instead of reading the directory again",
			zap.String("read", o.how), zap.Int("users", len(o.snap.Users)), zap.Int("groups", len(o.snap.Groups)),
			zap.Bool("complete", o.snap.Complete))
	}
	return o.snap, nil
}

// offer hands the snapshot build makes to a waiting Snapshot, if there is
// one, and ends the expectation either way. build runs only when someone
// waits, on the caller's goroutine (the watcher's, which owns the
// tracker).
func (s *Source) offer(how string, build func() *sources.Snapshot) {
	h := &s.share
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.expect {
		return
	}
	h.expect = false
	if h.waiting == nil {
		return
	}
	h.waiting <- offered{snap: build(), how: how}
	h.waiting = nil
}

// decline ends the expectation without a snapshot: a waiting Snapshot
// reads the directory itself.
func (s *Source) decline() {
	h := &s.share
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expect = false
	if h.waiting != nil {
		h.waiting <- offered{}
		h.waiting = nil
	}
}

// expecting reports whether a Snapshot may still wait for the watcher's
// read, so the refresh should build one as it goes.
func (s *Source) expecting() bool {
	s.share.mu.Lock()
	defer s.share.mu.Unlock()
	return s.share.expect
}

// finishFromTracker completes a snapshot whose users b was given as the
// refresh sent them (the tracker keeps only their sums) with the groups
// the tracker holds, sharing its strings.
func finishFromTracker(b *builder, t *tracker, reasons []string) *sources.Snapshot {
	groups := make([]*record, 0, len(t.groupIDs))
	for id := range t.groupIDs {
		groups = append(groups, t.asRead(t.recs[id]))
	}
	return b.finish(groups, reasons)
}

// asRead is group g as a read returns it: with the member values the
// server last sent, where renameMember rewrote them (listed).
func (t *tracker) asRead(g *record) *record {
	if m, ok := t.listed[g.id]; ok {
		c := *g
		c.members = m
		return &c
	}
	return g
}

// refreshShareable reports whether a refresh without a cookie sees what
// Snapshot's searches see: the whole subtree under each base, both under
// the watcher's search base.
func (s *Source) refreshShareable() bool {
	for _, sc := range []string{s.cfg.UserScope, s.cfg.GroupScope} {
		if v, err := parseScope(sc); err != nil || v != goldap.ScopeWholeSubtree {
			return false
		}
	}
	base := s.watchBase()
	if base == "" || s.cfg.UserBaseDN == "" || s.cfg.GroupBaseDN == "" {
		return false
	}
	nb := normDN(base)
	return underDN(normDN(s.cfg.UserBaseDN), nb) && underDN(normDN(s.cfg.GroupBaseDN), nb)
}
