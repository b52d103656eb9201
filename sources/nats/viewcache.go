package nats

import "sync"

// recordCacheSize bounds the records remembered: enough for the groups
// and users a burst touches, small against the view of a whole directory.
const recordCacheSize = 4096

// recordCache remembers the records this process last wrote, with their
// revisions, so that the next write to the same key can skip the read: a
// burst of events on a few hundred groups then costs one round trip per
// group per batch instead of two, and no decoding of the entry. It is only
// a guess: the write is compare-and-set on the remembered revision, so an
// entry changed meanwhile by anyone else (another instance, an operator)
// fails the write, which drops the guess and reads the entry. Records are
// never modified once built (next returns a new one), so sharing them is
// safe.
type recordCache struct {
	mu   sync.Mutex
	max  int
	recs map[string]cached
}

type cached struct {
	rec *record
	rev uint64
}

func newRecordCache(max int) *recordCache {
	return &recordCache{max: max, recs: make(map[string]cached)}
}

func (c *recordCache) get(key string) (*record, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.recs[key]
	return e.rec, e.rev, ok
}

// put remembers r at rev; when full it forgets an arbitrary entry (map
// order), which costs that key one read later.
func (c *recordCache) put(key string, r *record, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.recs[key]; !ok && len(c.recs) >= c.max {
		for k := range c.recs {
			delete(c.recs, k)
			break
		}
	}
	c.recs[key] = cached{rec: r, rev: rev}
}

func (c *recordCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.recs, key)
}
