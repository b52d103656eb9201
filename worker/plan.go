package worker

import "time"

// PlanFormat is the version of the Plan's JSON form, so a saved plan from
// another build is refused rather than misread.
const PlanFormat = 1

// Plan is the difference between what the directory wants and what
// Lightdash holds: plain data, computed by ComputePlan without I/O, printed
// by `plan`, saved as JSON and applied by Worker.Apply. Every item says why.
type Plan struct {
	Format     int         `json:"format"`
	ComputedAt time.Time   `json:"computedAt"`
	Options    PlanOptions `json:"options"`
	// Partial plans come from ReconcileGroups: they never delete.
	Partial bool `json:"partial,omitempty"`

	Creates   []CreateGroup   `json:"creates,omitempty"`
	Updates   []UpdateGroup   `json:"updates,omitempty"`
	Deletes   []DeleteGroup   `json:"deletes,omitempty"`
	Invites   []Invite        `json:"invites,omitempty"`
	Conflicts []Conflict      `json:"conflicts,omitempty"`
	Unmatched []UnmatchedUser `json:"unmatched,omitempty"`
	HeldBack  []HeldBack      `json:"heldBack,omitempty"`
	Problems  []Problem       `json:"problems,omitempty"`
	// Access are the project role and space share writes (full runs only).
	Access []AccessChangeItem `json:"access,omitempty"`

	// State bookkeeping that needs no Lightdash call: groups seen again
	// (their absence counters are cleared), groups still absent (counters
	// advanced), and owned entries whose group is gone from Lightdash.
	Reappeared []string      `json:"reappeared,omitempty"`
	Absent     []AbsentGroup `json:"absent,omitempty"`
	Forgets    []ForgetGroup `json:"forgets,omitempty"`

	// Blocked is set when a safety limit held deletions or removals back.
	// Additions in the plan still apply.
	Blocked       bool   `json:"blocked,omitempty"`
	BlockedReason string `json:"blockedReason,omitempty"`
	// Budget is what the limits allowed when the plan was computed (nil
	// when overridden); Apply holds it to every deletion and removal.
	Budget *Budget `json:"budget,omitempty"`

	// Fingerprints of the inputs, so a saved plan is only applied to the
	// world it was computed from.
	Fingerprints Fingerprints `json:"fingerprints"`
}

// CreateGroup creates a Lightdash group with its members in one call.
type CreateGroup struct {
	Key     string     `json:"key"`
	Name    string     `json:"name"`
	Members []string   `json:"members"`
	From    []GroupRef `json:"from,omitempty"`
	// Invitees are emails invited in this run whose new uuids join the group.
	Invitees []string `json:"invitees,omitempty"`
	// Replaces is the uuid of the owned group this create replaces, when
	// that group was deleted outside lightdash-sync.
	Replaces string `json:"replaces,omitempty"`
	Reason   string `json:"reason"`
}

// UpdateGroup changes one Lightdash group with one PATCH: NewName when
// renamed, and the full member list when members change.
type UpdateGroup struct {
	Key  string `json:"key"`
	UUID string `json:"uuid"`
	Name string `json:"name"`
	// NewName is set for an in-place rename (the uuid, and so the group's
	// project and space access, is kept).
	NewName string   `json:"newName,omitempty"`
	Add     []string `json:"add,omitempty"`
	Remove  []string `json:"remove,omitempty"`
	// Members is the complete member list to send, when Add or Remove is set.
	Members  []string `json:"members,omitempty"`
	Invitees []string `json:"invitees,omitempty"`
	// Adopt is set when the group becomes owned by this update (adopt: true,
	// a create interrupted before its answer was saved); AdoptFrom is the
	// key that owned it before, when ownership moves between keys.
	Adopt     bool   `json:"adopt,omitempty"`
	AdoptFrom string `json:"adoptFrom,omitempty"`
	// Added is the owned-member list to record after the write.
	Added  []string `json:"added,omitempty"`
	Reason string   `json:"reason"`
}

// Writes reports whether the update needs a Lightdash call.
func (u UpdateGroup) Writes() bool {
	return u.NewName != "" || len(u.Add) > 0 || len(u.Remove) > 0 || len(u.Invitees) > 0
}

// withoutRemovals is u keeping the members it would remove.
func (u UpdateGroup) withoutRemovals() UpdateGroup {
	if len(u.Add) > 0 || len(u.Invitees) > 0 {
		u.Members = applyDiff(u.Members, u.Remove, nil)
	} else {
		u.Members = nil
	}
	u.Added = applyDiff(u.Added, u.Remove, nil)
	u.Remove = nil
	return u
}

// DeleteGroup deletes an owned Lightdash group.
type DeleteGroup struct {
	Key    string `json:"key"`
	UUID   string `json:"uuid"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Invite creates an invite link (a pending Lightdash user) for a directory
// user with no account, under the invite policy.
type Invite struct {
	Email  string   `json:"email"`
	Source string   `json:"source"`
	UserID string   `json:"userId"`
	Groups []string `json:"groups"`
}

// Conflict is a wanted change that cannot be made safely; nothing is
// written for it.
type Conflict struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	UUID   string `json:"uuid,omitempty"`
	Reason string `json:"reason"`
}

// UnmatchedUser is a directory user who is not placed in Lightdash groups.
type UnmatchedUser struct {
	Source string   `json:"source"`
	UserID string   `json:"userId"`
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"groups"`
	Reason string   `json:"reason"`
	// InvalidEmail is set when an address of the user was refused as not
	// plain ASCII (see ident.NormalizeEmail).
	InvalidEmail bool `json:"invalidEmail,omitempty"`
}

// HeldBack is a deletion or member removal that a safety rule kept back.
type HeldBack struct {
	Key     string   `json:"key"`
	UUID    string   `json:"uuid,omitempty"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"` // "delete" or "remove-members"
	Members []string `json:"members,omitempty"`
	Reason  string   `json:"reason"`
}

// AbsentGroup is an owned group missing from a complete directory read and
// not (yet) deleted.
type AbsentGroup struct {
	Key    string    `json:"key"`
	Since  time.Time `json:"since"`
	Reads  int       `json:"reads"`
	Reason string    `json:"reason"`
}

// ForgetGroup drops a state entry whose Lightdash group no longer exists.
type ForgetGroup struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Fingerprints are hashes of a plan's inputs.
type Fingerprints struct {
	Directory string `json:"directory"`
	Lightdash string `json:"lightdash"`
}

// HasChanges reports whether applying the plan would change Lightdash or
// the state.
func (p *Plan) HasChanges() bool {
	return len(p.Creates) > 0 || len(p.Updates) > 0 || len(p.Deletes) > 0 || len(p.Invites) > 0 || len(p.Access) > 0 ||
		len(p.Absent) > 0 || len(p.Forgets) > 0 || len(p.Reappeared) > 0
}

// Writes counts the Lightdash writes the plan needs (without invites).
func (p *Plan) Writes() int {
	n := len(p.Creates) + len(p.Deletes) + len(p.Access)
	for _, u := range p.Updates {
		if u.Writes() {
			n++
		}
	}
	return n
}
