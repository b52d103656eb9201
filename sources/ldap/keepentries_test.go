package ldap

import (
	"context"
	"testing"
)

// TestReadRecordsKeepsEntriesOnlyWhenAsked: DirSync's resume read must
// keep each record's entry (its deltas, changed attributes only, are
// merged into it: without it a delta changing only mail would leave a user
// with no name), and every other full read must drop them (an entry holds
// its packet alive).
func TestReadRecordsKeepsEntriesOnlyWhenAsked(t *testing.T) {
	srv := startDirectory(t)
	s := newSource(t, baseConfig(srv))
	for _, keep := range []bool{true, false} {
		users, groups, err := s.readRecords(context.Background(), readOpts{keepEntries: keep})
		if err != nil {
			t.Fatal(err)
		}
		recs := append(users, groups...)
		if len(users) == 0 || len(groups) == 0 {
			t.Fatalf("read %d users, %d groups", len(users), len(groups))
		}
		for _, r := range recs {
			if (r.entry != nil) != keep {
				t.Fatalf("keepEntries %v: record %s has entry %v", keep, r.dn, r.entry != nil)
			}
		}
	}
}
