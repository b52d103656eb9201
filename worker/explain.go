package worker

import (
	"errors"
	"time"
)

// Explanation answers, for one person, "why do they have (or lack) their
// Lightdash groups?": their directory entries, every directory group they
// are in and how, what the mapping makes of each, their Lightdash account,
// the Lightdash groups they are in now against those they should be in,
// the access that follows, and whatever is held back or pending. It is
// plain data with JSON tags, printed by `explain` and served by /explain.
type Explanation struct {
	// Email is the address asked about, as Lightdash compares it.
	Email     string           `json:"email"`
	Freshness ExplainFreshness `json:"freshness"`
	// Directory lists every directory user, in every source, with Email
	// among its addresses.
	Directory []ExplainEntry `json:"directory"`
	// Groups are the directory groups those users are in, directly or
	// through nesting, each with the mapping's verdict.
	Groups []ExplainGroup `json:"groups"`
	// Account is the person's Lightdash user.
	Account ExplainAccount `json:"account"`
	// Lightdash lists the Lightdash groups they are in now or should be in.
	Lightdash []ExplainAccess `json:"lightdash"`
	// Grants are the project roles and space access that follow from
	// those groups, on the projects and spaces the mapping names.
	Grants []ExplainGrant `json:"grants"`
	// Pending lists what is held back or waiting for a run, for them.
	Pending []ExplainPending `json:"pending"`
	// Notes say in a line each what stands out (disabled, not found,
	// incomplete read).
	Notes []string `json:"notes,omitempty"`
}

// ExplainFreshness says when each part of an Explanation was read.
type ExplainFreshness struct {
	// From is "one-shot read" (`explain`) or "last full reconciliation"
	// (the daemon's /explain).
	From string `json:"from"`
	// Directory is when the oldest source snapshot was read; Plan when
	// the plan whose findings (held back, conflicts, grace) are used was
	// computed; Lightdash when the group memberships were read (for the
	// daemon, its cached view, which its own writes keep current).
	Directory time.Time `json:"directory"`
	Plan      time.Time `json:"plan"`
	Lightdash time.Time `json:"lightdash"`
	// Access is when the project grants and space shares were read (zero
	// when the mapping names none). For the daemon it is the last full
	// run's read, before that run's own writes.
	Access time.Time `json:"access"`
}

