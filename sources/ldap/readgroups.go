package ldap

import (
	"context"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// filterChunk bounds the number of alternatives in one OR filter.
const filterChunk = 50

// ReadGroups reads the named groups, every group nested below them
// (cycles are cut) and their member users, without reading the whole
// directory: members are looked up in batches by their RDN. While the
// watcher may serve full runs from its state (fromWatcher), the answer is
// taken from that state instead, with no connection to the directory.
func (s *Source) ReadGroups(ctx context.Context, groupIDs []string) (*sources.Snapshot, error) {
	ids, err := s.dec.canonicalIDs(groupIDs)
	if err != nil {
		return nil, err
	}
	from := groupsFromWatcher
	snap, _ := s.fromWatcher(ctx, "ldap group read", func(t *tracker) *sources.Snapshot { return s.groupsFromTracker(t, ids) })
	if snap == nil {
		from = groupsFromDirectory
		snap, err = s.read(ctx, func(r *reader) (*sources.Snapshot, error) { return r.groupsSnapshot(groupIDs) })
		if err != nil {
			return nil, err
		}
	}
	s.metrics.groupReads.WithLabelValues(s.cfg.Name, from).Inc()
	s.log.Debug("ldap groups read", zap.String("from", from), zap.Int("named", len(groupIDs)),
		zap.Int("groups", len(snap.Groups)), zap.Int("users", len(snap.Users)))
	return snap, nil
}

// groupsSnapshot reads the named groups and their members: walking the
// nesting, or in in_chain mode asking for each named group's flattened
// users (no nested group is needed then: MemberGroups is nil).
func (r *reader) groupsSnapshot(groupIDs []string) (*sources.Snapshot, error) {
	named, err := r.namedGroups(groupIDs)
	if err != nil {
		return nil, err
	}
	var users, groups []*record
	if r.s.cfg.NestedGroups == NestedInChain {
		groups = named
		users, err = r.expandChains(groups, r.directUsers)
	} else {
		users, groups, err = r.walkGroups(named)
	}
	if err != nil {
		return nil, err
	}
	return r.s.build(users, groups, r.reasons), nil
}

// namedGroups reads groups by id, in batches.
func (r *reader) namedGroups(groupIDs []string) ([]*record, error) {
	cfg := &r.s.cfg
	var filters []string
	for _, id := range groupIDs {
		f, err := r.s.dec.idFilter(id)
		if err != nil {
			return nil, fmt.Errorf("group id %q: %w", id, err)
		}
		filters = append(filters, f)
	}
	var out []*record
	for _, chunk := range chunks(filters) {
		es, err := r.search("groups", cfg.GroupBaseDN, cfg.GroupScope, r.s.groupFilter("(|"+strings.Join(chunk, "")+")"))
		if err != nil {
			return nil, err
		}
		out = append(out, r.decodeAll(es, true)...)
	}
	return out, nil
}

// walkGroups follows member groups level by level from the named groups,
// looking members up in batches by RDN.
func (r *reader) walkGroups(level []*record) (users, groups []*record, err error) {
	cfg := &r.s.cfg
	seenGroup := map[string]bool{}
	seenUser := map[string]bool{}
	looked := map[string]bool{} // member keys already looked up
	for len(level) > 0 {
		var pending []string
		for _, g := range level {
			if seenGroup[g.id] {
				continue
			}
			seenGroup[g.id] = true
			groups = append(groups, g)
			for _, m := range g.members {
				if !looked[m] {
					looked[m] = true
					pending = append(pending, m)
				}
			}
		}
		level = nil
		if len(pending) == 0 {
			break
		}
		if cfg.MemberValue == MemberValueUID {
			us, err := r.lookupUIDs(pending)
			if err != nil {
				return nil, nil, err
			}
			users = appendNew(users, us, seenUser)
			continue
		}
		gs, err := r.lookupDNs("groups", cfg.GroupBaseDN, cfg.GroupScope, r.s.groupFilter, pending, true)
		if err != nil {
			return nil, nil, err
		}
		isGroup := map[string]bool{}
		for _, g := range gs {
			isGroup[g.ndn] = true
		}
		var rest []string
		for _, m := range pending {
			if !isGroup[m] {
				rest = append(rest, m)
			}
		}
		us, err := r.lookupDNs("users", cfg.UserBaseDN, cfg.UserScope, r.s.userFilter, rest, false)
		if err != nil {
			return nil, nil, err
		}
		users = appendNew(users, us, seenUser)
		level = gs
	}
	return users, groups, nil
}

func appendNew(dst, src []*record, seen map[string]bool) []*record {
	for _, r := range src {
		if !seen[r.id] {
			seen[r.id] = true
			dst = append(dst, r)
		}
	}
	return dst
}

func chunks(items []string) [][]string {
	var out [][]string
	for len(items) > 0 {
		n := min(filterChunk, len(items))
		out = append(out, items[:n])
		items = items[n:]
	}
	return out
}

// lookupUIDs finds users by UserNameAttribute.
func (r *reader) lookupUIDs(names []string) ([]*record, error) {
	var filters []string
	for _, n := range names {
		filters = append(filters, "("+goldap.EscapeFilter(r.s.cfg.UserNameAttribute)+"="+goldap.EscapeFilter(n)+")")
	}
	var out []*record
	for _, chunk := range chunks(filters) {
		es, err := r.search("users", r.s.cfg.UserBaseDN, r.s.cfg.UserScope, r.s.userFilter("(|"+strings.Join(chunk, "")+")"))
		if err != nil {
			return nil, err
		}
		out = append(out, r.decodeAll(es, false)...)
	}
	return out, nil
}

// lookupDNs finds entries by DN without one search per DN: it searches for
// the first RDN's attribute values under the base and keeps the entries
// whose DN is one of those wanted. DNs outside the base are skipped.
func (r *reader) lookupDNs(kind, base, scope string, filter func(string) string, ndns []string, group bool) ([]*record, error) {
	nbase := normDN(base)
	want := map[string]bool{}
	var filters []string
	for _, ndn := range ndns {
		if !underDN(ndn, nbase) {
			continue
		}
		f, ok := rdnFilter(ndn)
		if !ok {
			continue
		}
		want[ndn] = true
		filters = append(filters, f)
	}
	var out []*record
	for _, chunk := range chunks(filters) {
		es, err := r.search(kind, base, scope, filter("(|"+strings.Join(chunk, "")+")"))
		if err != nil {
			return nil, err
		}
		var keep []*goldap.Entry
		for _, e := range es {
			if want[normDN(e.DN)] {
				keep = append(keep, e)
			}
		}
		out = append(out, r.decodeAll(keep, group)...)
	}
	return out, nil
}

// rdnFilter is an escaped filter matching the first RDN of a DN: the
// cheapest search that finds the entry, whatever its DN holds. ok is false
// for a DN that does not parse.
func rdnFilter(dn string) (string, bool) {
	p, err := goldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 {
		return "", false
	}
	var f strings.Builder
	f.WriteString("(&")
	for _, a := range p.RDNs[0].Attributes {
		f.WriteString("(" + goldap.EscapeFilter(a.Type) + "=" + goldap.EscapeFilter(a.Value) + ")")
	}
	f.WriteString(")")
	return f.String(), true
}
