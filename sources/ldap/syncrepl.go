package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// errCookieRejected means the server would not resume from our cookie
// (e-syncRefreshRequired, or it could not parse it); we drop it and run a
// full refresh, diffing against what we knew.
var errCookieRejected = errors.New("sync cookie rejected")

// syncWatcher follows one refreshAndPersist search. Its tracker survives
// reconnects, so a resumed refresh is diffed against what was known.
type syncWatcher struct {
	s       *Source
	changes chan<- sources.Change
	tr      *tracker
	cookie  []byte
	// The session's standing for Snapshot (watchstate.go): when the full
	// read it started from began, whether anything since is doubtful, and
	// how to end it.
	readAt   time.Time
	doubtful bool
	cancel   context.CancelFunc
	// reader reads entries a refresh sent incomplete (see complete).
	reader *goldap.Conn
	// saver saves cookies without holding the watcher up.
	saver *cookieSaver
	// users is how many users the last tracker held: what the snapshot
	// of the next refresh without a cookie is sized for.
	users int
}

// newTracker starts a tracker, keeping users when Snapshot may be built
// from it.
func (w *syncWatcher) newTracker() {
	if w.tr != nil {
		w.users = w.tr.users()
	}
	w.tr = newTracker(w.s.cfg.MemberValue == MemberValueUID)
	w.tr.keepUsers = w.s.watchSnapshotsFor(WatchSyncrepl)
	w.s.ws.setTracker(w.tr)
}

// doubt records that the tracker may no longer be what a full read would
// return.
func (w *syncWatcher) doubt() {
	w.doubtful = true
	w.s.ws.doubt()
}

// watchBase is the lowest DN above both search bases, so one syncrepl
// search (one cookie) sees users and groups.
func (s *Source) watchBase() string {
	g, err1 := goldap.ParseDN(s.cfg.GroupBaseDN)
	u, err2 := goldap.ParseDN(s.cfg.UserBaseDN)
	if err1 != nil || err2 != nil {
		return s.cfg.GroupBaseDN
	}
	var common []*goldap.RelativeDN
	for i, j := len(g.RDNs)-1, len(u.RDNs)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if !g.RDNs[i].EqualFold(u.RDNs[j]) {
			break
		}
		common = append([]*goldap.RelativeDN{g.RDNs[i]}, common...)
	}
	return (&goldap.DN{RDNs: common}).String()
}

// watchFilter selects users and groups of the configured bases.
func (s *Source) watchFilter() string {
	return "(|" + s.userFilter("") + s.groupFilter("") + ")"
}

// inScope reports whether an entry belongs to the users or groups read
// (the watch base may be wider than either).
func (s *Source) inScope(e *goldap.Entry, group bool) bool {
	base := s.cfg.UserBaseDN
	if group {
		base = s.cfg.GroupBaseDN
	}
	if base == "" {
		return true
	}
	return underDN(normDN(e.DN), normDN(base))
}

func (s *Source) watchSyncrepl(ctx context.Context, changes chan<- sources.Change) error {
	w := &syncWatcher{s: s, changes: changes}
	w.newTracker()
	var err error
	w.cookie, err = s.cookies.LoadCookie(ctx, s.cfg.CookieKey)
	if err != nil {
		return fmt.Errorf("ldap watch: load cookie: %w", err)
	}
	w.saver = startCookieSaver(s.cookies, s.cfg.CookieKey, s.log)
	defer w.saver.stop()
	bo := newBackoff(s.cfg.ReconnectMin, s.cfg.ReconnectMax)
	rejected := 0
	for ctx.Err() == nil {
		err := w.session(ctx, bo)
		if s.ws.ended() && ctx.Err() == nil {
			// Snapshot ended the session for a fresh full read, and waits
			// for it (watchstate.go): a refresh without a cookie, which
			// streams into the snapshot (a resumed session's read holds a
			// record per entry). Its full reconciliation covers what
			// changed since the last event.
			w.newTracker()
			w.cookie = nil
			continue
		}
		s.decline() // the session ended before it could hand its read over
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errCookieRejected) && rejected < 3 {
			rejected++
			s.log.Warn("ldap syncrepl: server refused our cookie; dropping it and refreshing in full", zap.Error(err))
			w.cookie = nil
			w.saver.save(nil)
			continue
		}
		rejected = 0
		s.metrics.reconnect.WithLabelValues(s.cfg.Name).Inc()
		s.log.Warn("ldap syncrepl connection lost; reconnecting", zap.Error(err))
		if !bo.sleep(ctx) {
			break
		}
	}
	return nil
}

