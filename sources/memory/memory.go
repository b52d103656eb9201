// Package memory is a directory held in memory: a sources.Source,
// GroupReader and Watcher for tests and the demo. Every change made with
// its setters is reported to watchers as a sources.Change.
package memory

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

var (
	_ sources.Source      = (*Source)(nil)
	_ sources.GroupReader = (*Source)(nil)
	_ sources.Watcher     = (*Source)(nil)
)

// Source is a thread-safe in-memory directory. The zero value is not
// usable; call New.
type Source struct {
	name string
	now  func() time.Time

	mu         sync.Mutex
	groups     map[string]sources.DirGroup
	users      map[string]sources.DirUser
	incomplete string
	watchers   map[*watcher]struct{}
}

// New returns an empty, complete directory called name.
func New(name string) *Source {
	return &Source{name: name, now: time.Now, groups: map[string]sources.DirGroup{},
		users: map[string]sources.DirUser{}, watchers: map[*watcher]struct{}{}}
}

// Name implements sources.Source.
func (s *Source) Name() string { return s.name }

// SetGroup adds or replaces a group.
func (s *Source) SetGroup(g sources.DirGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.ancestorsLocked([]string{g.ID})
	s.groups[g.ID] = clone(g)
	s.emitLocked(sources.Change{GroupIDs: union(ids, s.ancestorsLocked([]string{g.ID})), Reason: "group set"})
}

// DeleteGroup removes a group; groups that nested it keep a dangling id
// until they are set again, as in a real directory mid-update.
func (s *Source) DeleteGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[id]; !ok {
		return
	}
	ids := s.ancestorsLocked([]string{id})
	delete(s.groups, id)
	s.emitLocked(sources.Change{GroupIDs: ids, Reason: "group deleted"})
}

// SetUser adds or replaces a user.
func (s *Source) SetUser(u sources.DirUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.AltEmails = append([]string(nil), u.AltEmails...)
	s.users[u.ID] = u
	s.emitLocked(sources.Change{GroupIDs: s.groupsOfLocked(u.ID), UserIDs: []string{u.ID}, Reason: "user set"})
}

// DeleteUser removes a user; groups keep a dangling member id.
func (s *Source) DeleteUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		return
	}
	delete(s.users, id)
	s.emitLocked(sources.Change{GroupIDs: s.groupsOfLocked(id), UserIDs: []string{id}, Reason: "user deleted"})
}

// Replace swaps the whole directory, reporting every old and new group.
func (s *Source) Replace(groups []sources.DirGroup, users []sources.DirUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.groups)+len(groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	s.groups = map[string]sources.DirGroup{}
	for _, g := range groups {
		s.groups[g.ID] = clone(g)
		ids = append(ids, g.ID)
	}
	s.users = map[string]sources.DirUser{}
	for _, u := range users {
		u.AltEmails = append([]string(nil), u.AltEmails...)
		s.users[u.ID] = u
	}
	s.emitLocked(sources.Change{GroupIDs: union(ids, nil), Reason: "directory replaced"})
}

// SetIncomplete makes later snapshots report Complete false with reason;
// an empty reason makes them complete again. It mimics a size limit or a
// failed page.
func (s *Source) SetIncomplete(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incomplete = reason
}

// Snapshot implements sources.Source.
func (s *Source) Snapshot(ctx context.Context) (*sources.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.newSnapshotLocked()
	for _, id := range sortedIDs(s.groups) {
		snap.Groups = append(snap.Groups, clone(s.groups[id]))
	}
	for _, id := range sortedIDs(s.users) {
		snap.Users = append(snap.Users, s.users[id])
	}
	return snap, nil
}

// ReadGroups implements sources.GroupReader: the named groups, every group
// nested below them, and their member users. Unknown ids are left out.
func (s *Source) ReadGroups(ctx context.Context, groupIDs []string) (*sources.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.newSnapshotLocked()
	seen := map[string]bool{}
	users := map[string]bool{}
	queue := append([]string(nil), groupIDs...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		g, ok := s.groups[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		snap.Groups = append(snap.Groups, clone(g))
		for _, u := range g.MemberUsers {
			users[u] = true
		}
		queue = append(queue, g.MemberGroups...)
	}
	for _, id := range sortedIDs(users) {
		if u, ok := s.users[id]; ok {
			snap.Users = append(snap.Users, u)
		}
	}
	return snap, nil
}

func (s *Source) newSnapshotLocked() *sources.Snapshot {
	return &sources.Snapshot{Source: s.name, Complete: s.incomplete == "", IncompleteReason: s.incomplete, ReadAt: s.now()}
}

// groupsOfLocked names every group a user is in, directly or through nesting.
func (s *Source) groupsOfLocked(userID string) []string {
	var direct []string
	for id, g := range s.groups {
		for _, u := range g.MemberUsers {
			if u == userID {
				direct = append(direct, id)
				break
			}
		}
	}
	return s.ancestorsLocked(direct)
}

// ancestorsLocked returns ids and every group that nests any of them.
func (s *Source) ancestorsLocked(ids []string) []string {
	seen := map[string]bool{}
	queue := append([]string(nil), ids...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		for pid, g := range s.groups {
			for _, c := range g.MemberGroups {
				if c == id {
					queue = append(queue, pid)
				}
			}
		}
	}
	return sortedIDs(seen)
}

func clone(g sources.DirGroup) sources.DirGroup {
	g.MemberUsers = append([]string(nil), g.MemberUsers...)
	g.MemberGroups = append([]string(nil), g.MemberGroups...)
	return g
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		set[x] = true
	}
	return sortedIDs(set)
}

func sortedIDs[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
