package lightdash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrBadResponse is a success status whose body is not a usable answer: not
// JSON (a proxy's or login page's HTML), truncated, an error envelope, no
// results, results of the wrong shape, or objects without valid uuids. The
// call fails rather than hand the planner a wrong picture of Lightdash: an
// empty group list read from garbage would look like "every group is gone".
var ErrBadResponse = errors.New("malformed lightdash response")

// checker is implemented by result types that can tell a well-formed
// answer from garbage that happens to decode.
type checker interface {
	check() error
}

// decodeSuccess reads a 2xx body: the envelope {"status":"ok","results":T}
// with non-null results of out's shape, checked when out is a checker.
func decodeSuccess(status int, data []byte, out any) error {
	var env struct {
		Status  string          `json:"status"`
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("%w: status %d with a body that is not a JSON envelope (%s): %w", ErrBadResponse, status, excerpt(data), err)
	}
	switch env.Status {
	case "ok":
	case "error":
		return fmt.Errorf("%w: status %d with an error envelope: %w", ErrBadResponse, status, parseAPIError(status, data))
	default:
		return fmt.Errorf("%w: status %d with envelope status %q, want \"ok\"", ErrBadResponse, status, clip(env.Status, 40))
	}
	if len(env.Results) == 0 || bytes.Equal(env.Results, []byte("null")) {
		return fmt.Errorf("%w: status %d without results", ErrBadResponse, status)
	}
	if err := json.Unmarshal(env.Results, out); err != nil {
		return fmt.Errorf("%w: results: %w", ErrBadResponse, err)
	}
	if c, ok := out.(checker); ok {
		if err := c.check(); err != nil {
			return fmt.Errorf("%w: results: %w", ErrBadResponse, err)
		}
	}
	return nil
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

// page is the results of a list endpoint: GET /api/v1/org/groups
// (groupPage) or GET /api/v1/org/users (userPage). Each item is checked.
type page[T any, PT interface {
	*T
	check() error
}] struct {
	Data *[]T `json:"data"`
}

type (
	groupPage = page[GroupWithMembers, *GroupWithMembers]
	userPage  = page[OrgMember, *OrgMember]
)

func (p *page[T, PT]) check() error {
	if p.Data == nil {
		return errors.New("no data list")
	}
	for i := range *p.Data {
		if err := PT(&(*p.Data)[i]).check(); err != nil {
			return err
		}
	}
	return nil
}