func (w *syncWatcher) session(ctx context.Context, bo *backoff) error {
	s := w.s
	r := &refresh{active: true, mode: refreshDiff, full: w.cookie == nil}
	// A session that starts from a tracker it did not fill itself cannot
	// vouch that the refresh brought it up to date.
	w.readAt, w.doubtful = time.Now(), !w.tr.empty()
	if w.tr.empty() {
		r.mode = refreshSilent
		if w.cookie != nil {
			// Resuming after a daemon restart: learn who is in which group
			// first, so changes sent in the refresh can be named.
			if err := w.load(ctx); err != nil {
				return err
			}
			r.mode = refreshEmitAll
		}
	}
	if r.mode != refreshSilent {
		// A silent refresh fills an empty tracker with what it sends:
		// nothing in it goes unseen, so it keeps no set of 100,000 ids.
		r.seen = map[string]bool{}
	}
	if r.mode == refreshSilent && s.refreshShareable() && s.expecting() {
		// The start-up snapshot, built as the refresh goes (share.go).
		r.snap = w.refreshBuilder()
	} else {
		s.decline() // nothing to share (a resumed session offered its read in load)
	}
	c, err := s.dial(ctx, false) // no read timeout on a persistent search
	if err != nil {
		return err
	}
	defer c.Close()
	defer w.closeReader()
	s.metrics.connected.WithLabelValues(s.cfg.Name).Set(1)
	defer s.metrics.connected.WithLabelValues(s.cfg.Name).Set(0)

	attrs := append(s.dec.attributes(), "entryUUID")
	req := goldap.NewSearchRequest(s.watchBase(), goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		s.watchFilter(), attrs, nil)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.cancel = cancel
	resp := c.Syncrepl(sctx, req, 64, goldap.SyncRequestModeRefreshAndPersist, w.cookie, false)
	for resp.Next() {
		if ref := resp.Referral(); ref != "" {
			r.problem("syncrepl refresh: referral not followed (" + ref + ")")
			w.doubt()
		}
		if r.snap != nil {
			s.share.alive()
		}
		for _, ctl := range resp.Controls() {
			if !w.handle(ctx, r, bo, resp.Entry(), ctl) {
				return nil
			}
		}
	}
	err = resp.Err()
	if ctx.Err() != nil {
		return nil
	}
	// The tracker already holds what the broken refresh sent, so the next
	// one will not see it as a difference: report it now. The cookie was
	// not saved, so a restart replays the refresh.
	if r.held != nil && !w.emit(ctx, r.held.change()) {
		return nil
	}
	if err == nil {
		return errors.New("syncrepl search ended by the server")
	}
	return syncError(w.cookie != nil, err)
}

// syncError sorts the error that ended a syncrepl search: a server that
// refuses our cookie (e-syncRefreshRequired, or a protocol error on an
// unparsable one) gets errCookieRejected, so the cookie is dropped.
func syncError(hadCookie bool, err error) error {
	var le *goldap.Error
	if hadCookie && errors.As(err, &le) &&
		(le.ResultCode == goldap.LDAPResultSyncRefreshRequired || le.ResultCode == goldap.LDAPResultProtocolError ||
			le.ResultCode == goldap.LDAPResultUnwillingToPerform || le.ResultCode == goldap.LDAPResultOther) {
		return fmt.Errorf("%w: %v", errCookieRejected, err)
	}
	return fmt.Errorf("syncrepl: %w", err)
}

