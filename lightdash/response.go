package lightdash

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrBadResponse is a success status whose body is not a usable answer: not
// JSON (a proxy's or login page's HTML), truncated, an error envelope, no
// results, results of the wrong shape, or objects without valid uuids. The
// call fails rather than hand the planner a wrong picture of Lightdash: an
// empty group list read from garbage would look like "every group is gone".
var ErrBadResponse = errors.New("malformed lightdash response")

// ErrIncompleteList is a list the client could not read whole: an answer
// to a request for the whole list (ListGroups) that says it is one page of
// several or holds fewer items than its total, which also matches
// ErrBadResponse; or users pages that did not add up to the total the
// server reported, in two passes (ListUsers). The client returns no list
// rather than let a missing user or group read as one that is gone.
var ErrIncompleteList = errors.New("incomplete lightdash list")

// checker is implemented by result types that can tell a well-formed
// answer from garbage that happens to decode.
type checker interface {
	check() error
}

// excerpt is a short, printable start of a body for an error message.
func excerpt(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return "empty"
	}
	return fmt.Sprintf("%q", clip(string(bytes.TrimSpace(b)), 60))
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// The checks below reject what would corrupt a plan: an object without a
// valid uuid cannot be addressed, and a list answer without its list is not
// an empty list.

func (g *GroupWithMembers) check() error {
	if !ValidUUID(g.UUID) {
		return fmt.Errorf("group uuid %q is not a uuid", clip(g.UUID, 40))
	}
	for _, u := range g.MemberUUIDs {
		if !ValidUUID(u) {
			return fmt.Errorf("group %s: member uuid %q is not a uuid", g.UUID, clip(u, 40))
		}
	}
	for _, m := range g.Members {
		if !ValidUUID(m.UserUUID) {
			return fmt.Errorf("group %s: member uuid %q is not a uuid", g.UUID, clip(m.UserUUID, 40))
		}
	}
	return nil
}

func (m *OrgMember) check() error {
	if !ValidUUID(m.UserUUID) {
		return fmt.Errorf("user uuid %q is not a uuid", clip(m.UserUUID, 40))
	}
	return nil
}

func (u *User) check() error {
	if !ValidUUID(u.UserUUID) {
		return fmt.Errorf("user uuid %q is not a uuid", clip(u.UserUUID, 40))
	}
	return nil
}

func (l *InviteLink) check() error {
	if !ValidUUID(l.UserUUID) {
		return fmt.Errorf("invited user uuid %q is not a uuid", clip(l.UserUUID, 40))
	}
	return nil
}
