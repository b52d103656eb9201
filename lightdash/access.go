package lightdash

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// ProjectRoles are Lightdash's system project roles, least to most power.
var ProjectRoles = []string{"viewer", "interactive_viewer", "editor", "developer", "admin"}

// SpaceRoles are the roles a group may hold on a space.
var SpaceRoles = []string{"viewer", "editor", "admin"}

// The endpoints of group access. Project roles use the v2 role assignments,
// which replace the deprecated v1 /groups/{g}/projects/{p} endpoints: the v2
// POST is an upsert, so one call grants or changes a role (docs/architecture.md).
const (
	epOrgProjects     = "/api/v1/org/projects"
	epRoleAssignments = "/api/v2/projects/{projectUuid}/roles/assignments"
	epGroupAssignment = "/api/v2/projects/{projectUuid}/roles/assignments/group/{groupUuid}"
	epSpaces          = "/api/v1/projects/{projectUuid}/spaces"
	epSpace           = "/api/v1/projects/{projectUuid}/spaces/{spaceUuid}"
	epSpaceShare      = "/api/v1/projects/{projectUuid}/spaces/{spaceUuid}/group/share"
	epSpaceUnshare    = "/api/v1/projects/{projectUuid}/spaces/{spaceUuid}/group/share/{groupUuid}"
)

// Project is one project of the organization.
type Project struct {
	ProjectUUID string `json:"projectUuid"`
	Name        string `json:"name"`
	Type        string `json:"type,omitempty"`
}

// ProjectGrant is a group's role on a project.
type ProjectGrant struct {
	ProjectUUID string `json:"projectUuid"`
	GroupUUID   string `json:"groupUuid"`
	GroupName   string `json:"groupName,omitempty"`
	Role        string `json:"role"`
}

// Space is one space of a project.
type Space struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	ProjectUUID string `json:"projectUuid,omitempty"`
}

// SpaceShare is a group's role on a space.
type SpaceShare struct {
	GroupUUID string `json:"groupUuid"`
	GroupName string `json:"groupName,omitempty"`
	SpaceRole string `json:"spaceRole"`
}

type projectList []Project

func (l *projectList) check() error {
	for _, p := range *l {
		if !ValidUUID(p.ProjectUUID) {
			return fmt.Errorf("project uuid %q is not a uuid", clip(p.ProjectUUID, 40))
		}
	}
	return nil
}

// assignment is one v2 role assignment as GET, POST and PATCH answer it.
type assignment struct {
	RoleID       string `json:"roleId"`
	AssigneeType string `json:"assigneeType"`
	AssigneeID   string `json:"assigneeId"`
	AssigneeName string `json:"assigneeName"`
	ProjectID    string `json:"projectId"`
}

type assignmentList []assignment

func (l *assignmentList) check() error {
	for _, a := range *l {
		if a.AssigneeType == "group" && (!ValidUUID(a.AssigneeID) || a.RoleID == "") {
			return fmt.Errorf("group assignment %q without a uuid or role", clip(a.AssigneeID, 40))
		}
	}
	return nil
}

func (a *assignment) check() error {
	if a.AssigneeType != "group" || !ValidUUID(a.AssigneeID) || a.RoleID == "" {
		return fmt.Errorf("not a group role assignment (assigneeType %q)", clip(a.AssigneeType, 20))
	}
	return nil
}

type spaceList []Space

func (l *spaceList) check() error {
	for _, s := range *l {
		if !ValidUUID(s.UUID) {
			return fmt.Errorf("space uuid %q is not a uuid", clip(s.UUID, 40))
		}
	}
	return nil
}

type spaceDetail struct {
	UUID         *string      `json:"uuid"`
	GroupsAccess []SpaceShare `json:"groupsAccess"`
}

func (s *spaceDetail) check() error {
	if s.UUID == nil || !ValidUUID(*s.UUID) {
		return fmt.Errorf("space without a uuid")
	}
	if s.GroupsAccess == nil {
		return fmt.Errorf("space %s without groupsAccess", *s.UUID)
	}
	for _, g := range s.GroupsAccess {
		if !ValidUUID(g.GroupUUID) {
			return fmt.Errorf("space %s: group uuid %q is not a uuid", *s.UUID, clip(g.GroupUUID, 40))
		}
	}
	return nil
}

