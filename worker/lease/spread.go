package lease

import (
	"sync"
	"time"
)

// Spreader counts, for one replica, the units it leads and the ones it
// is about to take, so that each unit's lease waits according to the
// others (see spreadDelay).
type Spreader struct {
	mu      sync.Mutex
	leading int
	// claims holds, per unit, until when its attempt to take a free lease
	// counts as pending: units of one replica that find their leases free
	// at the same moment must not all go at once.
	claims map[string]time.Time
}

// Delay is unit's lease Config.AcquireDelay at now; poll is the lease's poll
// interval. A zero answer means the elector attempts at once, so the
// attempt is claimed for one poll: the replica's other units count it
// until its outcome is known.
func (s *Spreader) Delay(unit string, now time.Time, poll time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := s.leading
	for other, until := range s.claims {
		if other != unit && now.Before(until) {
			busy++
		}
	}
	d := spreadDelay(busy, 2*poll)
	if d == 0 {
		if s.claims == nil {
			s.claims = map[string]time.Time{}
		}
		s.claims[unit] = now.Add(poll)
	}
	return d
}

// Elected counts a won term; its claim is settled.
func (s *Spreader) Elected(unit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leading++
	delete(s.claims, unit)
}

// Ended counts a term's end.
func (s *Spreader) Ended() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leading--
}

// maxSpreadSteps caps spreadDelay: a replica leading many units still
// takes a free lease nobody else takes.
const maxSpreadSteps = 2

// spreadDelay is how long a replica that leads (or is taking) `busy`
// other units must have seen a lease free before it takes it: one step
// per unit, at most maxSpreadSteps. The step is two lease polls, so a
// replica with fewer units, which polls within one, gets there first; M
// targets then spread over N replicas instead of one replica winning
// them all. A replica with nothing to do takes a free lease at once.
func spreadDelay(busy int, step time.Duration) time.Duration {
	if busy <= 0 || step <= 0 {
		return 0
	}
	return time.Duration(min(busy, maxSpreadSteps)) * step
}
