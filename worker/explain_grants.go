package worker

import (
	"fmt"
	"slices"
)

// grantLook is what explaining one group's grants needs: the access read
// and indexed by group, the names of what was read, and the plan's writes.
type grantLook struct {
	cur   *AccessCurrent
	have  map[string]map[string]string // group uuid → target ref → role
	names map[string]string            // target ref → display name
}

// grants fills the project roles and space access that follow from the
// person's Lightdash groups (e.Lightdash), as read and as planned, and
// adds what is pending about them. It reports none when the mapping
// grants no access (no access read).
func (e *explainer) grants() {
	e.x.Grants = []ExplainGrant{}
	if e.read == nil {
		return
	}
	gl := &grantLook{cur: e.read, have: e.read.byGroup(), names: e.read.targetNames()}
	for _, a := range e.x.Lightdash {
		var dg *DesiredGroup
		if a.Should {
			if i := slices.IndexFunc(e.d.Groups, func(g DesiredGroup) bool { return g.Key == a.Key }); i >= 0 {
				dg = &e.d.Groups[i]
			}
		}
		e.x.Grants = append(e.x.Grants, e.groupGrants(gl, a, dg)...)
	}
	for _, g := range e.x.Grants {
		switch g.State {
		case GrantAdd, GrantChange, GrantRevoke, GrantHeldBack, GrantUnresolved, GrantNotUpdated:
			e.x.Pending = append(e.x.Pending, ExplainPending{Kind: "access-" + g.State, Group: g.Group,
				Reason: fmt.Sprintf("%s %s: %s", g.Kind, g.Target, g.Reason)})
		}
	}
}

// groupGrants explains the grants of one of the person's groups: those
// the mapping gives it (dg, nil when they should not be in it) and those
// it has on the projects and spaces read.
func (e *explainer) groupGrants(gl *grantLook, a ExplainAccess, dg *DesiredGroup) []ExplainGrant {
	have := gl.have[a.UUID]
	if a.UUID == "" {
		have = nil
	}
	var out []ExplainGrant
	wanted := map[string]bool{}
	if dg != nil {
		if dg.AccessHeld != "" {
			return e.heldGrants(gl, a, have, dg.AccessHeld)
		}
		for _, w := range e.wantedRefs(gl, dg) {
			wanted[w.ref] = w.ref != ""
			out = append(out, e.wantedGrant(gl, a, w, have[w.ref]))
		}
	}
	for _, ref := range sortedKeys(have) {
		if !wanted[ref] {
			out = append(out, e.unwantedGrant(gl, a, ref, have[ref]))
		}
	}
	return out
}

// wantRef is one grant the mapping gives a group: ref is "" when its
// project or space did not resolve (why says so).
type wantRef struct {
	kind, ref, name, role, why string
}

func (e *explainer) wantedRefs(gl *grantLook, dg *DesiredGroup) []wantRef {
	var out []wantRef
	for _, p := range dg.Access.projectsOrNil() {
		pr, why := resolveProject(gl.cur.Projects, p.Project)
		if why != "" {
			out = append(out, wantRef{kind: "project", name: p.Project, role: p.Role, why: why})
			continue
		}
		out = append(out, wantRef{kind: "project", ref: "project:" + pr.ProjectUUID, name: pr.Name, role: p.Role})
	}
	for _, s := range dg.Access.spacesOrNil() {
		ap := &accessPlanner{cur: gl.cur}
		t, why := ap.resolveSpace(s)
		if why != "" {
			out = append(out, wantRef{kind: "space", name: s.Project + " / " + s.Space, role: s.Role, why: why})
			continue
		}
		out = append(out, wantRef{kind: "space", ref: t.ref(), name: t.projectName + " / " + t.spaceName, role: s.Role})
	}
	return out
}

// wantedGrant explains one grant the mapping gives the group, which has
// role had on it now ("" none).
func (e *explainer) wantedGrant(gl *grantLook, a ExplainAccess, w wantRef, had string) ExplainGrant {
	g := ExplainGrant{Group: a.Name, Kind: w.kind, Target: w.name, UUID: uuidOf(w.ref), Role: w.role,
		Now: a.Now && had != "", Should: true}
	if had != w.role {
		g.Had = had
	}
	set := func(state, reason string) ExplainGrant { g.State, g.Reason = state, reason+joining(a); return g }
	if w.ref == "" {
		g.Now = false
		return set(GrantUnresolved, w.why+"; the group's other grants are planned as usual")
	}
	ch, planned := find(e.p.Access, func(c AccessChangeItem) bool { return c.Key == a.Key && c.grantRef() == w.ref })
	switch {
	case had == w.role:
		return set(GrantOK, fmt.Sprintf("%s on %s through %q, as the mapping wants", w.role, w.name, a.Name))
	case planned && ch.Op == AccessChange:
		return set(GrantChange, fmt.Sprintf("the group has %s; the next run changes it to %s", had, w.role))
	case planned:
		return set(GrantAdd, fmt.Sprintf("the next run grants %s on %s to %q", w.role, w.name, a.Name))
	case a.State == AccessConflict || a.State == AccessHeld:
		return set(GrantNotUpdated, "the group is left untouched: "+a.Reason)
	}
	return set(GrantNotUpdated, fmt.Sprintf("policy %s never changes an existing group's access", e.opts.Policy))
}

