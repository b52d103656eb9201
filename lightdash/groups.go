package lightdash

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

const (
	epOrgGroups   = "/api/v1/org/groups"
	epGroup       = "/api/v1/groups/{groupUuid}"
	epGroupMember = "/api/v1/groups/{groupUuid}/members/{userUuid}"
)

// ListGroups returns every group of the organization with all its members in
// ONE call (includeMembers makes Lightdash attach every member of every group).
// The order is whatever the server gives: none. An empty list from a
// non-admin token or a flag-off instance is not "no groups"; check WhoAmI and
// GroupsEnabled first. With MemberUUIDsOnly set, Members is left nil.
//
// The answer is decoded as it arrives, never held whole (at directory scale
// it is tens of MB), and within it each user's uuid, email and names are
// one shared string however many groups name them; with ShareUUIDs, the
// uuid is the users list's string too.
func (c *Client) ListGroups(ctx context.Context) ([]GroupWithMembers, error) {
	page := groupPage{uuidsOnly: c.MemberUUIDsOnly, uuids: sharedUUIDs(ctx)}
	req := &request{
		method: http.MethodGet, endpoint: epOrgGroups, path: epOrgGroups,
		query: map[string][]string{"includeMembers": {strconv.Itoa(DefaultListLimit)}},
	}
	if _, err := c.do(ctx, req, &page); err != nil {
		return nil, fmt.Errorf("list lightdash groups: %w", err)
	}
	data := *page.Data
	seen := make(map[string]struct{}, len(data))
	out := data[:0]
	for _, g := range data {
		if _, dup := seen[g.UUID]; dup {
			continue
		}
		seen[g.UUID] = struct{}{}
		out = append(out, g)
	}
	return out, nil
}

// CreateGroup creates a group with the given members. The name is trimmed
// and must be 1–255 characters; member uuids are checked and de-duplicated.
// Lightdash silently drops members that are not in the organization; they
// are listed in DroppedMembers.
//
// A create is never re-sent blindly: after a failure that may have taken
// effect (timeout, dropped connection, 502/503/504) the client lists groups
// and, if one with this exact name now exists and the token's user made it,
// returns it instead. One made by someone else fails with ErrAlreadyExists.
func (c *Client) CreateGroup(ctx context.Context, name string, memberUUIDs []string) (*CreatedGroup, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return nil, fmt.Errorf("create lightdash group: %w", err)
	}
	members, err := normalizeMembers(memberUUIDs)
	if err != nil {
		return nil, fmt.Errorf("create lightdash group %q: %w", n, err)
	}
	body := struct {
		Name    string      `json:"name"`
		Members []memberRef `json:"members"`
	}{n, memberRefs(members)}
	var g GroupWithMembers
	req := &request{
		method: http.MethodPost, endpoint: epOrgGroups, path: epOrgGroups, body: body,
		recoverCreate: func(ctx context.Context) (bool, error) {
			groups, err := c.ListGroups(ctx)
			if err != nil {
				return false, err
			}
			for _, found := range groups {
				if found.Name != n {
					continue
				}
				ours, err := c.madeByToken(ctx, found.Group)
				if err != nil {
					return false, err
				}
				if !ours {
					return false, fmt.Errorf("%w: group %s was made by user %q, not by this token's user",
						ErrAlreadyExists, found.UUID, found.CreatedByUserUUID)
				}
				g = found
				return true, nil
			}
			return false, nil
		},
	}
	if _, err := c.do(ctx, req, &g); err != nil {
		return nil, fmt.Errorf("create lightdash group %q: %w", n, err)
	}
	kept := make(map[string]struct{}, len(g.MemberUUIDs))
	for _, u := range g.MemberUUIDs {
		kept[u] = struct{}{}
	}
	cg := &CreatedGroup{GroupWithMembers: g}
	for _, u := range members {
		if _, ok := kept[u]; !ok {
			cg.DroppedMembers = append(cg.DroppedMembers, u)
		}
	}
	return cg, nil
}

