package nats

import "sync"

// recordCacheSize and recordCacheMembers bound the records remembered:
// enough for the groups and users a burst touches, small against the view
// of a whole directory (the member strings are shared with the index; a
// remembered member costs its slice entry, 32 bytes).
const (
	recordCacheSize    = 4096
	recordCacheMembers = 250000
)

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
	mu        sync.Mutex
	max       int // records
	maxWeight int // members and nested groups, over all records
	weight    int
	recs      map[string]cached
}

type cached struct {
	rec *record
	rev uint64
}

func newRecordCache(max, maxWeight int) *recordCache {
	return &recordCache{max: max, maxWeight: maxWeight, recs: make(map[string]cached)}
}

func weight(r *record) int { return 1 + len(r.Members) + len(r.MemberGroups) }

func (c *recordCache) get(key string) (*record, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.recs[key]
	return e.rec, e.rev, ok
}

// put remembers r at rev; when full it forgets arbitrary entries (map
// order), which costs each of those keys one read later. A record heavier
// than the whole cache is not remembered.
func (c *recordCache) put(key string, r *record, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(key)
	w := weight(r)
	if w > c.maxWeight {
		return
	}
	for k := range c.recs {
		if len(c.recs) < c.max && c.weight+w <= c.maxWeight {
			break
		}
		c.drop(k)
	}
	c.recs[key] = cached{rec: r, rev: rev}
	c.weight += w
}

func (c *recordCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(key)
}

func (c *recordCache) drop(key string) {
	if e, ok := c.recs[key]; ok {
		c.weight -= weight(e.rec)
		delete(c.recs, key)
	}
}