// handle applies one sync control; false when ctx ended while sending.
func (w *syncWatcher) handle(ctx context.Context, r *refresh, bo *backoff, entry *goldap.Entry, ctl goldap.Control) bool {
	switch ctl := ctl.(type) {
	case *goldap.ControlSyncState:
		id, _ := w.s.syncID(ctl.EntryUUID)
		var ch *sources.Change
		switch ctl.State {
		case goldap.SyncStatePresent:
			r.see(id)
		case goldap.SyncStateAdd, goldap.SyncStateModify:
			w.s.metrics.entries.WithLabelValues(w.s.cfg.Name, "syncrepl").Inc()
			rec, err := w.record(ctx, entry)
			if err != nil {
				w.s.log.Warn("ldap syncrepl: skipping entry", zap.Error(err))
				r.problem(err.Error())
				w.doubt()
				break
			}
			if rec == nil {
				ch = w.outOfScope(id)
				break
			}
			r.see(rec.id)
			if r.active && r.mode == refreshSilent {
				w.fill(r, rec)
				break
			}
			ch = w.change(func() *sources.Change {
				return w.tr.apply(rec, r.active && r.mode == refreshEmitAll, "syncrepl "+stateName(ctl.State))
			})
		case goldap.SyncStateDelete:
			ch = w.change(func() *sources.Change { return w.tr.remove(id, "syncrepl delete") })
		}
		if !w.report(ctx, r, ch) {
			return false
		}
		w.cookieSeen(ctx, r, ctl.Cookie)
	case *goldap.ControlSyncInfo:
		switch ctl.Value {
		case goldap.SyncInfoNewcookie:
			w.cookieSeen(ctx, r, ctl.NewCookie.Cookie)
		case goldap.SyncInfoRefreshDelete:
			w.cookieSeen(ctx, r, ctl.RefreshDelete.Cookie)
			if ctl.RefreshDelete.RefreshDone && r.active {
				if r.full && r.mode != refreshSilent && !w.pruneUnseen(ctx, r) {
					return false
				}
				return w.endRefresh(ctx, r, bo)
			}
		case goldap.SyncInfoRefreshPresent:
			w.cookieSeen(ctx, r, ctl.RefreshPresent.Cookie)
			// The present phase named every entry that still exists.
			if r.active && !w.pruneUnseen(ctx, r) {
				return false
			}
			if ctl.RefreshPresent.RefreshDone && r.active {
				return w.endRefresh(ctx, r, bo)
			}
		case goldap.SyncInfoSyncIdSet:
			for _, u := range ctl.SyncIdSet.SyncUUIDs {
				id, _ := w.s.syncID(u)
				if !ctl.SyncIdSet.RefreshDeletes {
					r.see(id)
					continue
				}
				ch := w.change(func() *sources.Change { return w.tr.remove(id, "syncrepl delete (syncIdSet)") })
				if !w.report(ctx, r, ch) {
					return false
				}
			}
			w.cookieSeen(ctx, r, ctl.SyncIdSet.Cookie)
		}
	case *goldap.ControlSyncDone:
		w.cookieSeen(ctx, r, ctl.Cookie)
	}
	return true
}

// change runs fn, which changes the tracker, under the state's lock; when
// fn left the tracker unsure (tracker.blindToRefInt) the vouching is
// withdrawn under the same lock, so no read takes the state between the
// two (the next full run then reads the directory).
func (w *syncWatcher) change(fn func() *sources.Change) *sources.Change {
	var ch *sources.Change
	var why string
	w.s.ws.edit(func() {
		ch = fn()
		if why = w.tr.takeUnsure(); why != "" {
			w.s.ws.vouched = false
		}
	})
	if why != "" {
		w.doubtful = true
		w.s.log.Info("ldap syncrepl: the watcher's state may differ from the directory; the next full run reads it", zap.String("why", why))
	}
	return ch
}

// refreshBuilder is the builder of a refresh's snapshot, sized for the
// users the last tracker held and a few more.
func (w *syncWatcher) refreshBuilder() *builder { return w.s.newUniqueBuilder(w.users + w.users/64) }

// fill records an entry of the first load, which the worker's full
// reconciliation covers, and moves a user into the refresh's snapshot, if
// it builds one, unless a user with its id came first (as in a read): the
// record gets the snapshot's copy back when the refresh ends (endRefresh).
func (w *syncWatcher) fill(r *refresh, rec *record) {
	if b := r.snap; b != nil && !rec.isGroup {
		if old := w.tr.recs[rec.id]; old == nil || old.isGroup {
			w.s.sameStrings(rec)
			b.addUser(rec)
			rec.user = nil
		}
	}
	w.s.ws.edit(func() { w.tr.fill(rec) })
}