// UpdateGroup renames a group and/or replaces its whole member list. Lightdash
// rejects the whole PATCH (rename included) with 400 if any member is unknown
// or listed twice, so members are checked and de-duplicated first; unknown
// users still give an error matching ErrInvalidParameter.
func (c *Client) UpdateGroup(ctx context.Context, uuid string, u GroupUpdate) (*GroupWithMembers, error) {
	if err := checkUUID("group uuid", uuid); err != nil {
		return nil, fmt.Errorf("update lightdash group: %w", err)
	}
	var body struct {
		Name    *string      `json:"name,omitempty"`
		Members *[]memberRef `json:"members,omitempty"`
	}
	if u.Name != nil {
		n, err := NormalizeName(*u.Name)
		if err != nil {
			return nil, fmt.Errorf("update lightdash group %s: %w", uuid, err)
		}
		body.Name = &n
	}
	if u.Members != nil {
		members, err := normalizeMembers(*u.Members)
		if err != nil {
			return nil, fmt.Errorf("update lightdash group %s: %w", uuid, err)
		}
		refs := memberRefs(members)
		body.Members = &refs
	}
	var g GroupWithMembers
	req := &request{method: http.MethodPatch, endpoint: epGroup, path: "/api/v1/groups/" + uuid, body: body}
	if _, err := c.do(ctx, req, &g); err != nil {
		return nil, fmt.Errorf("update lightdash group %s: %w", uuid, err)
	}
	return &g, nil
}

// AddMember adds one user to a group. added is false when Lightdash answered
// 204: the user was already a member, or is not in the organization at all
// (Lightdash does not tell the two apart).
func (c *Client) AddMember(ctx context.Context, groupUUID, userUUID string) (added bool, err error) {
	if err := c.memberArgs(groupUUID, userUUID); err != nil {
		return false, fmt.Errorf("add lightdash group member: %w", err)
	}
	req := &request{method: http.MethodPut, endpoint: epGroupMember, path: "/api/v1/groups/" + groupUUID + "/members/" + userUUID}
	res, err := c.do(ctx, req, nil)
	if err != nil {
		return false, fmt.Errorf("add user %s to lightdash group %s: %w", userUUID, groupUUID, err)
	}
	return res.status == http.StatusCreated, nil
}

// RemoveMember removes one user from a group. removed is false when the user
// was not a member (204).
func (c *Client) RemoveMember(ctx context.Context, groupUUID, userUUID string) (removed bool, err error) {
	if err := c.memberArgs(groupUUID, userUUID); err != nil {
		return false, fmt.Errorf("remove lightdash group member: %w", err)
	}
	req := &request{method: http.MethodDelete, endpoint: epGroupMember, path: "/api/v1/groups/" + groupUUID + "/members/" + userUUID}
	res, err := c.do(ctx, req, nil)
	if err != nil {
		return false, fmt.Errorf("remove user %s from lightdash group %s: %w", userUUID, groupUUID, err)
	}
	return res.status == http.StatusOK, nil
}

func (c *Client) memberArgs(groupUUID, userUUID string) error {
	if err := checkUUID("group uuid", groupUUID); err != nil {
		return err
	}
	return checkUUID("user uuid", userUUID)
}

// DeleteGroup deletes a group. A missing group gives an error matching
// ErrNotFound, except when the 404 answers a retry: then an earlier attempt
// did the delete and the call succeeds.
func (c *Client) DeleteGroup(ctx context.Context, uuid string) error {
	if err := checkUUID("group uuid", uuid); err != nil {
		return fmt.Errorf("delete lightdash group: %w", err)
	}
	req := &request{method: http.MethodDelete, endpoint: epGroup, path: "/api/v1/groups/" + uuid}
	res, err := c.do(ctx, req, nil)
	if err != nil {
		if res.attempts > 1 && errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete lightdash group %s: %w", uuid, err)
	}
	return nil
}

// madeByToken reports whether g was made by the token's user, read once
// per client (WhoAmI) and only when a create must be recovered.
func (c *Client) madeByToken(ctx context.Context, g Group) (bool, error) {
	c.selfMu.Lock()
	defer c.selfMu.Unlock()
	if c.self == "" {
		me, err := c.WhoAmI(ctx)
		if err != nil {
			return false, err
		}
		c.self = me.UserUUID
	}
	return c.self != "" && g.CreatedByUserUUID == c.self, nil
}
