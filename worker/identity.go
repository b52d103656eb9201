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
	known   map[string]bool // every org member uuid
}

func newIdentities(users []lightdash.OrgMember) *identities {
	id := &identities{byEmail: map[string]lightdash.OrgMember{}, known: map[string]bool{}}
	for _, u := range users {
		id.known[u.UserUUID] = true
		e := normEmail(u.Email)
		if e == "" {
			continue
		}
		if old, dup := id.byEmail[e]; dup && usable(old) && !usable(u) {
			continue // prefer the usable account if Lightdash somehow has two
		}
		id.byEmail[e] = u
	}
	return id
}

func usable(u lightdash.OrgMember) bool { return u.IsActive || u.IsPending }

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// resolution is the outcome for one directory user.
type resolution struct {
	uuid   string // set when the user goes into groups
	reason string // set when not
	invite string // the email to invite, under the invite policy
}

func (id *identities) resolve(u DirUser, policy UnmatchedPolicy) resolution {
	var deactivated string
	for _, e := range append([]string{u.Email}, u.AltEmails...) {
		e = normEmail(e)
		if e == "" {
			continue
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
	first := ""
	for _, e := range append([]string{u.Email}, u.AltEmails...) {
		if e = normEmail(e); e != "" {
			first = e
			break
		}
	}
	if first == "" {
		return resolution{reason: "directory user has no email"}
	}
	if policy == UnmatchedInvite {
		return resolution{reason: "no Lightdash user; invited", invite: first}
	}
	return resolution{reason: "no Lightdash user with this email"}
}