// unwantedGrant explains a grant the group has that the person should
// not have through it: the mapping does not give it, or the person is
// leaving the group.
func (e *explainer) unwantedGrant(gl *grantLook, a ExplainAccess, ref, had string) ExplainGrant {
	g := ExplainGrant{Group: a.Name, Kind: kindOf(ref), Target: gl.names[ref], UUID: uuidOf(ref), Role: had, Now: a.Now}
	set := func(state, reason string) ExplainGrant { g.State, g.Reason = state, reason; return g }
	_, revoke := find(e.p.Access, func(c AccessChangeItem) bool { return c.Key == a.Key && c.Op == AccessRevoke && c.grantRef() == ref })
	held, isHeld := find(e.p.HeldBack, func(h HeldBack) bool {
		return h.Key == a.Key && h.Kind == "revoke-access" && slices.Contains(h.Members, ref)
	})
	switch {
	case !a.Should && (a.State == AccessRemove || a.State == AccessDelete):
		return set(GrantLeaving, fmt.Sprintf("through %q, which they are in but should not be (%s: %s)", a.Name, a.State, a.Reason))
	case !a.Should:
		return set(GrantKept, fmt.Sprintf("through %q, which they stay in for now (%s: %s)", a.Name, a.State, a.Reason))
	case !a.Owned && a.UUID != "":
		return set(GrantKept, "lightdash-sync does not own this group: its access is managed in Lightdash")
	case revoke:
		return set(GrantRevoke, fmt.Sprintf("the mapping does not grant it; the next run revokes %s from %q", had, a.Name))
	case isHeld:
		return set(GrantHeldBack, "the revoke is held back: "+held.Reason)
	case !e.opts.mayDelete():
		return set(GrantKept, fmt.Sprintf("the mapping does not grant it, but policy %s never revokes a grant", e.opts.Policy))
	case !e.opts.mayRevokeManual():
		return set(GrantKept, "the mapping does not grant it, but it was not granted by lightdash-sync: access preserve-manual keeps it")
	}
	return set(GrantKept, fmt.Sprintf("the mapping does not grant it, but the group is left as it is (%s)", a.State))
}

// heldGrants explains a group whose access the mapping leaves as it is
// (a role_regex that did not resolve): its grants now, and why.
func (e *explainer) heldGrants(gl *grantLook, a ExplainAccess, have map[string]string, why string) []ExplainGrant {
	var out []ExplainGrant
	for _, ref := range sortedKeys(have) {
		out = append(out, ExplainGrant{Group: a.Name, Kind: kindOf(ref), Target: gl.names[ref], UUID: uuidOf(ref), Role: have[ref],
			Now: a.Now, State: GrantUnresolved, Reason: why})
	}
	if len(out) == 0 {
		out = append(out, ExplainGrant{Group: a.Name, Kind: "project", State: GrantUnresolved, Reason: why})
	}
	return out
}

// joining says when the person gets a grant: once they join the group.
func joining(a ExplainAccess) string {
	if a.Now {
		return ""
	}
	return fmt.Sprintf(" (they are not in %q yet: %s)", a.Name, a.State)
}

func kindOf(ref string) string {
	if len(ref) > 6 && ref[:6] == "space:" {
		return "space"
	}
	return "project"
}

func uuidOf(ref string) string {
	for i := range ref {
		if ref[i] == ':' {
			return ref[i+1:]
		}
	}
	return ""
}

// targetNames names every project and space read: "project:<uuid>" →
// project name, "space:<uuid>" → "project / space".
func (a *AccessCurrent) targetNames() map[string]string {
	out := map[string]string{}
	for _, p := range a.Projects {
		out["project:"+p.ProjectUUID] = p.Name
		for _, s := range a.Spaces[p.ProjectUUID] {
			out["space:"+s.UUID] = p.Name + " / " + s.Name
		}
	}
	return out
}