// pruneUnseen reports deletions inferred from a present phase or a full
// refresh. Only ids that syncrepl itself names (entryUUID, nsUniqueId)
// can be pruned; with another id attribute nothing is inferred.
func (w *syncWatcher) pruneUnseen(ctx context.Context, r *refresh) bool {
	if r.seen == nil { // a silent refresh: the tracker holds only what it sent
		return true
	}
	if _, ok := w.s.syncID([16]byte{}); !ok {
		return true
	}
	var gone []*sources.Change
	w.change(func() *sources.Change { gone = w.tr.prune(r.seen, "syncrepl delete (not present)"); return nil })
	for _, ch := range gone {
		if !w.report(ctx, r, ch) {
			return false
		}
	}
	return true
}

func stateName(s goldap.ControlSyncStateState) string {
	switch s {
	case goldap.SyncStateAdd:
		return "add"
	case goldap.SyncStateModify:
		return "modify"
	}
	return "change"
}

func (w *syncWatcher) emit(ctx context.Context, ch *sources.Change) bool {
	return w.s.send(ctx, w.changes, ch, WatchSyncrepl)
}

func (w *syncWatcher) saveCookie(cookie []byte) {
	if len(cookie) == 0 {
		return
	}
	w.cookie = append([]byte(nil), cookie...)
	w.saver.save(w.cookie)
}

// outOfScope forgets a known entry the server still sends but that is now
// outside the bases (moved to another branch under the watch base): a read
// would no longer return it.
func (w *syncWatcher) outOfScope(id string) *sources.Change {
	if _, known := w.tr.recs[id]; !known {
		return nil
	}
	var ch *sources.Change
	w.s.ws.edit(func() { ch = w.tr.remove(id, "syncrepl moved out of the bases") })
	return ch
}

// record decodes a sync entry; nil, nil when it is outside the bases or
// gone.
func (w *syncWatcher) record(ctx context.Context, e *goldap.Entry) (*record, error) {
	if e == nil {
		return nil, errors.New("sync state without entry")
	}
	e, err := w.complete(ctx, e)
	if e == nil || err != nil {
		return nil, err
	}
	group, ok := w.s.dec.classify(e)
	if !ok || !w.s.inScope(e, group) {
		return nil, nil
	}
	return w.s.dec.decode(e, group)
}

// load fills the tracker with a full read.
func (w *syncWatcher) load(ctx context.Context) error {
	// A Snapshot may be waiting for this read (share.go): it shows progress.
	users, groups, err := w.s.readRecords(ctx, readOpts{progress: w.s.share.alive})
	var reasons []string
	var ir *incompleteRead
	if errors.As(err, &ir) {
		w.s.log.Warn("ldap syncrepl: the initial read was incomplete; changes to unread entries name every group", zap.Error(err))
		reasons = ir.reasons
		w.doubt()
	} else if err != nil {
		return err
	}
	// This is the paged read Snapshot makes; what the refresh then sends
	// reaches the daemon as changes. (Before fill, which lets the users go.)
	w.s.offer("full read before resuming syncrepl", func() *sources.Snapshot { return w.s.build(users, groups, reasons) })
	for _, r := range append(users, groups...) {
		w.tr.fill(r)
	}
	// A user deleted while we were away may be reported only by its
	// absence (present phase), and we never knew its id. Groups that still
	// name a member we cannot find are the ones it may have left.
	if dangling := w.tr.dangling(); len(dangling) > 0 {
		if !w.emit(ctx, &sources.Change{GroupIDs: dangling, Reason: "syncrepl resume: members not found"}) {
			return ctx.Err()
		}
	}
	return nil
}

// readOpts tunes readRecords: keepEntries keeps each record's entry (see
// reader); progress, when set, is called as entries arrive.
type readOpts struct {
	keepEntries bool
	progress    func()
}

// incompleteRead is errIncomplete with the reasons the read recorded.
type incompleteRead struct{ reasons []string }

func (e *incompleteRead) Error() string {
	return errIncomplete.Error() + ": " + strings.Join(e.reasons, "; ")
}

func (e *incompleteRead) Is(target error) bool { return target == errIncomplete }

// readRecords reads every user and group as records over a fresh
// connection with the operation timeout. A read that is usable but
// partial returns its records with an *incompleteRead.
func (s *Source) readRecords(ctx context.Context, o readOpts) (users, groups []*record, err error) {
	c, err := s.dial(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := &reader{s: s, conn: c, keepEntries: o.keepEntries, progress: o.progress}
	users, groups, err = r.readAll()
	if err == nil && len(r.reasons) > 0 {
		err = &incompleteRead{reasons: r.reasons}
	}
	return users, groups, err
}
