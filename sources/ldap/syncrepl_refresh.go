package ldap

import (
	"context"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// refreshMode says how entries of the refresh phase are reported.
type refreshMode int

const (
	refreshSilent  refreshMode = iota // first load without cookie: fill the tracker only
	refreshDiff                       // tracker is current up to the cookie: report differences
	refreshEmitAll                    // tracker was read after the cookie: report every entry sent
)

// refresh is the state of one refresh phase. Its changes are merged into
// one (a resumed refresh can send the whole directory) and sent when the
// phase ends; the cookie is saved only after that, so a crash in between
// replays the refresh instead of losing it.
type refresh struct {
	active bool
	mode   refreshMode
	full   bool            // no cookie: every existing entry is sent
	seen   map[string]bool // ids sent or named present while active; nil when silent
	held   *heldChange     // nil until a change is held
	cookie []byte
	// problems are the entries the refresh sent that could not be
	// decoded, as a read would report them.
	problems []string
	// snap, when not nil, collects the users of a refresh without a
	// cookie for the start-up snapshot (share.go).
	snap *builder
}

// see records that the refresh named id (only a refresh that is not
// silent keeps seen).
func (r *refresh) see(id string) {
	if r.active && r.seen != nil {
		r.seen[id] = true
	}
}

// problem records what makes the shared start-up snapshot incomplete
// (only that snapshot reads problems).
func (r *refresh) problem(msg string) {
	if r.snap != nil {
		r.problems = append(r.problems, msg)
	}
}

// heldChange is the union of the changes of one refresh phase. It is kept
// as sets and sorted once when sent: a refresh reporting every entry,
// merged one by one into sorted slices, cost O(entries²).
type heldChange struct {
	groups, users map[string]bool
}

func (h *heldChange) add(ch *sources.Change) {
	for _, g := range ch.GroupIDs {
		h.groups[g] = true
	}
	for _, u := range ch.UserIDs {
		h.users[u] = true
	}
}

func (h *heldChange) change() *sources.Change {
	c := &sources.Change{Reason: "syncrepl refresh"}
	if len(h.groups) > 0 {
		c.GroupIDs = sortedKeys(h.groups)
	}
	if len(h.users) > 0 {
		c.UserIDs = sortedKeys(h.users)
	}
	return c
}

// report sends a change, or holds it while a refresh is running.
func (w *syncWatcher) report(ctx context.Context, r *refresh, ch *sources.Change) bool {
	if ch == nil {
		return true
	}
	if r.active {
		if r.held == nil {
			r.held = &heldChange{groups: map[string]bool{}, users: map[string]bool{}}
		}
		r.held.add(ch)
		return true
	}
	return w.emit(ctx, ch)
}

// cookieSeen saves a cookie, or holds it while a refresh is running.
func (w *syncWatcher) cookieSeen(ctx context.Context, r *refresh, cookie []byte) {
	if len(cookie) == 0 {
		return
	}
	if r.active {
		r.cookie = append([]byte(nil), cookie...)
		return
	}
	w.saveCookie(cookie)
}

// finishSnapshot finishes the snapshot the refresh built, with the groups
// the tracker holds as the server sent them, and gives the tracker's
// records their users back from it (syncWatcher.fill): it is finished
// even when nobody waits for it.
func (w *syncWatcher) finishSnapshot(r *refresh) *sources.Snapshot {
	b := r.snap
	r.snap = nil
	snap := w.s.finishShared(b, w.tr, r.problems)
	w.s.ws.edit(func() { w.tr.shareUsers(snap.Users) })
	return snap
}

// endRefresh sends the held change, then saves the newest cookie.
func (w *syncWatcher) endRefresh(ctx context.Context, r *refresh, bo *backoff) bool {
	r.active = false
	if r.snap != nil {
		snap := w.finishSnapshot(r)
		w.s.offer("syncrepl refresh", func() *sources.Snapshot { return snap })
	}
	r.seen = nil // only a refresh uses it (see; the reads check r.active)
	if r.held != nil && !w.emit(ctx, r.held.change()) {
		return false
	}
	r.held = nil
	w.saveCookie(r.cookie)
	w.s.ws.persist(w.cancel, w.tr.keepUsers && !w.doubtful, w.readAt)
	bo.reset()
	w.s.hookRefreshDone()
	return true
}
