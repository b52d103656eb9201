package nats

import (
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// Type is a CloudEvents type attribute. The set is closed: an event of any
// other type is poison, so a typo in a producer surfaces at once instead of
// being silently ignored.
type Type string

// The event types, reverse-DNS as CloudEvents recommends.
const (
	// TypeGroupUpserted carries a group's full state: name and every member.
	TypeGroupUpserted Type = "io.lightdash-sync.group.upserted"
	// TypeGroupDeleted removes a group.
	TypeGroupDeleted Type = "io.lightdash-sync.group.deleted"
	// TypeMembersAdded adds members to a group, keeping the others.
	TypeMembersAdded Type = "io.lightdash-sync.group.members_added"
	// TypeMembersRemoved removes members from a group, keeping the others.
	TypeMembersRemoved Type = "io.lightdash-sync.group.members_removed"
	// TypeUserUpserted carries a user's full state: emails and enabled flag.
	TypeUserUpserted Type = "io.lightdash-sync.user.upserted"
	// TypeUserDeleted removes a user.
	TypeUserDeleted Type = "io.lightdash-sync.user.deleted"
)

// Types lists every known type, in a fixed order (metrics, docs, tests).
var Types = []Type{
	TypeGroupUpserted, TypeGroupDeleted, TypeMembersAdded, TypeMembersRemoved,
	TypeUserUpserted, TypeUserDeleted,
}

// Known reports whether t is one of Types.
func (t Type) Known() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// IsGroup reports whether events of type t describe a group (their data.id
// is a group id); the others describe a user.
func (t Type) IsGroup() bool { return strings.HasPrefix(string(t), "io.lightdash-sync.group.") }

// Short is the type without its prefix ("group.upserted"), for metric labels.
func (t Type) Short() string {
	if !t.Known() {
		return "unknown"
	}
	return strings.TrimPrefix(string(t), "io.lightdash-sync.")
}

// SpecVersion is the only CloudEvents version accepted.
const SpecVersion = "1.0"

// ContentType is the only datacontenttype accepted (it may also be absent).
const ContentType = "application/json"

// Event is one directory-change event in CloudEvents 1.0 structured JSON.
// Producers fill it and call Publish; the source gets it from Decode.
type Event struct {
	SpecVersion string `json:"specversion"`
	// ID is the producer's unique id for this event. Publish sends it as the
	// Nats-Msg-Id header, so JetStream drops a re-sent copy within the
	// stream's duplicate window.
	ID string `json:"id"`
	// Source identifies the producer (a URI reference, e.g. "/hr/workday").
	// The first source to describe a group or user owns it: the view
	// refuses events about it from any other source.
	Source string `json:"source"`
	Type   Type   `json:"type"`
	// Time is when the change happened at the producer. It orders the events
	// of one group or user when Sequence is absent. It may be at most the
	// consumer's MaxClockSkew ahead of the consumer's clock.
	Time time.Time `json:"time"`
	// Subject, when present, must equal Data.ID.
	Subject         string `json:"subject,omitempty"`
	DataContentType string `json:"datacontenttype,omitempty"`
	// Sequence is an optional extension attribute: a per-group (or per-user)
	// counter that the producer increments with every event about that
	// group. It is a JSON integer, unlike the string-typed CloudEvents
	// "sequence" extension, so that it compares numerically. It may be at
	// most the consumer's MaxSequenceJump above the last one applied.
	Sequence *uint64 `json:"sequence,omitempty"`
	Data     Data    `json:"data"`
}

// Data is the payload of every event type. Which fields are allowed depends
// on the type; Decode rejects the others.
type Data struct {
	// ID is the stable id of the group (group.* types) or user (user.*).
	ID string `json:"id"`

	// Name is the group's display name: required for group.upserted,
	// optional for the member deltas (used if the group is not yet known).
	Name string `json:"name,omitempty"`
	// Members are member users: the full list for group.upserted (required
	// there: an empty, non-nil slice says "no members"), the changed ones
	// for members_added / members_removed.
	Members []Member `json:"members,omitzero"`
	// MemberGroups are ids of nested groups (group.upserted and the deltas).
	// In group.upserted, nil keeps the nested groups the view knows and an
	// empty, non-nil slice says none.
	MemberGroups []string `json:"memberGroups,omitzero"`

	// Email, AltEmails, DisplayName and Enabled describe a user (user.upserted).
	Email       string   `json:"email,omitempty"`
	AltEmails   []string `json:"altEmails,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	// Enabled false marks the user disabled: never a Lightdash group member.
	// Absent means enabled.
	Enabled *bool `json:"enabled,omitempty"`
}

// Member names a member user by stable id, email, or both. With both, a
// user.upserted event for the id is authoritative for the email.
type Member struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
}

// key is the member's identity for set operations: the id if known, else
// the email (as ident.EmailKey has it).
func (m Member) key() string {
	if m.ID != "" {
		return "id:" + m.ID
	}
	return "email:" + ident.EmailKey(m.Email)
}

// entityKey names what the event is about, for ordering: "group:<id>" or
// "user:<id>".
func (e *Event) entityKey() string {
	if e.Type.IsGroup() {
		return "group:" + e.Data.ID
	}
	return "user:" + e.Data.ID
}