// ListProjects returns the organization's projects in one call.
func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	var l projectList
	if _, err := c.do(ctx, &request{method: http.MethodGet, endpoint: epOrgProjects, path: epOrgProjects}, &l); err != nil {
		return nil, fmt.Errorf("list lightdash projects: %w", err)
	}
	return l, nil
}

// ProjectGroupGrants returns every group's role on one project in one call
// (the v2 assignments list; user assignments in it are skipped).
func (c *Client) ProjectGroupGrants(ctx context.Context, projectUUID string) ([]ProjectGrant, error) {
	if err := checkUUID("project uuid", projectUUID); err != nil {
		return nil, fmt.Errorf("list lightdash project grants: %w", err)
	}
	var l assignmentList
	req := &request{method: http.MethodGet, endpoint: epRoleAssignments, path: "/api/v2/projects/" + projectUUID + "/roles/assignments"}
	if _, err := c.do(ctx, req, &l); err != nil {
		return nil, fmt.Errorf("list lightdash group grants of project %s: %w", projectUUID, err)
	}
	out := make([]ProjectGrant, 0, len(l))
	for _, a := range l {
		if a.AssigneeType == "group" {
			out = append(out, ProjectGrant{ProjectUUID: projectUUID, GroupUUID: a.AssigneeID, GroupName: a.AssigneeName, Role: a.RoleID})
		}
	}
	return out, nil
}

// SetProjectGroupRole gives a group a role on a project, replacing any role
// it had: one v2 POST, an upsert. The role must be one of ProjectRoles; the
// server answers an unknown one with a bare 500, so it is refused here. A
// 500 (for instance a group deleted meanwhile) is an error, never a grant.
func (c *Client) SetProjectGroupRole(ctx context.Context, projectUUID, groupUUID, role string) error {
	if err := grantArgs(projectUUID, groupUUID, role, ProjectRoles); err != nil {
		return fmt.Errorf("set lightdash project role: %w", err)
	}
	var a assignment
	req := &request{method: http.MethodPost, endpoint: epGroupAssignment,
		path: "/api/v2/projects/" + projectUUID + "/roles/assignments/group/" + groupUUID,
		body: map[string]string{"roleId": role}, recoverCreate: idempotent}
	if _, err := c.do(ctx, req, &a); err != nil {
		return fmt.Errorf("set role %s for lightdash group %s on project %s: %w", role, groupUUID, projectUUID, err)
	}
	if a.RoleID != role || a.AssigneeID != groupUUID {
		return fmt.Errorf("set role %s for lightdash group %s on project %s: %w: answer says role %q for %q",
			role, groupUUID, projectUUID, ErrBadResponse, clip(a.RoleID, 40), clip(a.AssigneeID, 40))
	}
	return nil
}

// RevokeProjectGroupRole removes a group's role on a project. The v2 DELETE
// answers 200 whether or not there was a grant.
func (c *Client) RevokeProjectGroupRole(ctx context.Context, projectUUID, groupUUID string) error {
	if err := grantArgs(projectUUID, groupUUID, "", nil); err != nil {
		return fmt.Errorf("revoke lightdash project role: %w", err)
	}
	req := &request{method: http.MethodDelete, endpoint: epGroupAssignment,
		path: "/api/v2/projects/" + projectUUID + "/roles/assignments/group/" + groupUUID}
	if _, err := c.do(ctx, req, nil); err != nil {
		return fmt.Errorf("revoke role of lightdash group %s on project %s: %w", groupUUID, projectUUID, err)
	}
	return nil
}

