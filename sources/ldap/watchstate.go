package ldap

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// watchState lets Snapshot take the directory from a syncrepl or DirSync
// session's tracker instead of reading it again. The session vouches for
// its tracker only when it started from a full read of its own (a refresh
// or a DirSync round without a cookie, or the paged read before a resumed
// syncrepl refresh), is in sync (syncrepl: its persist phase; DirSync: its
// last poll succeeded), and has seen nothing doubtful since: a reconnect
// (its refresh diffs against a tracker it cannot prove current), a
// refused cookie, an entry it could not decode, a referral. Anything else
// makes Snapshot ask the session to start again from a full read, which
// Snapshot then takes (share.go) and which vouches for the tracker again;
// without a live session Snapshot reads the directory itself.
type watchState struct {
	mu sync.RWMutex // held to change tr's records, or read them from another goroutine
	tr *tracker
	// live: the session is in sync; restart ends it.
	live    bool
	restart func()
	// poll, set by a DirSync session, runs a poll that starts after the
	// call and returns its error: a Snapshot then includes every change
	// made before it asked.
	poll func(context.Context) error
	// vouched: tr is what a full read would return; readAt is when the
	// full read it started from began.
	vouched bool
	readAt  time.Time
	// reseeding: Snapshot ended the session for a fresh full read.
	reseeding bool
	// last is the last snapshot built from the tracker, whose arrays
	// the next one shares where equal (reuse.go).
	last lastSnapshot
}

// watchSnapshots reports whether this configuration may serve Snapshot
// from a watcher's state (watchSnapshotsFor either mode).
func (s *Source) watchSnapshots() bool {
	return s.watchSnapshotsFor(WatchSyncrepl) || s.watchSnapshotsFor(WatchDirSync)
}

// watchSnapshotsFor reports whether a watcher in mode may serve Snapshot
// from its state: its search sees what a full read sees, deletions are
// named by the id the records use (syncrepl: entryUUID; DirSync:
// objectGUID), and the groups are not expanded by in_chain searches.
// DirSync evaluates the filter on each changed entry as it is now, so an
// entry that stops matching is never sent: it qualifies only with the
// preset's filters, on attributes that do not change.
func (s *Source) watchSnapshotsFor(mode string) bool {
	if s.cfg.NestedGroups == NestedInChain || (s.cfg.Watch != WatchAuto && s.cfg.Watch != mode) || !s.refreshShareable() {
		return false
	}
	switch mode {
	case WatchSyncrepl:
		return strings.EqualFold(s.cfg.IDAttribute, "entryUUID")
	case WatchDirSync:
		p := presets[s.cfg.Schema]
		return strings.EqualFold(s.cfg.IDAttribute, "objectGUID") && s.cfg.GroupFilter == "" && s.cfg.UserFilter == p.userFilter
	}
	return false
}

// edit runs fn, which changes the tracker, under the state's lock.
func (ws *watchState) edit(fn func()) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	fn()
}

