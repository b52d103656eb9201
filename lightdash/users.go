package lightdash

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// WhoAmI returns the token's user, including its role. Callers should refuse
// to plan against Lightdash unless the role is RoleAdmin: a non-admin token
// sees an empty group list, not an error.
func (c *Client) WhoAmI(ctx context.Context) (*User, error) {
	var u User
	if _, err := c.do(ctx, &request{method: http.MethodGet, endpoint: "/api/v1/user", path: "/api/v1/user"}, &u); err != nil {
		return nil, fmt.Errorf("get lightdash user: %w", err)
	}
	return &u, nil
}

// GroupsEnabled reports whether the instance has the user-groups feature
// flag on. When it is off the group list is empty even if groups exist.
func (c *Client) GroupsEnabled(ctx context.Context) (bool, error) {
	const p = "/api/v2/feature-flag/user-groups-enabled"
	var flag struct {
		ID      string `json:"id"`
		Enabled bool   `json:"enabled"`
	}
	if _, err := c.do(ctx, &request{method: http.MethodGet, endpoint: "/api/v2/feature-flag/{featureFlagId}", path: p}, &flag); err != nil {
		return false, fmt.Errorf("get lightdash groups feature flag: %w", err)
	}
	return flag.Enabled, nil
}

// Organization returns the token's organization.
func (c *Client) Organization(ctx context.Context) (*Organization, error) {
	var o Organization
	if _, err := c.do(ctx, &request{method: http.MethodGet, endpoint: "/api/v1/org", path: "/api/v1/org"}, &o); err != nil {
		return nil, fmt.Errorf("get lightdash organization: %w", err)
	}
	return &o, nil
}

// UserByEmail finds an organization user by primary email. Lightdash stores
// emails lowercased and matches exactly, so the address is normalised first
// (ident.NormalizeEmail); one that is not plain ASCII, which Lightdash's
// Unicode lower-casing could turn into someone else's, is refused with
// ErrInvalidParameter. A missing user gives an error matching ErrNotFound.
func (c *Client) UserByEmail(ctx context.Context, email string) (*OrgMember, error) {
	e, err := ident.NormalizeEmail(email)
	if err != nil {
		return nil, fmt.Errorf("find lightdash user %+q: %w: %w", email, err, ErrInvalidParameter)
	}
	if e == "" {
		return nil, fmt.Errorf("find lightdash user: empty email: %w", ErrInvalidParameter)
	}
	var u OrgMember
	req := &request{method: http.MethodGet, endpoint: "/api/v1/org/users/email/{email}", path: "/api/v1/org/users/email/" + url.PathEscape(e)}
	if _, err := c.do(ctx, req, &u); err != nil {
		return nil, fmt.Errorf("find lightdash user %q: %w", e, err)
	}
	return &u, nil
}

// CreateInviteLink invites email into the organization. Lightdash creates a
// pending user at once (InviteLink.UserUUID), who can be put in groups before
// accepting, and emails the invite. It is not retried after an ambiguous
// failure: check with UserByEmail instead.
func (c *Client) CreateInviteLink(ctx context.Context, email string, expiresAt time.Time) (*InviteLink, error) {
	e, err := ident.NormalizeEmail(email)
	if err != nil || e == "" || !strings.Contains(e, "@") {
		return nil, fmt.Errorf("create lightdash invite: email %+q: %w", email, ErrInvalidParameter)
	}
	body := struct {
		Email     string    `json:"email"`
		ExpiresAt time.Time `json:"expiresAt"`
	}{e, expiresAt.UTC()}
	var link InviteLink
	req := &request{method: http.MethodPost, endpoint: "/api/v1/invite-links", path: "/api/v1/invite-links", body: body}
	if _, err := c.do(ctx, req, &link); err != nil {
		return nil, fmt.Errorf("create lightdash invite for %q: %w", e, err)
	}
	return &link, nil
}