// ListSpaces returns a project's spaces in one call.
func (c *Client) ListSpaces(ctx context.Context, projectUUID string) ([]Space, error) {
	if err := checkUUID("project uuid", projectUUID); err != nil {
		return nil, fmt.Errorf("list lightdash spaces: %w", err)
	}
	var l spaceList
	req := &request{method: http.MethodGet, endpoint: epSpaces, path: "/api/v1/projects/" + projectUUID + "/spaces"}
	if _, err := c.do(ctx, req, &l); err != nil {
		return nil, fmt.Errorf("list lightdash spaces of project %s: %w", projectUUID, err)
	}
	return l, nil
}

// SpaceGroupShares returns the groups a space is shared with, in one call.
// Lightdash answers it with every user's access to the space, a cost that
// grows with the organization: it is a slow read (Client.SlowReadTimeout).
func (c *Client) SpaceGroupShares(ctx context.Context, projectUUID, spaceUUID string) ([]SpaceShare, error) {
	if err := spaceArgs(projectUUID, spaceUUID, ""); err != nil {
		return nil, fmt.Errorf("read lightdash space: %w", err)
	}
	var s spaceDetail
	req := &request{method: http.MethodGet, endpoint: epSpace, path: "/api/v1/projects/" + projectUUID + "/spaces/" + spaceUUID, slow: true}
	if _, err := c.do(ctx, req, &s); err != nil {
		return nil, fmt.Errorf("read lightdash space %s: %w", spaceUUID, err)
	}
	return s.GroupsAccess, nil
}

// ShareSpace shares a space with a group at a space role (one of
// SpaceRoles), replacing any role it had: Lightdash's share is an upsert.
func (c *Client) ShareSpace(ctx context.Context, projectUUID, spaceUUID, groupUUID, role string) error {
	if err := spaceArgs(projectUUID, spaceUUID, groupUUID); err != nil {
		return fmt.Errorf("share lightdash space: %w", err)
	}
	if !slices.Contains(SpaceRoles, role) {
		return fmt.Errorf("share lightdash space: %w: space role %q is not one of %v", ErrInvalidParameter, role, SpaceRoles)
	}
	req := &request{method: http.MethodPost, endpoint: epSpaceShare,
		path: "/api/v1/projects/" + projectUUID + "/spaces/" + spaceUUID + "/group/share",
		body: map[string]string{"groupUuid": groupUUID, "spaceRole": role}, recoverCreate: idempotent}
	if _, err := c.do(ctx, req, nil); err != nil {
		return fmt.Errorf("share lightdash space %s with group %s as %s: %w", spaceUUID, groupUUID, role, err)
	}
	return nil
}

// UnshareSpace stops sharing a space with a group (200 even if not shared).
func (c *Client) UnshareSpace(ctx context.Context, projectUUID, spaceUUID, groupUUID string) error {
	if err := spaceArgs(projectUUID, spaceUUID, groupUUID); err != nil {
		return fmt.Errorf("unshare lightdash space: %w", err)
	}
	req := &request{method: http.MethodDelete, endpoint: epSpaceUnshare,
		path: "/api/v1/projects/" + projectUUID + "/spaces/" + spaceUUID + "/group/share/" + groupUUID}
	if _, err := c.do(ctx, req, nil); err != nil {
		return fmt.Errorf("unshare lightdash space %s from group %s: %w", spaceUUID, groupUUID, err)
	}
	return nil
}

// idempotent lets do re-send an upsert after an ambiguous failure: sending
// it twice has the effect of sending it once.
func idempotent(context.Context) (bool, error) { return false, nil }

func grantArgs(projectUUID, groupUUID, role string, roles []string) error {
	if err := checkUUID("project uuid", projectUUID); err != nil {
		return err
	}
	if err := checkUUID("group uuid", groupUUID); err != nil {
		return err
	}
	if roles != nil && !slices.Contains(roles, role) {
		return fmt.Errorf("%w: role %q is not one of %v", ErrInvalidParameter, role, roles)
	}
	return nil
}

func spaceArgs(projectUUID, spaceUUID, groupUUID string) error {
	if err := checkUUID("project uuid", projectUUID); err != nil {
		return err
	}
	if err := checkUUID("space uuid", spaceUUID); err != nil {
		return err
	}
	if groupUUID == "" {
		return nil
	}
	return checkUUID("group uuid", groupUUID)
}
