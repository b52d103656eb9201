package ldap

import "iter"

// idSetSmall is how many ids an idSet keeps in a slice before it moves
// them to a map. Most member keys are listed by a handful of groups, and
// a slice of five ids is a third of the size of a map holding them; the
// map keeps a key listed by thousands of groups from costing a linear scan
// per change.
const idSetSmall = 16

// idSet is a set of record ids, small ones as a slice. The zero value is
// empty and ready; a nil *idSet reads as empty.
type idSet struct {
	small []string
	big   map[string]struct{}
}

func (s *idSet) len() int {
	if s == nil {
		return 0
	}
	if s.big != nil {
		return len(s.big)
	}
	return len(s.small)
}

func (s *idSet) add(id string) {
	if s.big != nil {
		s.big[id] = struct{}{}
		return
	}
	for _, x := range s.small {
		if x == id {
			return
		}
	}
	if n := len(s.small); n < idSetSmall {
		// Grown one id at a time: most keys stay at a handful of ids, of
		// which append's doubling left a third of the array unused.
		grown := make([]string, n+1)
		copy(grown, s.small)
		grown[n] = id
		s.small = grown
		return
	}
	s.big = make(map[string]struct{}, 2*idSetSmall)
	for _, x := range s.small {
		s.big[x] = struct{}{}
	}
	s.big[id] = struct{}{}
	s.small = nil
}

func (s *idSet) remove(id string) {
	if s.big != nil {
		delete(s.big, id)
		return
	}
	for i, x := range s.small {
		if x == id {
			last := len(s.small) - 1
			s.small[i] = s.small[last]
			s.small[last] = ""
			s.small = s.small[:last]
			if last == 0 {
				s.small = nil // let the backing array go
			}
			return
		}
	}
}

// all yields the ids in no particular order. The set must not change
// while it is walked.
func (s *idSet) all() iter.Seq[string] {
	return func(yield func(string) bool) {
		if s == nil {
			return
		}
		if s.big != nil {
			for id := range s.big {
				if !yield(id) {
					return
				}
			}
			return
		}
		for _, id := range s.small {
			if !yield(id) {
				return
			}
		}
	}
}
