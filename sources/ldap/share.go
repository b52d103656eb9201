package ldap

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// A daemon starting up reads the whole directory twice at once: its
// syncrepl watcher's first read (the refresh of a session without a
// cookie, or the full read that comes before a resumed one) fills the
// tracker, and the start-up reconciliation's Snapshot reads the same
// entries again. At 100,000 users the two together were the daemon's
// peak memory (docs/benchmarks.md). handoff lets the watcher hand its
// read to that Snapshot instead.
//
// The snapshot is handed over only at the point where the tracker holds
// exactly what the server sent and nothing the watcher derived, so it is
// the read Snapshot would have made:
//   - after a refresh without a cookie, which sends every entry in scope;
//     only offered when both scopes are "sub", since that refresh sees the
//     whole subtree of each base;
//   - after the full read (Source.readRecords, the same paged searches as
//     Snapshot) that a resumed session makes before its refresh; the
//     refresh's changes then reach the daemon as changes.
//
// It is handed only to a Snapshot already waiting (a late one reads for
// itself, never from an old read) and only once per ExpectWatch. If the
// watcher cannot offer one (another watch mode, a failed session, the
// watch ending) the waiting Snapshot reads the directory itself.
type handoff struct {
	mu      sync.Mutex
	expect  bool                  // ExpectWatch was called and nothing offered or declined since
	waiting chan *worker.Snapshot // the Snapshot waiting for the read; nil when none
}

// ExpectWatch tells the source that Watch is about to start (the daemon
// calls it before starting its watchers), so that the first Snapshot,
// which may run before Watch begins, waits for the watcher's first read
// of the directory rather than making a second one beside it. It has no
// effect when the configuration cannot share that read (watch mode dirsync,
// poll or none; in_chain nesting).
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
func (s *Source) await(ctx context.Context) (*worker.Snapshot, error) {
	h := &s.share
	h.mu.Lock()
	if !h.expect || h.waiting != nil {
		h.mu.Unlock()
		return nil, nil
	}
	ch := make(chan *worker.Snapshot, 1)
	h.waiting = ch
	h.mu.Unlock()
	select {
	case snap := <-ch:
		return snap, nil
	case <-ctx.Done():
		h.mu.Lock()
		if h.waiting == ch {
			h.waiting = nil
		}
		h.mu.Unlock()
		return nil, ctx.Err()
	}
}

// offer hands the snapshot build makes to a waiting Snapshot, if there is
// one, and ends the expectation either way. build runs only when someone
// waits, on the caller's goroutine (the watcher's, which owns the
// tracker).
func (s *Source) offer(how string, build func() *worker.Snapshot) {
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
	snap := build()
	h.waiting <- snap
	h.waiting = nil
	s.metrics.shared.WithLabelValues(s.cfg.Name).Inc()
	s.log.Info("ldap snapshot taken from the watcher's read instead of reading the directory again",
		zap.String("read", how), zap.Int("users", len(snap.Users)), zap.Int("groups", len(snap.Groups)),
		zap.Bool("complete", snap.Complete))
}

// decline ends the expectation without a snapshot: a waiting Snapshot
// reads the directory itself.
func (s *Source) decline() {
	h := &s.share
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expect = false
	if h.waiting != nil {
		h.waiting <- nil
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
// the tracker holds, sharing its strings. Only valid while the tracker
// holds exactly what the server sent (see handoff).
func (s *Source) finishFromTracker(b *builder, t *tracker, reasons []string) *worker.Snapshot {
	var groups []*record
	for _, r := range t.recs {
		if r.isGroup {
			groups = append(groups, r)
		}
	}
	return b.finish(groups, reasons)
}

// refreshShareable reports whether a refresh without a cookie sees what
// Snapshot's searches see: the whole subtree under each base.
func (s *Source) refreshShareable() bool {
	return s.cfg.UserScope == "sub" && s.cfg.GroupScope == "sub" && s.cfg.UserBaseDN != "" && s.cfg.GroupBaseDN != ""
}
