package nats

import (
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// record is one value of the materialised view: the state of one group or
// one user as the events applied so far describe it. A deleted group or
// user stays as a tombstone, so that a late, older event cannot bring it
// back.
type record struct {
	Kind    string `json:"kind"` // kindGroup or kindUser
	ID      string `json:"id"`
	Deleted bool   `json:"deleted,omitempty"`
	// Source is the CloudEvents source that first described the group or
	// user, the only one whose events it accepts. Empty in records written
	// before sources were recorded: the next applied event claims it.
	Source string `json:"source,omitempty"`

	Name         string   `json:"name,omitempty"`
	Members      []Member `json:"members,omitempty"`
	MemberGroups []string `json:"memberGroups,omitempty"`

	Email       string   `json:"email,omitempty"`
	AltEmails   []string `json:"altEmails,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Disabled    bool     `json:"disabled,omitempty"`

	// DeletedAt is when this process made the record a tombstone; the
	// tombstone is removed TombstoneRetention later (see expire).
	DeletedAt time.Time `json:"deletedAt,omitzero"`

	// The last applied event, for ordering and redelivery detection.
	Sequence *uint64   `json:"sequence,omitempty"`
	Time     time.Time `json:"time"`
	EventID  string    `json:"eventId"`
}

const (
	kindGroup = "group"
	kindUser  = "user"
)

// kvKey maps an id to a key-value key. Ids may hold any printable
// character, keys only [-/_=.A-Za-z0-9], hence the base64url encoding.
func kvKey(kind, id string) string {
	prefix := "u."
	if kind == kindGroup {
		prefix = "g."
	}
	return prefix + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// stale reports whether e is older than the last event applied to r: a
// smaller sequence when both have one, else an earlier time. An equal
// sequence from a different event is a producer's duplicate and counts as
// stale; an equal time does not (two changes can share a second).
func (r *record) stale(e *Event) bool {
	if r.Sequence != nil && e.Sequence != nil {
		return *e.Sequence < *r.Sequence || (*e.Sequence == *r.Sequence && e.ID != r.EventID)
	}
	return e.Time.Before(r.Time)
}

// admit decides what the view does with e, given r, the state of its
// group or user (nil when unknown): apply it, skip it as stale, or refuse
// it with a *RejectError when it comes from another source than the one
// that owns the entity, or when its sequence is more than maxJump above
// the last one applied. The event last applied (a redelivery) is applied
// again; it changes nothing.
func admit(r *record, e *Event, maxJump uint64) (stale bool, err error) {
	var last uint64 // the sequence a new one is measured against
	if r != nil {
		if r.Source != "" && r.Source != e.Source {
			return false, &RejectError{Kind: ErrForeignSource,
				Detail: fmt.Sprintf("%s was first described by source %q", e.entityKey(), r.Source)}
		}
		if r.EventID != e.ID && r.stale(e) {
			return true, nil
		}
		if r.Sequence != nil {
			last = *r.Sequence
		}
	}
	if e.Sequence != nil && *e.Sequence > last && *e.Sequence-last > maxJump {
		return false, &RejectError{Kind: ErrSequenceJump,
			Detail: fmt.Sprintf("sequence %d is more than %d above the last applied, %d", *e.Sequence, maxJump, last)}
	}
	return false, nil
}

// next returns the record after applying e to r (nil when unknown). It does
// no I/O and leaves r unchanged.
func next(r *record, e *Event) *record {
	d := &e.Data
	n := &record{ID: d.ID, Source: e.Source, Sequence: e.Sequence, Time: e.Time, EventID: e.ID}
	switch e.Type {
	case TypeGroupUpserted:
		n.Kind, n.Name = kindGroup, d.Name
		n.Members = mergeMembers(nil, d.Members)
		n.MemberGroups = union(nil, d.MemberGroups)
		if d.MemberGroups == nil && r != nil && !r.Deleted {
			// Absent is not "none" ([] is): a producer that leaves nesting
			// out must not drop every nested member.
			n.MemberGroups = r.MemberGroups
		}
	case TypeGroupDeleted:
		n.Kind, n.Deleted = kindGroup, true
	case TypeMembersAdded, TypeMembersRemoved:
		n.Kind = kindGroup
		if r != nil && !r.Deleted {
			n.Name, n.Members, n.MemberGroups = r.Name, r.Members, r.MemberGroups
		} else {
			// A delta for a group not seen yet (its upsert may come later or
			// never): start from empty, named as the event says.
			n.Name = cmpOr(d.Name, d.ID)
		}
		if e.Type == TypeMembersAdded {
			n.Members = mergeMembers(n.Members, d.Members)
			n.MemberGroups = union(n.MemberGroups, d.MemberGroups)
		} else {
			n.Members = removeMembers(n.Members, d.Members)
			n.MemberGroups = minus(n.MemberGroups, d.MemberGroups)
		}
	case TypeUserUpserted:
		n.Kind = kindUser
		n.Email, n.AltEmails, n.DisplayName = d.Email, d.AltEmails, d.DisplayName
		n.Disabled = d.Enabled != nil && !*d.Enabled
	case TypeUserDeleted:
		n.Kind, n.Deleted = kindUser, true
	}
	return n
}

// mergeMembers adds add to have: a member with an id matches the member
// with that id, or else one known by the same email and no id; a member
// with an email only matches any member with that email. A member known by
// email only gains the id when an event names both. Maps keep it linear:
// full-list events carry thousands of members.
func mergeMembers(have, add []Member) []Member {
	if len(add) == 1 {
		return mergeOne(have, add[0])
	}
	return mergeMany(have, add)
}

func mergeMany(have, add []Member) []Member {
	s := newMemberSet(have)
	s.add(add)
	return s.list
}

// mergeOne is mergeMembers for a single member, the usual delta: the same
// matches found by scanning, since building the maps for one lookup costs
// more than the scan, and a burst of deltas on a big group does it per
// event.
func mergeOne(have []Member, m Member) []Member {
	i, found := -1, false
	if m.ID != "" {
		for j := len(have) - 1; j >= 0; j-- { // the map kept the last index with an id
			if have[j].ID == m.ID {
				i, found = j, true
				break
			}
		}
	}
	if !found && m.Email != "" {
		email := ident.EmailKey(m.Email)
		for j := range have { // and the first with an email
			if have[j].Email != "" && ident.EmailKey(have[j].Email) == email {
				if m.ID == "" || have[j].ID == "" {
					i, found = j, true
				}
				break
			}
		}
	}
	switch {
	case !found:
		out := make([]Member, len(have), len(have)+1)
		copy(out, have)
		return append(out, m)
	case m.ID != "" && (have[i].ID == "" || m.Email != ""):
		out := slices.Clone(have)
		out[i].ID = m.ID
		if m.Email != "" {
			out[i].Email = m.Email
		}
		return out
	default:
		return slices.Clone(have)
	}
}

// removeMembers drops every member of have that one of del names, by id
// or by email.
func removeMembers(have, del []Member) []Member {
	ids, emails := map[string]bool{}, map[string]bool{}
	for _, m := range del {
		if m.ID != "" {
			ids[m.ID] = true
		}
		if m.Email != "" {
			emails[ident.EmailKey(m.Email)] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(have), func(o Member) bool {
		return (o.ID != "" && ids[o.ID]) || (o.Email != "" && emails[ident.EmailKey(o.Email)])
	})
}

// union appends the strings of b missing from a, keeping a's order. With
// nothing to add it returns a itself: records are never modified.
func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a)+len(b))
	seen := make(map[string]bool, len(a)+len(b))
	for _, s := range append(slices.Clone(a), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func minus(a, b []string) []string {
	drop := make(map[string]bool, len(b))
	for _, s := range b {
		drop[s] = true
	}
	return slices.DeleteFunc(slices.Clone(a), func(s string) bool { return drop[s] })
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