// ExplainEntry is one directory user with the asked address.
type ExplainEntry struct {
	Source      string   `json:"source"`
	ID          string   `json:"id"`
	DN          string   `json:"dn,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Email       string   `json:"email,omitempty"`
	AltEmails   []string `json:"altEmails,omitempty"`
	// Disabled users are never members of a Lightdash group.
	Disabled bool `json:"disabled"`
}

// ExplainRef names a directory group.
type ExplainRef struct {
	ID   string `json:"id"`
	DN   string `json:"dn,omitempty"`
	Name string `json:"name"`
}

// ExplainGroup is one directory group a directory user is in.
type ExplainGroup struct {
	Source string     `json:"source"`
	UserID string     `json:"userId"`
	Group  ExplainRef `json:"group"`
	// Direct is set when the user is a member of the group itself;
	// otherwise Path is how: from the group the user is in directly up to
	// Group, each a member of the next.
	Direct  bool           `json:"direct"`
	Path    []ExplainRef   `json:"path,omitempty"`
	Mapping MappingVerdict `json:"mapping"`
}

// The verdicts of the mapping on a directory group.
const (
	VerdictMapped      = "mapped"       // a rule or override maps it to LightdashGroup
	VerdictNoRule      = "no-rule"      // no rule or override selects it
	VerdictExcluded    = "excluded"     // mapping.exclude lists it
	VerdictInvalidName = "invalid-name" // its Lightdash name is refused
	VerdictCollision   = "collision"    // another directory group maps to the same name
	VerdictHeld        = "held"         // another blocking problem (nesting too deep)
)

// MappingVerdict is what the mapping makes of one directory group: the
// mapping code's own decision (Mapper.selectGroup) and problems (Map).
type MappingVerdict struct {
	Verdict string `json:"verdict"`
	// Rule is the rule's name (or rules[i]) or overrides[i] that selected it.
	Rule           string `json:"rule,omitempty"`
	LightdashGroup string `json:"lightdashGroup,omitempty"`
	Key            string `json:"key,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// The states of a Lightdash account.
const (
	AccountActive      = "active"
	AccountPending     = "pending" // invited, never logged in: still a valid member
	AccountDeactivated = "deactivated"
	AccountNone        = "none"
)

// ExplainAccount is the person's Lightdash user, as identity resolution
// sees it.
type ExplainAccount struct {
	Status string `json:"status"`
	UUID   string `json:"uuid,omitempty"`
	Email  string `json:"email,omitempty"`
	Role   string `json:"role,omitempty"`
	// Detail says what follows: why they go in no group, and what
	// identity.unmatched does about a missing account.
	Detail string `json:"detail,omitempty"`
}

// The states of one Lightdash group for the person.
const (
	AccessOK         = "ok"          // in it, as the directory wants
	AccessAdd        = "add"         // should be in it; the next run adds them (or creates it)
	AccessRemove     = "remove"      // in it, not wanted; the next run removes them
	AccessDelete     = "delete"      // its directory group is gone; the next run deletes it
	AccessGrace      = "grace"       // its directory group is gone; deleted after the grace period
	AccessHeldBack   = "held-back"   // a removal or deletion a safety rule holds back
	AccessConflict   = "conflict"    // wanted, but the name is held by another group
	AccessHeld       = "held"        // a mapping problem keeps the group untouched
	AccessUnmatched  = "unmatched"   // wanted, but they have no usable Lightdash account
	AccessManual     = "manual"      // in it by hand; preserve-manual keeps them
	AccessUnmanaged  = "unmanaged"   // a group lightdash-sync does not own
	AccessKept       = "kept"        // not wanted, but the policy leaves it
	AccessNotUpdated = "not-updated" // wanted, but create-only never updates a group
	AccessNotDeleted = "not-deleted" // its directory group is gone; the policy never deletes
)

// ExplainAccess is one Lightdash group the person is in or should be in.
type ExplainAccess struct {
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
	// Key is the ownership key of the group, "" when not owned.
	Key    string `json:"key,omitempty"`
	Owned  bool   `json:"owned"`
	Now    bool   `json:"now"`
	Should bool   `json:"should"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// The states of one grant for the person (ExplainGrant.State).
const (
	GrantOK         = "ok"          // the group has it, as the mapping wants
	GrantAdd        = "grant"       // the next run grants it to the group
	GrantChange     = "change"      // the next run changes the group's role (Had: the role now)
	GrantRevoke     = "revoke"      // the next run revokes it from the group
	GrantHeldBack   = "held-back"   // a revoke a safety limit or an incomplete read holds back
	GrantUnresolved = "unresolved"  // the mapping's role or target did not resolve: left as it is
	GrantNotUpdated = "not-updated" // the mapping wants it, but the policy never changes an existing group
	GrantKept       = "kept"        // not granted by the mapping, but not revoked (policy, preserve-manual)
	GrantLeaving    = "leaving"     // the group has it, but the person is leaving the group
)

// ExplainGrant is a project role or space access the person has, or
// should have, through a Lightdash group: Now when they are in the group
// and it has the role, Should when they should be in it and the mapping
// grants the role. State and Reason say what the next run does about it.
type ExplainGrant struct {
	Group string `json:"group"`
	// Kind is "project" or "space"; Target its name ("project / space"
	// for a space) and UUID its uuid, empty when it did not resolve.
	Kind   string `json:"kind"`
	Target string `json:"target"`
	UUID   string `json:"uuid,omitempty"`
	// Role is the role it should have, or else the one it has; Had is the
	// role it has now when that differs.
	Role   string `json:"role,omitempty"`
	Had    string `json:"had,omitempty"`
	Now    bool   `json:"now"`
	Should bool   `json:"should"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// ExplainPending is one thing held back or waiting, for the person.
type ExplainPending struct {
	Kind   string `json:"kind"`
	Group  string `json:"group,omitempty"`
	Reason string `json:"reason"`
}

// ErrNoFullRun is returned by ExplainLast before the first full
// reconciliation, or when the worker does not keep its last read
// (Options.KeepLastRead).
var ErrNoFullRun = errors.New("no full reconciliation kept to explain from yet")

// ErrBadEmail is returned for an address that cannot be looked up.
var ErrBadEmail = errors.New("not an email address lightdash-sync can look up")
