package worker

import (
	"fmt"
	"slices"
)

// The operations of an AccessChange.
const (
	AccessGrant  = "grant"  // the group gets a role it does not have
	AccessChange = "change" // the group's role changes
	AccessRevoke = "revoke" // the group loses its role
)

// AccessChangeItem is one write of a group's access: a project role (Space
// empty) or a space share. One Lightdash call each.
type AccessChangeItem struct {
	Key   string `json:"key"`
	Group string `json:"group"`
	// GroupUUID is empty for a group this plan creates: Apply takes the
	// uuid its create recorded.
	GroupUUID   string `json:"groupUuid,omitempty"`
	Op          string `json:"op"`
	Project     string `json:"project"`
	ProjectName string `json:"projectName"`
	Space       string `json:"space,omitempty"`
	SpaceName   string `json:"spaceName,omitempty"`
	Role        string `json:"role,omitempty"`
	OldRole     string `json:"oldRole,omitempty"`
	Reason      string `json:"reason"`
}

// grantRef is how the state records a grant lightdash-sync made (for
// preserve-manual): "project:<uuid>" or "space:<uuid>".
func (c AccessChangeItem) grantRef() string {
	if c.Space != "" {
		return "space:" + c.Space
	}
	return "project:" + c.Project
}

// target is one project or space an access change is about.
type target struct {
	project, projectName, space, spaceName string
}

func (t target) ref() string {
	if t.space != "" {
		return "space:" + t.space
	}
	return "project:" + t.project
}

// accessPlanner plans the access of the candidates: what they should have
// on the projects and spaces the mapping names, against what they have.
type accessPlanner struct {
	pl      *planner
	cur     *AccessCurrent
	managed []target // every project and space the mapping names that resolved
	seen    map[string]bool
	have    map[string]map[string]string // group uuid → target ref → role
}

// access plans every candidate's grants; a nil Current.Access (an event,
// or no access configured) plans none.
//
// The projects and spaces managed are those read: every one the mapping
// names (readAccess). Access elsewhere is never looked at.
func (pl *planner) access(cur *AccessCurrent) {
	if cur == nil {
		return
	}
	ap := &accessPlanner{pl: pl, cur: cur, seen: map[string]bool{}, have: cur.byGroup()}
	for _, p := range cur.Projects {
		if _, read := cur.Grants[p.ProjectUUID]; read {
			ap.manage(target{project: p.ProjectUUID, projectName: p.Name})
		}
		for _, s := range cur.Spaces[p.ProjectUUID] {
			if _, read := cur.Shares[s.UUID]; read {
				ap.manage(target{project: p.ProjectUUID, projectName: p.Name, space: s.UUID, spaceName: s.Name})
			}
		}
	}
	problems := map[string]bool{}
	for _, c := range pl.cands {
		for _, why := range ap.candidate(c) {
			if !problems[c.dg.Key+why] {
				problems[c.dg.Key+why] = true
				pl.p.Problems = append(pl.p.Problems, Problem{Key: c.dg.Key, Name: c.dg.Name, Reason: why})
			}
		}
	}
}

func (ap *accessPlanner) manage(t target) {
	if !ap.seen[t.ref()] {
		ap.seen[t.ref()] = true
		ap.managed = append(ap.managed, t)
	}
}

func (ap *accessPlanner) resolveSpace(ref WantSpace) (target, string) {
	p, why := resolveProject(ap.cur.Projects, ref.Project)
	if why != "" {
		return target{}, why
	}
	s, why := resolveSpace(ap.cur.Spaces[p.ProjectUUID], ref.Space)
	if why != "" {
		return target{}, fmt.Sprintf("project %q: %s", p.Name, why)
	}
	return target{project: p.ProjectUUID, projectName: p.Name, space: s.UUID, spaceName: s.Name}, ""
}

// candidate plans one group's changes and returns the refs it could not
// resolve. Existing groups change only under a policy that updates them;
// a group with held access is left as it is.
func (ap *accessPlanner) candidate(c *candidate) (problems []string) {
	pl := ap.pl
	if c.dg.AccessHeld != "" || c.create == nil && (c.upd == nil || !pl.opts.mayUpdate()) {
		return nil
	}
	want := map[string]string{}
	for _, p := range c.dg.Access.projectsOrNil() {
		pr, why := resolveProject(ap.cur.Projects, p.Project)
		if why != "" {
			problems = append(problems, "project access: "+why)
			continue
		}
		want["project:"+pr.ProjectUUID] = p.Role
	}
	for _, s := range c.dg.Access.spacesOrNil() {
		t, why := ap.resolveSpace(s)
		if why != "" {
			problems = append(problems, "space access: "+why)
			continue
		}
		want[t.ref()] = s.Role
	}
	var have map[string]string
	uuid := ""
	if c.upd != nil {
		uuid = c.upd.UUID
		have = ap.have[uuid]
	}
	for _, t := range ap.managed {
		ap.diff(c, uuid, t, want[t.ref()], have[t.ref()])
	}
	return problems
}

// diff plans one group's access to one project or space.
func (ap *accessPlanner) diff(c *candidate, uuid string, t target, want, have string) {
	pl := ap.pl
	ch := AccessChangeItem{Key: c.dg.Key, Group: c.dg.Name, GroupUUID: uuid, Project: t.project, ProjectName: t.projectName,
		Space: t.space, SpaceName: t.spaceName, Role: want, OldRole: have}
	switch {
	case want == have:
		return
	case want != "" && have == "":
		ch.Op, ch.Reason = AccessGrant, "the mapping grants it"
	case want != "":
		ch.Op, ch.Reason = AccessChange, fmt.Sprintf("the mapping gives %s, Lightdash has %s", want, have)
	case !pl.opts.mayDelete(), pl.d.Partial:
		return
	case !pl.opts.mayRevokeManual() && !slices.Contains(pl.st.Groups[c.dg.Key].grantedOrNil(), t.ref()):
		return
	case !pl.d.Complete:
		pl.p.HeldBack = append(pl.p.HeldBack, HeldBack{Key: c.dg.Key, UUID: uuid, Name: c.dg.Name, Kind: "revoke-access",
			Members: []string{t.ref()}, Reason: "directory read incomplete: " + pl.d.IncompleteReason})
		return
	default:
		ch.Op, ch.Reason, ch.Role = AccessRevoke, "the mapping does not grant it", ""
	}
	pl.accessChanges = append(pl.accessChanges, ch)
}

func (a *GroupAccess) projectsOrNil() []WantProject {
	if a == nil {
		return nil
	}
	return a.Projects
}

func (a *GroupAccess) spacesOrNil() []WantSpace {
	if a == nil {
		return nil
	}
	return a.Spaces
}

func (o *OwnedGroup) grantedOrNil() []string {
	if o == nil {
		return nil
	}
	return o.Granted
}

// revokes counts the access revokes planned: each counts as one removal
// against the safety limits.
func (pl *planner) revokes() int {
	n := 0
	for _, ch := range pl.accessChanges {
		if ch.Op == AccessRevoke {
			n++
		}
	}
	return n
}

// holdRevokes moves the planned revokes to HeldBack.
func (pl *planner) holdRevokes(why string) {
	kept := pl.accessChanges[:0]
	for _, ch := range pl.accessChanges {
		if ch.Op != AccessRevoke {
			kept = append(kept, ch)
			continue
		}
		pl.p.HeldBack = append(pl.p.HeldBack, HeldBack{Key: ch.Key, UUID: ch.GroupUUID, Name: ch.Group, Kind: "revoke-access",
			Members: []string{ch.grantRef()}, Reason: why})
	}
	pl.accessChanges = kept
}
