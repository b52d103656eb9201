package ldap

import (
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// maxRangeRounds stops a server that never ends a range from looping us.
const maxRangeRounds = 10000

// parseRange splits "member;range=1500-2999" into ("member", 1500, "2999").
func parseRange(attr string) (base string, low int, high string, ok bool) {
	i := strings.Index(strings.ToLower(attr), ";range=")
	if i < 0 {
		return "", 0, "", false
	}
	lo, hi, found := strings.Cut(attr[i+len(";range="):], "-")
	if !found {
		return "", 0, "", false
	}
	n, err := strconv.Atoi(lo)
	if err != nil {
		return "", 0, "", false
	}
	return attr[:i], n, hi, true
}

// expandRanges implements Active Directory range retrieval: a group with
// more values than the server's MaxValRange (1500) returns
// "member;range=0-1499" and no plain "member"; the rest is fetched with
// base searches for "member;range=1500-*" until a range ends in "*". The
// merged values replace the ranged attribute under its plain name.
func (r *reader) expandRanges(e *goldap.Entry) error {
	var kept []*goldap.EntryAttribute
	for _, a := range e.Attributes {
		base, low, high, ok := parseRange(a.Name)
		if !ok {
			kept = append(kept, a)
			continue
		}
		values := append([]string(nil), a.Values...)
		next := low + len(values)
		for round := 0; high != "*"; round++ {
			if round >= maxRangeRounds {
				return fmt.Errorf("range retrieval of %s did not finish", base)
			}
			want := fmt.Sprintf("%s;range=%d-*", base, next)
			req := goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=*)", []string{want}, nil)
			res, err := r.conn.Search(req)
			r.s.metrics.searches.WithLabelValues(r.s.cfg.Name, "members", resultLabel(err)).Inc()
			if err != nil {
				return fmt.Errorf("range retrieval %s: %w", want, err)
			}
			if len(res.Entries) != 1 {
				return fmt.Errorf("range retrieval %s: got %d entries, want 1", want, len(res.Entries))
			}
			var got *goldap.EntryAttribute
			for _, ra := range res.Entries[0].Attributes {
				if b, _, _, ok := parseRange(ra.Name); ok && strings.EqualFold(b, base) {
					got = ra
				}
			}
			if got == nil {
				return fmt.Errorf("range retrieval %s: server returned no range", want)
			}
			_, lo, hi, _ := parseRange(got.Name)
			if lo != next {
				return fmt.Errorf("range retrieval %s: server answered range starting at %d", want, lo)
			}
			if len(got.Values) == 0 && hi != "*" {
				return fmt.Errorf("range retrieval %s: empty range that does not end", want)
			}
			values = append(values, got.Values...)
			next += len(got.Values)
			high = hi
		}
		kept = append(kept, &goldap.EntryAttribute{Name: base, Values: values})
	}
	e.Attributes = kept
	return nil
}

func resultLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
