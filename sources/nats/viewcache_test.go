package nats

import (
	"fmt"
	"testing"
)

// TestRecordCacheBounds: the cache never holds more records or members
// than its bounds, keeps what fits, and does not keep a record heavier
// than itself.
func TestRecordCacheBounds(t *testing.T) {
	withMembers := func(n int) *record { return &record{Kind: kindGroup, ID: "g", Members: make([]Member, n)} }
	c := newRecordCache(3, 100)
	check := func(step string) {
		t.Helper()
		sum := 0
		for _, e := range c.recs {
			sum += weight(e.rec)
		}
		if len(c.recs) > 3 || sum > 100 || sum != c.weight {
			t.Fatalf("%s: %d records, weight %d (counted %d), want at most 3 and 100", step, len(c.recs), sum, c.weight)
		}
	}
	for i := range 10 {
		c.put(fmt.Sprint("k", i), withMembers(10), uint64(i+1))
		check(fmt.Sprint("put k", i))
	}
	if r, rev, ok := c.get("k9"); !ok || rev != 10 || len(r.Members) != 10 {
		t.Errorf("last put: %v %d %v", r, rev, ok)
	}
	c.put("k9", withMembers(60), 11) // replaced: its old weight is gone
	check("replace k9")
	c.put("big", withMembers(80), 1) // fits only after the others go
	check("put big")
	if _, _, ok := c.get("big"); !ok {
		t.Error("big not kept")
	}
	c.put("huge", withMembers(100), 1)
	check("put huge")
	if _, _, ok := c.get("huge"); ok {
		t.Error("a record heavier than the cache was kept")
	}
	c.forget("big")
	check("forget big")
	if _, _, ok := c.get("big"); ok {
		t.Error("big still there after forget")
	}
}
