package sources

import "time"

// Snapshot is what a source read of the directory: its groups and users.
// Sources produce it; the worker never talks LDAP or NATS itself.
//
// Complete is the source's promise that nothing was left out (every page
// read, no size limit hit, no referral skipped, no error). The planner never
// deletes a group or removes a member on the strength of an incomplete
// snapshot: an absent group might only be unread.
type Snapshot struct {
	// Source is the configured name of the source that produced the snapshot.
	Source string `json:"source"`
	// Groups and Users are in no particular order. Ids are unique within a snapshot.
	Groups []DirGroup `json:"groups"`
	Users  []DirUser  `json:"users"`
	// Complete is false when anything may be missing; IncompleteReason says why.
	Complete         bool   `json:"complete"`
	IncompleteReason string `json:"incompleteReason,omitempty"`
	// ReadAt is when the read finished.
	ReadAt time.Time `json:"readAt"`
	// Read says how it was obtained: ReadFull, or ReadWatcher when built
	// from a change watcher's state that vouches it is what a full read
	// would return. Empty means ReadFull.
	Read string `json:"read,omitempty"`
}

// Values of Snapshot.Read.
const (
	ReadFull    = "full"
	ReadWatcher = "watcher"
)

// DirGroup is one directory group as its source sees it.
type DirGroup struct {
	// ID is stable across renames: entryUUID, objectGUID, nsUniqueId or an
	// event producer's group id.
	ID string `json:"id"`
	// DN is the group's distinguished name, or its name for sources without DNs.
	DN string `json:"dn,omitempty"`
	// Name is the display name (cn, displayName or the event's name).
	Name string `json:"name"`
	// MemberUsers are the ids of direct member users (DirUser.ID).
	MemberUsers []string `json:"memberUsers,omitempty"`
	// MemberGroups are the ids of direct member groups (DirGroup.ID); the
	// worker flattens them, since Lightdash groups are flat.
	MemberGroups []string `json:"memberGroups,omitempty"`
}

// DirUser is one directory user.
type DirUser struct {
	// ID is stable across renames, like DirGroup.ID.
	ID string `json:"id"`
	// DN is the user's distinguished name, or empty.
	DN string `json:"dn,omitempty"`
	// Email is the address used to find the Lightdash user, from the
	// configured attribute (mail, userPrincipalName, ...). AltEmails are tried
	// in order when Email matches no Lightdash user.
	Email     string   `json:"email,omitempty"`
	AltEmails []string `json:"altEmails,omitempty"`
	// DisplayName is for reports only.
	DisplayName string `json:"displayName,omitempty"`
	// Disabled users (AD userAccountControl bit 2, an event's enabled:false)
	// are never members of a Lightdash group.
	Disabled bool `json:"disabled,omitempty"`
}