// setPoll sets (nil: clears) the DirSync session's poll.
func (ws *watchState) setPoll(poll func(context.Context) error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.poll = poll
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
func (ws *watchState) persist(restart func(), vouch bool, readAt time.Time) {
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

// reseedAsked reports whether Snapshot asked the session to start again
// from a full read, and if so ends it (ended).
func (ws *watchState) reseedAsked() bool {
	ws.mu.RLock()
	asked := ws.reseeding
	ws.mu.RUnlock()
	return asked && ws.ended()
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

// WillReadInFull reports whether a Snapshot taken now would read the
// directory in full (or wait for the watcher's full read) where this
// configuration lets it answer from the watcher's state
// (sources.FullReadPredictor). A configuration that always reads in full
// reports false, so that its runs keep the two reads side by side (time
// over memory, as one-shot runs do).
func (s *Source) WillReadInFull(ctx context.Context) bool {
	return s.watchSnapshots() && (sources.FullReadWanted(ctx) || !s.ws.current(s.cfg.WatchSnapshotMaxAge))
}

// snapshotFromWatcher returns the directory as the watcher's tracker
// holds it, or nil when the watcher may not serve it (fromWatcher).
func (s *Source) snapshotFromWatcher(ctx context.Context) *sources.Snapshot {
	snap, tr := s.fromWatcher(ctx, "ldap snapshot", func(t *tracker) *sources.Snapshot { return s.finishShared(nil, t, nil) })
	if snap == nil {
		return nil
	}
	s.ws.shareUsers(tr, snap)
	snap.Read = sources.ReadWatcher
	s.metrics.snapshots.WithLabelValues(s.cfg.Name, sources.ReadWatcher).Inc()
	s.ws.mu.RLock()
	since := time.Since(s.ws.readAt).Round(time.Second)
	s.ws.mu.RUnlock()
	s.log.Info("ldap snapshot taken from the watcher's state",
		zap.Int("users", len(snap.Users)), zap.Int("groups", len(snap.Groups)), zap.Duration("since_full_read", since))
	return snap
}

// fromWatcher returns what build makes of the watcher's tracker, read
// under the state's lock, and that tracker, or nil when this configuration may not use the
// watcher's state (watchSnapshots), the watcher does not vouch for it, or
// its full read is older than WatchSnapshotMaxAge. A DirSync session
// polls first, so the answer includes every change made before the call.
func (s *Source) fromWatcher(ctx context.Context, what string, build func(*tracker) *sources.Snapshot) (*sources.Snapshot, *tracker) {
	ws := &s.ws
	if !s.watchSnapshots() || !ws.current(s.cfg.WatchSnapshotMaxAge) {
		return nil, nil
	}
	ws.mu.RLock()
	poll := ws.poll
	ws.mu.RUnlock()
	if poll != nil {
		// Bounded: a poll blocked on sending its changes to a daemon whose
		// queue is full must not hold the caller for ever.
		pctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		err := poll(pctx)
		cancel()
		if err != nil {
			s.log.Info(what+": the DirSync watcher's poll failed", zap.Error(err))
			return nil, nil
		}
	}
	ws.mu.RLock()
	if !ws.currentLocked(s.cfg.WatchSnapshotMaxAge) {
		ws.mu.RUnlock()
		return nil, nil
	}
	tr := ws.tr
	snap := build(tr)
	ws.mu.RUnlock()
	return snap, tr
}

// shareUsers lets t share snap's users (tracker.shareUsers) if t is still
// the tracker of a live session: its watcher then reads no record's user
// but under the lock.
func (ws *watchState) shareUsers(t *tracker, snap *sources.Snapshot) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.live && ws.tr == t {
		t.shareUsers(snap.Users)
	}
}

// current reports whether a live session vouches for a tracker whose full
// read is younger than maxAge.
func (ws *watchState) current(maxAge time.Duration) bool {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.currentLocked(maxAge)
}

func (ws *watchState) currentLocked(maxAge time.Duration) bool {
	return ws.live && ws.vouched && time.Since(ws.readAt) < maxAge
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

// reseedWatcher prepares the end of a live session, so that the next one
// starts from a full read, and tells the share that a Snapshot will wait
// for that read. It returns what ends the session, for the caller to call
// once it waits (awaitAfter), or nil when there is no live session to
// end; forced says the caller asked for a full read.
func (s *Source) reseedWatcher(forced bool) func() {
	ws := &s.ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if !ws.live || ws.reseeding {
		return nil
	}
	why := "its last full read is older than watch_snapshot_max_age"
	switch {
	case forced:
		why = "a full read was asked for"
	case !ws.vouched:
		why = "it cannot vouch for its state (reconnect, resumed cookie or a doubtful entry)"
	}
	s.log.Info("ldap snapshot: the watcher restarts from a full read", zap.String("why", why))
	s.share.mu.Lock()
	s.share.expect = true
	s.share.mu.Unlock()
	ws.reseeding = true
	return ws.restart
}
