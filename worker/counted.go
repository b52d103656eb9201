package worker

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// counted wraps the Lightdash API for one run and counts its calls, so
// that Summary.APICalls is right even when several ReconcileGroups run at
// once on one client (a client-wide request counter would mix their
// calls). A call retried inside the client counts once.
type counted struct {
	ld Lightdash
	n  atomic.Int64
}

func (c *counted) calls() int64 { return c.n.Load() }

func (c *counted) WhoAmI(ctx context.Context) (*lightdash.User, error) {
	c.n.Add(1)
	return c.ld.WhoAmI(ctx)
}

func (c *counted) GroupsEnabled(ctx context.Context) (bool, error) {
	c.n.Add(1)
	return c.ld.GroupsEnabled(ctx)
}

// ListUsers counts each page the client reads (lightdash.CountCalls), or
// one call for an implementation that does not count.
func (c *counted) ListUsers(ctx context.Context) ([]lightdash.OrgMember, error) {
	var n atomic.Int64
	users, err := c.ld.ListUsers(lightdash.CountCalls(ctx, &n))
	c.n.Add(max(n.Load(), 1))
	return users, err
}

func (c *counted) ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error) {
	c.n.Add(1)
	return c.ld.ListGroups(ctx)
}

func (c *counted) CreateGroup(ctx context.Context, name string, memberUUIDs []string) (*lightdash.CreatedGroup, error) {
	c.n.Add(1)
	return c.ld.CreateGroup(ctx, name, memberUUIDs)
}

func (c *counted) UpdateGroup(ctx context.Context, uuid string, u lightdash.GroupUpdate) (*lightdash.GroupWithMembers, error) {
	c.n.Add(1)
	return c.ld.UpdateGroup(ctx, uuid, u)
}

func (c *counted) DeleteGroup(ctx context.Context, uuid string) error {
	c.n.Add(1)
	return c.ld.DeleteGroup(ctx, uuid)
}

func (c *counted) AddMember(ctx context.Context, groupUUID, userUUID string) (bool, error) {
	c.n.Add(1)
	return c.ld.AddMember(ctx, groupUUID, userUUID)
}

func (c *counted) RemoveMember(ctx context.Context, groupUUID, userUUID string) (bool, error) {
	c.n.Add(1)
	return c.ld.RemoveMember(ctx, groupUUID, userUUID)
}

func (c *counted) CreateInviteLink(ctx context.Context, email string, expiresAt time.Time) (*lightdash.InviteLink, error) {
	c.n.Add(1)
	return c.ld.CreateInviteLink(ctx, email, expiresAt)
}
