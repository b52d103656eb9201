package nats

import (
	"slices"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// memberSet is a group's member list being added to, with maps that find
// a member by id (the last index with it) or by email (the first). Adding
// to it is O(1) per member, so a fold can apply a run of deltas to a big
// group without copying or scanning its list per event.
type memberSet struct {
	list    []Member
	byID    map[string]int
	byEmail map[string]int
}

// newMemberSet starts from a copy of have, which it never changes. Each
// map is sized for the members that have its key: producers usually name
// members by id or by email, not both.
func newMemberSet(have []Member) *memberSet {
	ids, emails := 0, 0
	for _, m := range have {
		ids += min(len(m.ID), 1)
		emails += min(len(m.Email), 1)
	}
	s := &memberSet{list: slices.Clone(have), byID: make(map[string]int, ids), byEmail: make(map[string]int, emails)}
	for i := range s.list {
		s.remember(i)
	}
	return s
}

func (s *memberSet) remember(i int) {
	if id := s.list[i].ID; id != "" {
		s.byID[id] = i
	}
	if e := ident.EmailKey(s.list[i].Email); e != "" {
		if _, dup := s.byEmail[e]; !dup {
			s.byEmail[e] = i
		}
	}
}

// add merges members in as mergeMembers does.
func (s *memberSet) add(members []Member) {
	for _, m := range members {
		i, found := -1, false
		if m.ID != "" {
			i, found = s.byID[m.ID]
		}
		if !found && m.Email != "" {
			j, ok := s.byEmail[ident.EmailKey(m.Email)]
			if ok && (m.ID == "" || s.list[j].ID == "") {
				i, found = j, true
			}
		}
		switch {
		case !found:
			s.list = append(s.list, m)
			i = len(s.list) - 1
		case m.ID != "" && (s.list[i].ID == "" || m.Email != ""):
			s.list[i].ID = m.ID
			if m.Email != "" {
				old := s.list[i].Email
				s.list[i].Email = m.Email
				s.moved(old, i)
			}
		default:
			continue
		}
		s.remember(i)
	}
}

// moved repairs byEmail after member i's email changed from old: i may
// now be the first member with its new key, and if i was the first with
// old's key, the first other one now is, if any.
func (s *memberSet) moved(old string, i int) {
	if k := ident.EmailKey(s.list[i].Email); k != "" {
		if j, ok := s.byEmail[k]; !ok || j > i {
			s.byEmail[k] = i
		}
	}
	k := ident.EmailKey(old)
	if k == "" || s.byEmail[k] != i || k == ident.EmailKey(s.list[i].Email) {
		return
	}
	delete(s.byEmail, k)
	for j := range s.list {
		if ident.EmailKey(s.list[j].Email) == k {
			s.byEmail[k] = j
			return
		}
	}
}
