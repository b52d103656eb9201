package lightdash

import "time"

// Role is a Lightdash organization role. Only RoleAdmin may manage groups.
type Role string

// The built-in organization roles (OrganizationMemberRole in the OpenAPI spec).
const (
	RoleMember            Role = "member"
	RoleViewer            Role = "viewer"
	RoleInteractiveViewer Role = "interactive_viewer"
	RoleEditor            Role = "editor"
	RoleDeveloper         Role = "developer"
	RoleAdmin             Role = "admin"
)

// User is the user a token acts as (GET /api/v1/user).
type User struct {
	UserUUID         string `json:"userUuid"`
	Email            string `json:"email"`
	FirstName        string `json:"firstName"`
	LastName         string `json:"lastName"`
	OrganizationUUID string `json:"organizationUuid"`
	Role             Role   `json:"role"`
	IsActive         bool   `json:"isActive"`
}

// Organization is the token's organization (GET /api/v1/org).
type Organization struct {
	OrganizationUUID string `json:"organizationUuid"`
	Name             string `json:"name"`
}

// OrgMember is one user of the organization (OrganizationMemberProfile).
// Pending users (invited, never logged in) have IsPending set; deactivated
// users have IsActive false. Both still have a uuid and can be group members.
type OrgMember struct {
	UserUUID         string `json:"userUuid"`
	FirstName        string `json:"firstName"`
	LastName         string `json:"lastName"`
	Email            string `json:"email"`
	OrganizationUUID string `json:"organizationUuid"`
	Role             Role   `json:"role"`
	IsActive         bool   `json:"isActive"`
	IsInviteExpired  bool   `json:"isInviteExpired"`
	IsPending        bool   `json:"isPending"`
}

// Group is a Lightdash user group without its members.
type Group struct {
	UUID             string    `json:"uuid"`
	Name             string    `json:"name"`
	OrganizationUUID string    `json:"organizationUuid"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	// CreatedByUserUUID is the user who made the group, empty when the
	// server does not say: the proof that a group found after a create whose
	// answer was lost is the one this token made.
	CreatedByUserUUID string `json:"createdByUserUuid"`
}

// GroupMember is a member summary inside a group.
type GroupMember struct {
	UserUUID  string `json:"userUuid"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// GroupWithMembers is a group and its members. MemberUUIDs is always the
// complete list; Members may be paged by the server on single-group reads.
type GroupWithMembers struct {
	Group
	Members     []GroupMember `json:"members"`
	MemberUUIDs []string      `json:"memberUuids"`
}

// CreatedGroup is the result of CreateGroup. Lightdash silently drops member
// uuids that are not members of the organization; DroppedMembers lists the
// uuids that were sent but are absent from the server's answer.
type CreatedGroup struct {
	GroupWithMembers
	DroppedMembers []string
}

// GroupUpdate is a PATCH of a group. A nil field is left unchanged. Members,
// when non-nil, replaces the whole member list (an empty slice empties the group).
type GroupUpdate struct {
	Name    *string
	Members *[]string
}

// InviteLink is the answer to POST /api/v1/invite-links. Creating one makes a
// pending user (UserUUID) that can be placed in groups at once; Lightdash
// also emails the invite.
type InviteLink struct {
	InviteCode       string    `json:"inviteCode"`
	InviteURL        string    `json:"inviteUrl"`
	ExpiresAt        time.Time `json:"expiresAt"`
	OrganizationUUID string    `json:"organizationUuid"`
	UserUUID         string    `json:"userUuid"`
	Email            string    `json:"email"`
}
