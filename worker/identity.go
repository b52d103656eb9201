package worker

import (
	"strings"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// identities turns directory users into Lightdash user uuids by email.
//
// Emails compare case-insensitively (Lightdash stores them lowercased);
// Email is tried first, then AltEmails in order. Lightdash users are
// treated so:
//   - pending (invited, never logged in): a valid member, since Lightdash
//     lets a pending user be in groups and they get access on first login;
//   - deactivated (IsActive false, not pending): not added, and reported,
//     since adding them grants nothing and hides a directory/Lightdash
//     mismatch someone should look at. In authoritative mode a deactivated
//     user already in an owned group is removed like any non-member.
type identities struct {
	byEmail map[string]lightdash.OrgMember
}

func newIdentities(users []lightdash.OrgMember) *identities {
	id := &identities{byEmail: make(map[string]lightdash.OrgMember, len(users))}
	for _, u := range users {
		id.add(u)
	}
	return id
}

// add indexes one more user (an invite's pending user).
func (id *identities) add(u lightdash.OrgMember) {
	e := normEmail(u.Email)
	if e == "" {
		return
	}
	if old, dup := id.byEmail[e]; dup && usable(old) && !usable(u) {
		return // prefer the usable account if Lightdash somehow has two
	}
	id.byEmail[e] = u
}

// knows reports whether any Lightdash user, usable or not, has email e
// (normalised).
func (id *identities) knows(e string) bool {
	_, ok := id.byEmail[e]
	return ok
}

func usable(u lightdash.OrgMember) bool { return u.IsActive || u.IsPending }

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// resolution is the outcome for one directory user.
type resolution struct {
	uuid   string // set when the user goes into groups
	reason string // set when not
	invite string // the email to invite, under the invite policy
}

// emailAt returns u's i-th address (Email, then AltEmails), normalised;
// it avoids building a slice per member in the planner's hot loop.
func emailAt(u *DirUser, i int) string {
	if i == 0 {
		return normEmail(u.Email)
	}
	return normEmail(u.AltEmails[i-1])
}

func (id *identities) resolve(u *DirUser, policy UnmatchedPolicy) resolution {
	var deactivated, first string
	n := 1 + len(u.AltEmails)
	for i := 0; i < n; i++ {
		e := emailAt(u, i)
		if e == "" {
			continue
		}
		if first == "" {
			first = e
		}
		m, ok := id.byEmail[e]
		if !ok {
			continue
		}
		if !usable(m) {
			if deactivated == "" {
				deactivated = e
			}
			continue
		}
		return resolution{uuid: m.UserUUID}
	}
	if deactivated != "" {
		return resolution{reason: "Lightdash user " + deactivated + " is deactivated"}
	}
	if first == "" {
		return resolution{reason: "directory user has no email"}
	}
	if policy == UnmatchedInvite {
		return resolution{reason: "no Lightdash user; invited", invite: first}
	}
	return resolution{reason: "no Lightdash user with this email"}
}
