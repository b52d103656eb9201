package ldap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// dirSyncWatcher polls Active Directory with the DirSync control. The
// first round (no cookie) returns every object and fills the tracker; later
// rounds return only changed attributes of changed objects, which are
// merged into the last full entry.
type dirSyncWatcher struct {
	s       *Source
	changes chan<- sources.Change
	tr      *tracker
	cookie  []byte
	conn    dirSyncer
	flags   int64 // dirSyncFlags, or plainDirSyncFlags once refused
	// resumed is set until the first poll after a restart with a saved
	// cookie ends: the tracker was filled by a read made after the
	// changes that poll returns, so every entry it returns is reported.
	resumed bool
	// The session's standing for Snapshot (watchstate.go): when the full
	// read it started from began, and whether anything since is doubtful.
	readAt   time.Time
	doubtful bool
	// problems are the entries of a round without a cookie that could not
	// be decoded, as a read would report them.
	problems []string
	// asks carries Snapshots' requests for a poll (ask); wake ends the
	// wait between polls when Snapshot asks for a fresh full read; done
	// is closed when the watcher stops.
	asks chan chan error
	wake chan struct{}
	done chan struct{}
}

// errWatcherStopped answers a Snapshot that asked a stopping watcher.
var errWatcherStopped = errors.New("the DirSync watcher stopped")

func (s *Source) watchDirSync(ctx context.Context, changes chan<- sources.Change) error {
	w := s.newDirSyncWatcher(changes)
	defer close(w.done)
	if err := w.load(ctx); err != nil {
		return err
	}
	s.ws.setPoll(w.ask)
	defer func() {
		s.ws.setPoll(nil)
		s.ws.ended()
		s.decline()
	}()
	bo := newBackoff(s.cfg.ReconnectMin, s.cfg.ReconnectMax)
	defer w.close()
	var asked []chan error
	for ctx.Err() == nil {
		reseed := s.ws.reseedAsked()
		if reseed {
			w.reset()
		}
		wait := s.cfg.PollInterval
		err := w.poll(ctx)
		if ctx.Err() != nil {
			break
		}
		w.settle(err, reseed)
		if err != nil {
			w.close()
			s.metrics.reconnect.WithLabelValues(s.cfg.Name).Inc()
			s.log.Warn("ldap dirsync failed; retrying", zap.Error(err))
			wait = bo.next()
		} else {
			bo.reset()
			w.resumed = false
			s.hookRefreshDone()
		}
		for _, a := range asked {
			a <- err
		}
		asked = w.sleep(ctx, wait)
	}
	return nil
}

// newDirSyncWatcher returns a watcher with an empty tracker and no cookie.
func (s *Source) newDirSyncWatcher(changes chan<- sources.Change) *dirSyncWatcher {
	w := &dirSyncWatcher{s: s, changes: changes, flags: dirSyncFlags,
		asks: make(chan chan error), wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.newTracker()
	return w
}

// newTracker starts an empty tracker, which keeps the entries deltas are
// merged into and, when Snapshot may be built from it, the users.
func (w *dirSyncWatcher) newTracker() {
	w.tr = newTracker(w.s.cfg.MemberValue == MemberValueUID)
	w.tr.keepEntries = true
	w.tr.keepUsers = w.s.watchSnapshotsFor(WatchDirSync)
	w.tr.linksFollowRenames = true
	w.s.ws.setTracker(w.tr)
}

// load takes the saved cookie and, with one, fills the tracker with a
// full read: a delta names objects by GUID only. Such a session does not
// vouch for its tracker: the read and the cookie may come from different
// domain controllers, at different times.
func (w *dirSyncWatcher) load(ctx context.Context) error {
	s := w.s
	var err error
	if w.cookie, err = s.cookies.LoadCookie(ctx, s.cfg.CookieKey); err != nil {
		return fmt.Errorf("ldap watch: load cookie: %w", err)
	}
	if w.cookie == nil {
		return nil
	}
	w.doubt()
	users, groups, err := s.readRecords(ctx, readOpts{keepEntries: w.tr.keepEntries})
	if err != nil {
		s.log.Warn("ldap dirsync: initial read failed; changes to unknown entries name every group", zap.Error(err))
	}
	s.ws.edit(func() {
		for _, r := range append(users, groups...) {
			w.tr.fill(r)
		}
	})
	w.resumed = true
	return nil
}

// reset starts again from a round without a cookie, for a Snapshot that
// waits for it (reseedWatcher). Its full reconciliation covers what
// changed since the last poll.
func (w *dirSyncWatcher) reset() {
	w.newTracker()
	w.cookie = nil
	w.resumed = false
}

// doubt records that the tracker may no longer be what a full read would
// return.
func (w *dirSyncWatcher) doubt() {
	w.doubtful = true
	w.s.ws.doubt()
}

// fullRead records that the poll starting now reads the directory in full
// into an empty tracker.
func (w *dirSyncWatcher) fullRead() {
	w.readAt, w.doubtful, w.problems = time.Now(), false, nil
}

// settle records how a poll ended: a failure ends the session's standing
// (a reconnect may reach another domain controller); a success vouches
// for the tracker unless anything was doubtful. A Snapshot waiting for a
// fresh full read (reseed) gets it, or reads itself.
func (w *dirSyncWatcher) settle(err error, reseed bool) {
	s := w.s
	if err != nil {
		w.doubtful = true
		s.ws.ended()
		s.decline()
		return
	}
	if reseed {
		s.offer("dirsync round without a cookie", func() *sources.Snapshot {
			return s.finishShared(nil, w.tr, w.problems)
		})
	}
	s.ws.persist(w.wakeUp, w.tr.keepUsers && !w.doubtful, w.readAt)
}

// wakeUp ends the wait between polls (reseedWatcher).
func (w *dirSyncWatcher) wakeUp() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// sleep waits for d, or until Snapshot asks for a poll (the asks returned)
// or for a fresh full read.
func (w *dirSyncWatcher) sleep(ctx context.Context, d time.Duration) []chan error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case a := <-w.asks:
		return []chan error{a}
	case <-w.wake:
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// ask runs a poll that starts after the call and returns its error.
func (w *dirSyncWatcher) ask(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.asks <- reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return errWatcherStopped
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return errWatcherStopped
	}
}
