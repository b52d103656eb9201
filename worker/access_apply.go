package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// errNoAccessAPI: the mapping grants access but the Lightdash client given
// to the worker cannot read or write it.
var errNoAccessAPI = errors.New("the mapping grants project or space access, but the Lightdash client does not implement worker.AccessAPI")

// accessAPI returns ld's access methods, or nil. The run's wrappers
// (counted, reporting) are looked through to the client they wrap.
func accessAPI(ld Lightdash) AccessAPI {
	for {
		switch w := ld.(type) {
		case *counted:
			ld = w.ld
		case *reporting:
			ld = w.Lightdash
		default:
			a, _ := ld.(AccessAPI)
			return a
		}
	}
}

// readAccessFor reads the access the mapping names through ld (counted
// per call); nil when the mapping grants none.
func (w *Worker) readAccessFor(ctx context.Context, ld Lightdash) (*AccessCurrent, error) {
	refs, spaces := w.mapper.AccessRefs()
	if len(refs) == 0 && len(spaces) == 0 {
		return nil, nil
	}
	api := accessAPI(ld)
	if api == nil {
		return nil, errNoAccessAPI
	}
	if c, ok := ld.(*counted); ok {
		api = &countedAccess{AccessAPI: api, n: c}
	}
	return readAccess(ctx, api, refs, spaces, w.opts.Concurrency)
}

// countedAccess counts access calls in the run's counter.
type countedAccess struct {
	AccessAPI
	n *counted
}

func (c *countedAccess) ListProjects(ctx context.Context) ([]lightdash.Project, error) {
	c.n.n.Add(1)
	return c.AccessAPI.ListProjects(ctx)
}

func (c *countedAccess) ProjectGroupGrants(ctx context.Context, p string) ([]lightdash.ProjectGrant, error) {
	c.n.n.Add(1)
	return c.AccessAPI.ProjectGroupGrants(ctx, p)
}

func (c *countedAccess) ListSpaces(ctx context.Context, p string) ([]lightdash.Space, error) {
	c.n.n.Add(1)
	return c.AccessAPI.ListSpaces(ctx, p)
}

func (c *countedAccess) SpaceGroupShares(ctx context.Context, p, s string) ([]lightdash.SpaceShare, error) {
	c.n.n.Add(1)
	return c.AccessAPI.SpaceGroupShares(ctx, p, s)
}

// write makes one access change: one call.
func (ch AccessChangeItem) write(ctx context.Context, api AccessAPI, group string) error {
	switch {
	case ch.Space == "" && ch.Op == AccessRevoke:
		return api.RevokeProjectGroupRole(ctx, ch.Project, group)
	case ch.Space == "":
		return api.SetProjectGroupRole(ctx, ch.Project, group, ch.Role)
	case ch.Op == AccessRevoke:
		return api.UnshareSpace(ctx, ch.Project, ch.Space, group)
	}
	return api.ShareSpace(ctx, ch.Project, ch.Space, group, ch.Role)
}

// access applies one access change to a group the state still says is
// owned (for a group this plan created, under the uuid its create
// recorded). A revoke is reserved against the safety limits first.
func (a *applier) access(ctx context.Context, ch AccessChangeItem) {
	api := accessAPI(a.ld)
	if api == nil {
		a.fail(ch.Key, ch.Group, "access", errNoAccessAPI)
		return
	}
	uuid := ch.GroupUUID
	if !a.owns(func(st *State) bool {
		o := st.Groups[ch.Key]
		if o == nil || o.Creating() || uuid != "" && o.UUID != uuid {
			return false
		}
		uuid = o.UUID
		return true
	}) {
		a.fail(ch.Key, ch.Group, "access", errOwnership)
		return
	}
	var at time.Time
	if ch.Op == AccessRevoke {
		var err error
		if at, err = a.reserve(ctx, 0, 1); errors.Is(err, errOverBudget) {
			a.overBudget(ch.Key, ch.Group, "revoke-access", 1)
			return
		} else if err != nil {
			a.fail(ch.Key, ch.Group, "access", err)
			return
		}
	}
	if c, ok := a.ld.(*counted); ok {
		c.n.Add(1)
	}
	if err := ch.write(ctx, api, uuid); err != nil {
		if ch.Op == AccessRevoke {
			a.refundIfRefused(err, at, 0, 1)
		}
		if errors.Is(err, lightdash.ErrNotFound) {
			a.stale.Store(true)
		}
		a.fail(ch.Key, ch.Group, "access", fmt.Errorf("%s %s: %w", ch.Op, describeTarget(ch), err))
		return
	}
	ch.GroupUUID = uuid
	a.accessDone(ctx, ch)
}

// accessDone counts a made change and, in preserve-manual mode, records
// which grants are lightdash-sync's.
func (a *applier) accessDone(ctx context.Context, ch AccessChangeItem) {
	a.mu.Lock()
	a.res.accessMade = append(a.res.accessMade, ch)
	a.mu.Unlock()
	a.count(func(s *Summary) {
		switch ch.Op {
		case AccessGrant:
			s.AccessGranted++
		case AccessChange:
			s.AccessChanged++
		default:
			s.AccessRevoked++
		}
	})
	a.w.log.Info("access changed", zap.String("group", ch.Group), zap.String("op", ch.Op), zap.String("target", describeTarget(ch)),
		zap.String("role", ch.Role), zap.String("oldRole", ch.OldRole))
	if a.w.opts.mayRevokeManual() {
		return
	}
	ref := ch.grantRef()
	if err := a.record(ctx, func(st *State) {
		if o := st.Groups[ch.Key]; o != nil {
			o.Granted = slices.DeleteFunc(o.Granted, func(r string) bool { return r == ref })
			if ch.Op != AccessRevoke {
				o.Granted = append(o.Granted, ref)
			}
		}
	}); err != nil {
		a.fail(ch.Key, ch.Group, "state", err)
	}
}

// describeTarget names an access change's project or space for logs.
func describeTarget(ch AccessChangeItem) string {
	if ch.Space != "" {
		return fmt.Sprintf("space %q (%s) of project %q", ch.SpaceName, ch.Space, ch.ProjectName)
	}
	return fmt.Sprintf("project %q (%s)", ch.ProjectName, ch.Project)
}
