package ldap

import (
	"slices"
	"strings"
	"sync"
	"weak"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// A snapshot built from the watcher's state shares the arrays of the
// previous one where they are equal: the users array when no user changed,
// and each group's member users when that group's did not. The worker
// keeps the previous snapshot for /explain while the next full run reads,
// so without sharing a full run held two copies of the directory's users
// and memberships. Snapshots are never changed once returned, so sharing
// is safe. The previous snapshot is held weakly: when the worker has let
// it go there is nothing to share, and the source does not keep it alive.

// lastSnapshot is the last snapshot built from the watcher's state.
type lastSnapshot struct {
	mu sync.Mutex
	p  weak.Pointer[sources.Snapshot]
}

func (l *lastSnapshot) get() *sources.Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p.Value()
}

func (l *lastSnapshot) set(s *sources.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p = weak.Make(s)
}

// finishShared completes a snapshot of t and records it as the last. b
// holds its users (a refresh streams them in); nil takes them from t,
// sharing the last snapshot's array when equal. Group member arrays are
// shared with the last snapshot's where equal. nil when t let its users
// go.
func (s *Source) finishShared(b *builder, t *tracker, reasons []string) *sources.Snapshot {
	prev := s.ws.last.get()
	if b == nil {
		b = sharedUsers(s, t, prev)
	}
	if b == nil {
		b = trackerUsers(s, t)
	}
	if b == nil {
		return nil
	}
	b.prev = prev
	snap := finishFromTracker(b, t, reasons)
	s.ws.last.set(snap)
	return snap
}

// sharedUsers returns a builder whose users are prev's (clipped, so an
// append never writes into prev's array), or nil unless
// the users t holds are exactly prev's.
func sharedUsers(s *Source, t *tracker, prev *sources.Snapshot) *builder {
	if prev == nil || len(t.recs)-len(t.groupIDs) != len(prev.Users) {
		return nil
	}
	for _, r := range t.recs {
		if r.isGroup {
			continue
		}
		i, ok := userIndex(prev.Users, r.id)
		if r.user == nil || !ok || !equalUser(&prev.Users[i], r.user) {
			return nil
		}
	}
	b := &builder{s: s, snap: &sources.Snapshot{Source: s.cfg.Name, Users: slices.Clip(prev.Users), Groups: []sources.DirGroup{}},
		userByKey: make(map[string]string, len(prev.Users)), prev: prev, usersShared: true}
	for _, r := range t.recs {
		if !r.isGroup {
			b.indexUser(r)
		}
	}
	return b
}

// shareUsers points t's user records at their equal users in users (a
// snapshot's array, sorted by id), so that the tracker and the snapshots
// built from it hold one copy of each user, not two. A record without
// its user (a refresh moved it into the snapshot: syncWatcher.fill) gets
// the user with its id. The caller holds the state's lock, or is the
// watcher that owns t while nobody else reads it.
func (t *tracker) shareUsers(users []sources.DirUser) {
	if !t.keepUsers {
		return
	}
	for _, r := range t.recs {
		if r.isGroup {
			continue
		}
		i, ok := userIndex(users, r.id)
		if ok && (r.user == nil || r.user != &users[i] && equalUser(&users[i], r.user)) {
			r.user = &users[i]
		}
	}
}

// equalUser compares every field of sources.DirUser (TestEqualUserSeesEveryField).
func equalUser(a, b *sources.DirUser) bool {
	return a.ID == b.ID && a.DN == b.DN && a.Email == b.Email && slices.Equal(a.AltEmails, b.AltEmails) &&
		a.DisplayName == b.DisplayName && a.Disabled == b.Disabled
}

// memberUsers returns users (sorted, distinct) to keep as group id's
// member users: prev's equal array when it has one, else a copy of
// exactly its length (users is the builder's scratch).
func (b *builder) memberUsers(id string, users []string) []string {
	if len(users) == 0 {
		return nil
	}
	if b.prev != nil {
		i, ok := slices.BinarySearchFunc(b.prev.Groups, id, func(g sources.DirGroup, id string) int { return strings.Compare(g.ID, id) })
		if ok && slices.Equal(b.prev.Groups[i].MemberUsers, users) {
			return slices.Clip(b.prev.Groups[i].MemberUsers)
		}
	}
	return slices.Clone(users)
}

// sameStrings gives user record r the strings of the last snapshot's user
// with its id, where equal. A refresh without a cookie (a reseed, or the
// start-up after a reconnect) sends every entry again while the worker
// still keeps that snapshot for /explain: without this the refresh held a
// second copy of every user's id, DN, email and name until it ended.
func (s *Source) sameStrings(r *record) {
	prev := s.ws.last.get()
	if prev == nil || r.user == nil {
		return
	}
	i, ok := userIndex(prev.Users, r.id)
	if !ok {
		return
	}
	p, u := &prev.Users[i], r.user
	u.ID, r.id = p.ID, p.ID
	if u.DN == p.DN {
		if r.ndn == r.dn {
			r.ndn = p.DN
		}
		u.DN, r.dn = p.DN, p.DN
	}
	if u.Email == p.Email {
		u.Email = p.Email
	}
	if u.DisplayName == p.DisplayName {
		u.DisplayName = p.DisplayName
	}
	if slices.Equal(u.AltEmails, p.AltEmails) {
		u.AltEmails = p.AltEmails
	}
}
