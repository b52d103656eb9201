package worker

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Policy says which kinds of change the worker may make, chosen by name
// in configuration (as external-dns does).
type Policy string

// The policies.
const (
	// PolicySync creates, updates and deletes owned groups.
	PolicySync Policy = "sync"
	// PolicyUpsertOnly creates and updates but never deletes groups.
	PolicyUpsertOnly Policy = "upsert-only"
	// PolicyCreateOnly only creates groups; existing ones are left alone.
	PolicyCreateOnly Policy = "create-only"
)

// MembershipMode says which members of an owned group the worker may remove.
type MembershipMode string

// The membership modes.
const (
	// MembershipAuthoritative: the directory decides every member.
	MembershipAuthoritative MembershipMode = "authoritative"
	// MembershipPreserveManual: only members the worker added are removed,
	// so people added by hand in Lightdash stay.
	MembershipPreserveManual MembershipMode = "preserve-manual"
)

// UnmatchedPolicy says what happens to directory users with no Lightdash account.
type UnmatchedPolicy string

// The unmatched-user policies.
const (
	// UnmatchedSkip reports them and retries at every run (the default).
	UnmatchedSkip UnmatchedPolicy = "skip"
	// UnmatchedInvite creates an invite link, making a pending Lightdash
	// user that can be put in groups at once. Lightdash emails the invite.
	UnmatchedInvite UnmatchedPolicy = "invite"
)

// Limits are the safety limits on destructive changes. A zero value means
// no limit; start from DefaultLimits.
//
// The fields take the names of the configuration keys (sync.safety); the
// JSON names stay as they were, since saved plans carry them.
type Limits struct {
	// MaxGroupDeletes and MaxGroupDeletesPercent (of owned groups) bound
	// the groups one run may delete.
	MaxGroupDeletes        int     `json:"maxDeletedGroups,omitempty"`
	MaxGroupDeletesPercent float64 `json:"maxDeletedGroupsPercent,omitempty"`
	// MaxMemberRemovals and MaxMemberRemovalsPercent (of the memberships
	// of owned groups) bound the memberships one run may remove.
	MaxMemberRemovals        int     `json:"maxRemovedMembers,omitempty"`
	MaxMemberRemovalsPercent float64 `json:"maxRemovedMembersPercent,omitempty"`
	// A group missing from the directory is deleted only once it has been
	// missing for DeleteGracePeriod and for DeleteAfterReads consecutive
	// complete reads (both, when both are set).
	DeleteGracePeriod time.Duration `json:"absentGrace,omitempty"`
	DeleteAfterReads  int           `json:"absentReads,omitempty"`
	// LimitWindow is the rolling period the four limits above bound: what
	// runs (full and live) applied within it counts against them, so a
	// stream of changes cannot empty groups one run at a time. Zero gives
	// every run the whole budget.
	LimitWindow time.Duration `json:"window,omitempty"`
}

// DefaultLimits are cautious limits for a new installation: the limits
// the binary starts from.
func DefaultLimits() Limits {
	return Limits{
		MaxGroupDeletes:          10,
		MaxGroupDeletesPercent:   10,
		MaxMemberRemovals:        500,
		MaxMemberRemovalsPercent: 20,
		DeleteGracePeriod:        time.Hour,
		DeleteAfterReads:         2,
		LimitWindow:              24 * time.Hour,
	}
}

// PlanOptions are the choices the planner follows.
type PlanOptions struct {
	Policy     Policy          `json:"policy"`
	Membership MembershipMode  `json:"membership"`
	Unmatched  UnmatchedPolicy `json:"unmatchedUsers"`
	// Access says which grants of owned groups may be revoked; empty
	// means AccessAuthoritative (left empty so saved plans keep their form).
	Access AccessMode `json:"access,omitempty"`
	// Adopt takes over an existing Lightdash group that has the wanted name
	// but is not owned; off, it is a conflict in the plan. Use it once
	// after the state is lost, after reviewing the plan.
	Adopt  bool   `json:"adopt,omitempty"`
	Limits Limits `json:"limits"`
	// AllowDeletions overrides Limits for one run: held-back deletions and
	// removals are applied.
	AllowDeletions bool `json:"allowDeletions,omitempty"`
}

