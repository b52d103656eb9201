package worker

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// AccessAPI is the part of *lightdash.Client that reads and writes group
// access. The worker needs it only when the mapping grants access.
type AccessAPI interface {
	ListProjects(ctx context.Context) ([]lightdash.Project, error)
	ProjectGroupGrants(ctx context.Context, projectUUID string) ([]lightdash.ProjectGrant, error)
	SetProjectGroupRole(ctx context.Context, projectUUID, groupUUID, role string) error
	RevokeProjectGroupRole(ctx context.Context, projectUUID, groupUUID string) error
	ListSpaces(ctx context.Context, projectUUID string) ([]lightdash.Space, error)
	SpaceGroupShares(ctx context.Context, projectUUID, spaceUUID string) ([]lightdash.SpaceShare, error)
	ShareSpace(ctx context.Context, projectUUID, spaceUUID, groupUUID, role string) error
	UnshareSpace(ctx context.Context, projectUUID, spaceUUID, groupUUID string) error
}

// AccessCurrent is the access Lightdash holds on the projects and spaces
// the mapping names, read once per full run: plain data.
type AccessCurrent struct {
	// Projects are all the organization's projects (names resolve refs).
	Projects []lightdash.Project `json:"projects"`
	// Grants holds, per project uuid the mapping names, its group grants.
	Grants map[string][]lightdash.ProjectGrant `json:"grants"`
	// Spaces holds, per project uuid whose spaces the mapping names, its
	// spaces; Shares, per space uuid the mapping names, its group shares.
	Spaces map[string][]lightdash.Space      `json:"spaces,omitempty"`
	Shares map[string][]lightdash.SpaceShare `json:"shares,omitempty"`
}

// ProjectRolesOf returns a group's roles by project uuid, on the projects read.
func (a *AccessCurrent) ProjectRolesOf(groupUUID string) map[string]string {
	out := map[string]string{}
	for p, gs := range a.Grants {
		for _, g := range gs {
			if g.GroupUUID == groupUUID {
				out[p] = g.Role
			}
		}
	}
	return out
}

// SpaceRolesOf returns a group's space roles by space uuid, on the spaces read.
func (a *AccessCurrent) SpaceRolesOf(groupUUID string) map[string]string {
	out := map[string]string{}
	for s, shares := range a.Shares {
		for _, sh := range shares {
			if sh.GroupUUID == groupUUID {
				out[s] = sh.SpaceRole
			}
		}
	}
	return out
}

// byGroup indexes the grants and shares by group uuid, then by
// "project:<uuid>" or "space:<uuid>": one pass, for planning every group.
func (a *AccessCurrent) byGroup() map[string]map[string]string {
	out := map[string]map[string]string{}
	put := func(group, ref, role string) {
		m := out[group]
		if m == nil {
			m = map[string]string{}
			out[group] = m
		}
		m[ref] = role
	}
	for p, gs := range a.Grants {
		for _, g := range gs {
			put(g.GroupUUID, "project:"+p, g.Role)
		}
	}
	for s, shares := range a.Shares {
		for _, sh := range shares {
			put(sh.GroupUUID, "space:"+s, sh.SpaceRole)
		}
	}
	return out
}

// resolveProject finds a project by uuid or exact name.
func resolveProject(ps []lightdash.Project, ref string) (lightdash.Project, string) {
	var found []lightdash.Project
	for _, p := range ps {
		if p.ProjectUUID == ref {
			return p, ""
		}
		if p.Name == ref {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return lightdash.Project{}, fmt.Sprintf("no Lightdash project is named %q or has that uuid", clipForReport(ref))
	case 1:
		return found[0], ""
	}
	return lightdash.Project{}, fmt.Sprintf("%d Lightdash projects are named %q; name it by uuid", len(found), clipForReport(ref))
}

// resolveSpace finds a space of a project by uuid or exact name.
func resolveSpace(ss []lightdash.Space, ref string) (lightdash.Space, string) {
	var found []lightdash.Space
	for _, s := range ss {
		if s.UUID == ref {
			return s, ""
		}
		if s.Name == ref {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return lightdash.Space{}, fmt.Sprintf("the project has no space named %q or with that uuid", clipForReport(ref))
	case 1:
		return found[0], ""
	}
	return lightdash.Space{}, fmt.Sprintf("%d spaces of the project are named %q; name it by uuid", len(found), clipForReport(ref))
}

// readAccess reads what access planning needs: the projects (one call),
// the group grants of each project the mapping names (one call each), and
// for named spaces their project's space list and each space (one call
// each). Refs that resolve to nothing are not read; the plan reports them.
// Any failure fails the read: an unread project is not one without grants.
func readAccess(ctx context.Context, api AccessAPI, projectRefs []string, spaceRefs []WantSpace, conc int) (*AccessCurrent, error) {
	ps, err := api.ListProjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("list lightdash projects: %w", err)
	}
	cur := &AccessCurrent{Projects: ps, Grants: map[string][]lightdash.ProjectGrant{},
		Spaces: map[string][]lightdash.Space{}, Shares: map[string][]lightdash.SpaceShare{}}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for _, uuid := range resolvedProjects(ps, projectRefs) {
		g.Go(func() error {
			grants, err := api.ProjectGroupGrants(gctx, uuid)
			mu.Lock()
			cur.Grants[uuid] = grants
			mu.Unlock()
			return err
		})
	}
	spaceProjects := resolvedProjects(ps, spaceProjectRefs(spaceRefs))
	for _, uuid := range spaceProjects {
		g.Go(func() error {
			ss, err := api.ListSpaces(gctx, uuid)
			mu.Lock()
			cur.Spaces[uuid] = ss
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("read lightdash access: %w", err)
	}
	// Spaces one at a time: each costs the server in proportion to its users.
	if err := readShares(ctx, api, cur, spaceRefs, 1); err != nil {
		return nil, err
	}
	return cur, nil
}

func spaceProjectRefs(refs []WantSpace) []string {
	var out []string
	for _, s := range refs {
		out = append(out, s.Project)
	}
	return out
}

// resolvedProjects returns the uuids of the refs that name one project.
func resolvedProjects(ps []lightdash.Project, refs []string) []string {
	var out []string
	for _, ref := range refs {
		if p, why := resolveProject(ps, ref); why == "" && !slices.Contains(out, p.ProjectUUID) {
			out = append(out, p.ProjectUUID)
		}
	}
	return out
}

// readShares reads each named space that resolves.
func readShares(ctx context.Context, api AccessAPI, cur *AccessCurrent, refs []WantSpace, conc int) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	seen := map[string]bool{}
	for _, ref := range refs {
		p, why := resolveProject(cur.Projects, ref.Project)
		if why != "" {
			continue
		}
		s, why := resolveSpace(cur.Spaces[p.ProjectUUID], ref.Space)
		if why != "" || seen[s.UUID] {
			continue
		}
		seen[s.UUID] = true
		g.Go(func() error {
			shares, err := api.SpaceGroupShares(gctx, p.ProjectUUID, s.UUID)
			mu.Lock()
			cur.Shares[s.UUID] = shares
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("read lightdash space shares: %w", err)
	}
	return nil
}
