package ldap

import (
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// memberDelta is what a DirSync entry says about a group's members. With
// LDAP_DIRSYNC_INCREMENTAL_VALUES the server sends the link values that
// changed since the cookie, each in its current state: "member;range=1-1"
// holds values present, "member;range=0-0" values removed (a first round
// sends every value present, and removed values whose target still
// exists). A server without incremental values (Windows 2000 functional
// level) sends the plain attribute in full.
type memberDelta struct {
	full           bool     // the entry holds the whole member list
	added, removed []string // member keys
}

// apply returns members with the values removed taken out and the values
// added put in, each once; members is not changed.
func (m *memberDelta) apply(members []string) []string {
	drop := make(map[string]bool, len(m.removed))
	for _, k := range m.removed {
		drop[k] = true
	}
	have := make(map[string]bool, len(members)+len(m.added))
	out := make([]string, 0, len(members)+len(m.added))
	for _, k := range members {
		if !drop[k] && !have[k] {
			have[k] = true
			out = append(out, k)
		}
	}
	for _, k := range m.added {
		if !have[k] {
			have[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Kinds of ranged member attributes in a DirSync entry.
const (
	notRanged = iota
	valuesAdded
	valuesRemoved
	someValues // another range: only some of the values
)

// memberRange tells what kind of member attribute name is.
func (d decoder) memberRange(name string) int {
	base, low, high, ranged := parseRange(name)
	switch {
	case !ranged || !d.isMemberAttr(base):
		return notRanged
	case low == 1 && high == "1":
		return valuesAdded
	case low == 0 && high == "0":
		return valuesRemoved
	}
	return someValues
}

// someMembers names a member attribute of e that holds only some values,
// or returns "".
func (d decoder) someMembers(e *goldap.Entry) string {
	for _, a := range e.Attributes {
		if d.memberRange(a.Name) == someValues {
			return a.Name
		}
	}
	return ""
}

// splitMembers returns e without its ranged member attributes, and what
// they and any plain member attribute say about the members (e holds
// none that someMembers names).
func (d decoder) splitMembers(e *goldap.Entry) (*goldap.Entry, memberDelta) {
	var m memberDelta
	out := &goldap.Entry{DN: e.DN, Attributes: make([]*goldap.EntryAttribute, 0, len(e.Attributes))}
	for _, a := range e.Attributes {
		switch d.memberRange(a.Name) {
		case valuesAdded:
			m.added = append(m.added, d.memberKeys(a.Values)...)
		case valuesRemoved:
			m.removed = append(m.removed, d.memberKeys(a.Values)...)
		default:
			m.full = m.full || d.isMemberAttr(a.Name)
			out.Attributes = append(out.Attributes, a)
		}
	}
	return out, m
}

func (d decoder) isMemberAttr(name string) bool {
	return slices.ContainsFunc(d.cfg.MemberAttributes, func(m string) bool { return strings.EqualFold(m, name) })
}

func (d decoder) memberKeys(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = d.memberKey(v)
	}
	return out
}

// withoutMembers returns e without its member attributes: a stored DirSync
// entry leaves them to its record, whose members follow renames.
func (d decoder) withoutMembers(e *goldap.Entry) *goldap.Entry {
	if !slices.ContainsFunc(e.Attributes, func(a *goldap.EntryAttribute) bool { return d.isMemberAttr(a.Name) }) {
		return e
	}
	out := &goldap.Entry{DN: e.DN}
	for _, a := range e.Attributes {
		if !d.isMemberAttr(a.Name) {
			out.Attributes = append(out.Attributes, a)
		}
	}
	return out
}

// rereadMembers replaces e's member attributes (plain or ranged) with the
// whole lists, read with a base search (and range retrieval) over conn:
// the answer to a DirSync entry that sent only some of a group's values.
func (s *Source) rereadMembers(conn searcher, e *goldap.Entry) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", s.cfg.MemberAttributes, nil)
	res, err := conn.Search(req)
	s.metrics.searches.WithLabelValues(s.cfg.Name, "members", resultLabel(err)).Inc()
	if err != nil {
		return nil, fmt.Errorf("read the members of %s: %w", e.DN, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("read the members of %s: got %d entries, want 1", e.DN, len(res.Entries))
	}
	got := res.Entries[0]
	if err := (&reader{s: s, conn: conn}).expandRanges(got); err != nil {
		return nil, err
	}
	out := &goldap.Entry{DN: e.DN}
	for _, a := range e.Attributes {
		if !s.dec.isMemberAttr(a.Name) && s.dec.memberRange(a.Name) == notRanged {
			out.Attributes = append(out.Attributes, a)
		}
	}
	for _, a := range got.Attributes {
		if s.dec.isMemberAttr(a.Name) {
			out.Attributes = append(out.Attributes, a)
		}
	}
	return out, nil
}
