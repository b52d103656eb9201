package ldap

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// watchState lets Snapshot take the directory from a syncrepl session's
// tracker instead of reading it again. The session vouches for its
// tracker only when it started from a full read of its own (a refresh
// without a cookie, or the paged read before a resumed refresh), is in
// its persist phase, and has seen nothing doubtful since: a reconnect
// (its refresh diffs against a tracker it cannot prove current), an entry
// it could not decode, a referral. Anything else makes Snapshot ask the
// session to start again from a full read, which Snapshot then takes
// (share.go) and which vouches for the tracker again; without a live
// session Snapshot reads the directory itself.
type watchState struct {
	mu sync.RWMutex // held to change tr's records, or read them from another goroutine
	tr *tracker
	// live: the session is in its persist phase; restart ends it.
	live    bool
	restart context.CancelFunc
	// vouched: tr is what a full read would return; readAt is when the
	// full read it started from began.
	vouched bool
	readAt  time.Time
	// reseeding: Snapshot ended the session for a fresh full read.
	reseeding bool
}

// watchSnapshots reports whether this configuration may serve Snapshot
// from the syncrepl watcher's state: the watcher's search sees what a
// full read sees, deletions are named by the id the records use, and the
// groups are not expanded by in_chain searches.
func (s *Source) watchSnapshots() bool {
	return strings.EqualFold(s.cfg.IDAttribute, "entryUUID") && s.cfg.NestedGroups != NestedInChain &&
		(s.cfg.Watch == WatchAuto || s.cfg.Watch == WatchSyncrepl) && s.refreshShareable()
}

// edit runs fn, which changes the tracker, under the state's lock.
func (ws *watchState) edit(fn func()) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	fn()
}

// setTracker makes t the session's tracker; nothing is vouched for.
func (ws *watchState) setTracker(t *tracker) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.tr, ws.vouched = t, false
}

// persist records that a session entered its persist phase; vouch says
// whether its tracker is what a full read begun at readAt would return,
// updated since.
func (ws *watchState) persist(restart context.CancelFunc, vouch bool, readAt time.Time) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.live, ws.restart = true, restart
	ws.vouched, ws.readAt = vouch, readAt
}

// doubt withdraws the vouching: something the full read would show may be
// missing from the tracker.
func (ws *watchState) doubt() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.vouched = false
}

// ended records that the session ended; it reports whether Snapshot ended
// it to make a fresh full read.
func (ws *watchState) ended() (reseed bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	reseed = ws.reseeding
	ws.live, ws.restart, ws.vouched, ws.reseeding = false, nil, false, false
	return reseed
}

// snapshotFromWatcher returns the directory as the watcher's tracker
// holds it, or nil when the watcher does not vouch for it or its full
// read is older than WatchSnapshotMaxAge.
func (s *Source) snapshotFromWatcher() *sources.Snapshot {
	ws := &s.ws
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	if !ws.live || !ws.vouched || time.Since(ws.readAt) >= s.cfg.WatchSnapshotMaxAge {
		return nil
	}
	b := trackerUsers(s, ws.tr)
	if b == nil {
		return nil
	}
	snap := finishFromTracker(b, ws.tr, nil)
	snap.Read = sources.ReadWatcher
	s.metrics.snapshots.WithLabelValues(s.cfg.Name, sources.ReadWatcher).Inc()
	s.log.Info("ldap snapshot taken from the syncrepl watcher's state",
		zap.Int("users", len(snap.Users)), zap.Int("groups", len(snap.Groups)),
		zap.Duration("since_full_read", time.Since(ws.readAt).Round(time.Second)))
	return snap
}

// trackerUsers starts a snapshot with the users t holds; nil when t lets
// them go (it cannot be vouched for then).
func trackerUsers(s *Source, t *tracker) *builder {
	b := s.newUniqueBuilder(len(t.recs) - len(t.groupIDs))
	for _, r := range t.recs {
		if r.isGroup {
			continue
		}
		if r.user == nil {
			return nil
		}
		b.addUser(r)
	}
	return b
}

// reseedWatcher ends a live session so that the next one starts from a
// full read, and tells the share that a Snapshot will wait for that read.
// It reports whether there was a live session to end; forced says the
// caller asked for a full read.
func (s *Source) reseedWatcher(forced bool) bool {
	ws := &s.ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if !ws.live || ws.reseeding {
		return false
	}
	why := "its last full read is older than watch_snapshot_max_age"
	switch {
	case forced:
		why = "a full read was asked for"
	case !ws.vouched:
		why = "it cannot vouch for its state (reconnect or a doubtful entry)"
	}
	s.log.Info("ldap snapshot: the syncrepl watcher restarts from a full read", zap.String("why", why))
	s.share.mu.Lock()
	s.share.expect = true
	s.share.mu.Unlock()
	ws.reseeding = true
	ws.restart()
	return true
}
