package worker

import (
	"sync"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// unmatchedSet is who lightdash_sync_unmatched_users counts: the directory
// users a full plan found without a usable Lightdash account, each with
// the groups (by name) that wanted them. Event plans keep it current
// between full runs: they re-decide the groups they read, drop the users
// they resolved or read as disabled, and add the users they found
// unmatched. A user only in groups no event read again stays counted
// until the next full plan.
type unmatchedSet struct {
	mu    sync.Mutex
	users map[string]map[string]bool // source\x00id → group names
}

func unmatchedKey(source, id string) string { return source + "\x00" + id }

// reset replaces the set with a full plan's unmatched users and returns
// their number.
func (s *unmatchedSet) reset(p *Plan) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = make(map[string]map[string]bool, len(p.Unmatched))
	s.addLocked(p.Unmatched)
	return len(s.users)
}

// update applies an event plan p, computed from snaps and d, and returns
// the number of unmatched users.
func (s *unmatchedSet) update(snaps []*sources.Snapshot, d *Desired, p *Plan) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == nil {
		s.users = map[string]map[string]bool{}
	}
	still := make(map[string]bool, len(p.Unmatched))
	for _, u := range p.Unmatched {
		still[unmatchedKey(u.Source, u.UserID)] = true
	}
	for _, g := range d.Groups {
		for k, groups := range s.users {
			if delete(groups, g.Name); len(groups) == 0 {
				delete(s.users, k)
			}
		}
		for _, m := range g.Members {
			if k := unmatchedKey(m.Source, m.ID); !still[k] {
				delete(s.users, k) // resolved: an account serves every group
			}
		}
	}
	for _, snap := range snaps {
		for _, u := range snap.Users {
			if u.Disabled {
				delete(s.users, unmatchedKey(snap.Source, u.ID))
			}
		}
	}
	s.addLocked(p.Unmatched)
	return len(s.users)
}

func (s *unmatchedSet) addLocked(us []UnmatchedUser) {
	for _, u := range us {
		k := unmatchedKey(u.Source, u.UserID)
		if s.users[k] == nil {
			s.users[k] = map[string]bool{}
		}
		for _, g := range u.Groups {
			s.users[k][g] = true
		}
	}
}
