package worker

import (
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// identities turns directory users into Lightdash user uuids by email.
//
// Emails compare as ident.NormalizeEmail has them: ASCII letters
// case-insensitively (Lightdash stores them lowercased), and an address
// that is not plain ASCII matches no one, so a lookalike such as
// "\u212Aate@" (KELVIN SIGN) is never taken for kate@. Email is tried
// first, then AltEmails in order. Lightdash users are
// treated so:
//   - pending (invited, never logged in): a valid member, since Lightdash
//     lets a pending user be in groups and they get access on first login;
//   - deactivated (IsActive false, not pending): not added, and reported,
//     since adding them grants nothing and hides a directory/Lightdash
//     mismatch someone should look at. In authoritative mode a deactivated
//     user already in an owned group is removed like any non-member.
//
// An index is built once per users list and kept in the cached view, so a
// change event does not rebuild it (at directory scale that is most of an
// event's CPU). It is never changed once shared: with adds a copy.
type identities struct {
	users   []lightdash.OrgMember
	byEmail map[string]int32 // normalised email → index in users
}

func newIdentities(users []lightdash.OrgMember) *identities {
	id := &identities{users: users, byEmail: make(map[string]int32, len(users))}
	for i := range users {
		id.index(int32(i))
	}
	return id
}

// index adds users[i] to byEmail.
func (id *identities) index(i int32) {
	u := &id.users[i]
	e := normEmail(u.Email)
	if e == "" {
		return
	}
	if old, dup := id.byEmail[e]; dup && usable(id.users[old]) && !usable(*u) {
		return // prefer the usable account if Lightdash somehow has two
	}
	id.byEmail[e] = i
}

// withAll returns a new index that also holds us (invites' pending
// users); id itself is unchanged, so plans reading it concurrently are not
// disturbed.
func (id *identities) withAll(us []lightdash.OrgMember) *identities {
	n := &identities{users: append(slices.Clip(id.users), us...), byEmail: maps.Clone(id.byEmail)}
	if n.byEmail == nil {
		n.byEmail = map[string]int32{}
	}
	for i := len(id.users); i < len(n.users); i++ {
		n.index(int32(i))
	}
	return n
}

// knows reports whether any Lightdash user, usable or not, has email e
// (normalised).
func (id *identities) knows(e string) bool {
	_, ok := id.byEmail[e]
	return ok
}

func usable(u lightdash.OrgMember) bool { return u.IsActive || u.IsPending }

// normEmail is ident.NormalizeEmail with a refused address as "", which
// matches no one.
func normEmail(e string) string {
	n, err := ident.NormalizeEmail(e)
	if err != nil {
		return ""
	}
	return n
}

// resolution is the outcome for one directory user.
type resolution struct {
	uuid   string // set when the user goes into groups
	reason string // set when not
	invite string // the email to invite, under the invite policy
	// refused is set when an address of the user was refused by
	// ident.NormalizeEmail and none of the others matched.
	refused bool
}

// rawEmailAt returns u's i-th address (Email, then AltEmails) as read;
// it avoids building a slice per member in the planner's hot loop.
func rawEmailAt(u *sources.DirUser, i int) string {
	if i == 0 {
		return u.Email
	}
	return u.AltEmails[i-1]
}

// emailAt is rawEmailAt normalised, "" when refused.
func emailAt(u *sources.DirUser, i int) string { return normEmail(rawEmailAt(u, i)) }

func (id *identities) resolve(u *sources.DirUser, policy UnmatchedPolicy) resolution {
	var deactivated, first, refused string
	n := 1 + len(u.AltEmails)
	for i := 0; i < n; i++ {
		e, err := ident.NormalizeEmail(rawEmailAt(u, i))
		if err != nil {
			if refused == "" {
				refused = fmt.Sprintf("email %+q refused: %v", clipForReport(rawEmailAt(u, i)), err)
			}
			continue
		}
		if e == "" {
			continue
		}
		if first == "" {
			first = e
		}
		i, ok := id.byEmail[e]
		if !ok {
			continue
		}
		m := &id.users[i]
		if !usable(*m) {
			if deactivated == "" {
				deactivated = e
			}
			continue
		}
		return resolution{uuid: m.UserUUID}
	}
	r := unresolved(deactivated, first, policy)
	if refused != "" {
		r.refused = true
		if first == "" {
			r.reason = refused
		} else {
			r.reason += "; " + refused
		}
	}
	return r
}

// unresolved is the outcome for a user none of whose usable addresses
// matched: deactivated and first are the first such addresses, or "".
func unresolved(deactivated, first string, policy UnmatchedPolicy) resolution {
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

// countInvalid counts p's users with a refused email and groups with a
// refused Lightdash name.
func countInvalid(p *Plan) (emails, names int) {
	for _, u := range p.Unmatched {
		if u.InvalidEmail {
			emails++
		}
	}
	for _, pr := range p.Problems {
		if pr.InvalidName {
			names++
		}
	}
	return emails, names
}

// logRefusedEmails logs each user of p with a refused email once; a
// refused group name is logged with the other mapping problems.
func logRefusedEmails(log *zap.Logger, p *Plan) {
	for _, u := range p.Unmatched {
		if u.InvalidEmail {
			log.Warn("directory user's email refused", zap.String("source", u.Source), zap.String("user", u.UserID),
				zap.String("reason", u.Reason), zap.Strings("groups", u.Groups))
		}
	}
}