// withDefaults fills empty names with their defaults.
func (o PlanOptions) withDefaults() PlanOptions {
	if o.Policy == "" {
		o.Policy = PolicySync
	}
	if o.Membership == "" {
		o.Membership = MembershipAuthoritative
	}
	if o.Unmatched == "" {
		o.Unmatched = UnmatchedSkip
	}
	return o
}

// Validate reports unknown names and impossible limits, each as a
// *sources.ConfigError naming its configuration key (safety for Limits).
func (o PlanOptions) Validate() error {
	o = o.withDefaults()
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &sources.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains([]Policy{PolicySync, PolicyUpsertOnly, PolicyCreateOnly}, o.Policy) {
		bad("policy", "%q is not a policy (want sync, upsert-only or create-only)", o.Policy)
	}
	if !slices.Contains([]MembershipMode{MembershipAuthoritative, MembershipPreserveManual}, o.Membership) {
		bad("membership", "%q is not a membership mode (want authoritative or preserve-manual)", o.Membership)
	}
	if !slices.Contains([]UnmatchedPolicy{UnmatchedSkip, UnmatchedInvite}, o.Unmatched) {
		bad("unmatched", "%q is not a policy (want skip or invite)", o.Unmatched)
	}
	if !slices.Contains([]AccessMode{"", AccessAuthoritative, AccessPreserveManual}, o.Access) {
		bad("access", "%q is not an access mode (want authoritative or preserve-manual)", o.Access)
	}
	l := o.Limits
	if l.MaxGroupDeletes < 0 || l.MaxMemberRemovals < 0 || l.DeleteAfterReads < 0 || l.DeleteGracePeriod < 0 || l.LimitWindow < 0 {
		bad("safety", "limits must not be negative")
	}
	for _, p := range []struct {
		key string
		v   float64
	}{{"max_group_deletes_percent", l.MaxGroupDeletesPercent}, {"max_member_removals_percent", l.MaxMemberRemovalsPercent}} {
		if p.v < 0 || p.v > 100 {
			bad("safety."+p.key, "must be between 0 and 100")
		}
	}
	return errors.Join(errs...)
}

// mayUpdate reports whether the worker may change groups that already
// exist in Lightdash: their members, their names, who owns them. Under
// create-only it leaves them alone.
func (o PlanOptions) mayUpdate() bool { return o.Policy != PolicyCreateOnly }

// mayAdopt reports whether an existing group with the wanted name that the
// worker does not own is taken over rather than reported as a conflict.
func (o PlanOptions) mayAdopt() bool { return o.Adopt && o.mayUpdate() }

// mayDelete reports whether owned groups gone from the directory are deleted.
func (o PlanOptions) mayDelete() bool { return o.Policy == PolicySync }

// mayRemoveManual reports whether the worker may remove members it did not
// add (authoritative membership). Otherwise it removes only those it added,
// and so must remember which they are.
func (o PlanOptions) mayRemoveManual() bool { return o.Membership == MembershipAuthoritative }

// mayRevokeManual reports whether the worker may revoke grants it did not
// make (authoritative access).
func (o PlanOptions) mayRevokeManual() bool { return o.Access != AccessPreserveManual }

// enforcesLimits reports whether the safety limits hold deletions and
// removals back; AllowDeletions overrides them for one run.
func (o PlanOptions) enforcesLimits() bool { return !o.AllowDeletions }

// graceOver reports whether a group absent for ab may lose its Lightdash
// group: be deleted, or have it move to another key.
func (l Limits) graceOver(ab absence) bool {
	return (l.DeleteGracePeriod <= 0 || ab.waited >= l.DeleteGracePeriod) && (l.DeleteAfterReads <= 0 || ab.Reads >= l.DeleteAfterReads)
}
