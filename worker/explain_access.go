package worker

import (
	"fmt"
	"slices"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// access fills the Lightdash groups the person should be in (the desired
// groups holding one of their entries), then those they are in and should
// not be, each with its state and why. r is their resolution.
func (e *explainer) access(r resolution) {
	mine := map[string]bool{}
	for i, u := range e.entries {
		mine[e.sources[i]+"\x00"+u.ID] = true
	}
	byUUID := map[string]*lightdash.GroupWithMembers{}
	byName := map[string]*lightdash.GroupWithMembers{}
	for i := range e.groups {
		g := &e.groups[i]
		byUUID[g.UUID], byName[lightdash.TrimName(g.Name)] = g, g
	}
	listed := map[string]bool{}
	for _, dg := range e.d.Groups {
		if !slices.ContainsFunc(dg.Members, func(m Member) bool { return mine[m.Source+"\x00"+m.ID] }) {
			continue
		}
		g := byName[dg.Name]
		if o := e.st.Groups[dg.Key]; o != nil && byUUID[o.UUID] != nil {
			g = byUUID[o.UUID]
		}
		a := e.wanted(dg, g, r)
		listed[a.UUID] = a.UUID != ""
		e.x.Lightdash = append(e.x.Lightdash, a)
	}
	if r.uuid == "" && e.x.Account.UUID == "" {
		return
	}
	uuid := r.uuid
	if uuid == "" {
		uuid = e.x.Account.UUID // deactivated: still listed in groups
	}
	for i := range e.groups {
		g := &e.groups[i]
		if !listed[g.UUID] && slices.Contains(g.MemberUUIDs, uuid) {
			e.x.Lightdash = append(e.x.Lightdash, e.unwanted(g, uuid))
		}
	}
}

// wanted explains desired group dg, served by Lightdash group g (nil when
// none exists yet), for a person resolved as r.
func (e *explainer) wanted(dg DesiredGroup, g *lightdash.GroupWithMembers, r resolution) ExplainAccess {
	a := ExplainAccess{Name: dg.Name, Key: dg.Key, Should: true}
	if g != nil {
		a.UUID, a.Owned = g.UUID, e.ownerOf[g.UUID] != ""
		// A deactivated account may still be listed in the group.
		a.Now = e.x.Account.UUID != "" && slices.Contains(g.MemberUUIDs, e.x.Account.UUID)
	}
	set := func(state, reason string) ExplainAccess { a.State, a.Reason = state, reason; return a }
	if c, ok := find(e.p.Conflicts, func(c Conflict) bool { return c.Key == dg.Key }); ok {
		return set(AccessConflict, c.Reason)
	}
	switch {
	case r.uuid == "" && a.Now && a.Owned && e.opts.mayUpdate() && e.opts.mayRemoveManual():
		return set(AccessUnmatched, r.reason+"; the next run removes them (membership authoritative)")
	case r.uuid == "":
		return set(AccessUnmatched, r.reason)
	case a.Now:
		return set(AccessOK, "a member, as the directory wants")
	case g == nil:
		return set(AccessAdd, "the group does not exist in Lightdash yet; the next run creates it with them")
	case !e.opts.mayUpdate():
		return set(AccessNotUpdated, fmt.Sprintf("policy %s never changes an existing group", e.opts.Policy))
	}
	return set(AccessAdd, "not a member yet; the next run adds them")
}

// unwanted explains Lightdash group g, which the person (uuid) is in and
// the directory does not put them in.
func (e *explainer) unwanted(g *lightdash.GroupWithMembers, uuid string) ExplainAccess {
	key := e.ownerOf[g.UUID]
	a := ExplainAccess{Name: g.Name, UUID: g.UUID, Key: key, Owned: key != "", Now: true}
	set := func(state, reason string) ExplainAccess { a.State, a.Reason = state, reason; return a }
	if key == "" {
		return set(AccessUnmanaged, "lightdash-sync does not own this group: its members are managed in Lightdash")
	}
	if h, ok := find(e.p.HeldBack, func(h HeldBack) bool {
		return h.Key == key && (h.Kind == "delete" || slices.Contains(h.Members, uuid))
	}); ok {
		return set(AccessHeldBack, fmt.Sprintf("%s held back: %s", heldWhat(h.Kind), h.Reason))
	}
	if ab, ok := find(e.p.Absent, func(ab AbsentGroup) bool { return ab.Key == key }); ok {
		return set(AccessGrace, "its directory group is gone: "+ab.Reason)
	}
	if pr, ok := find(e.p.Problems, func(pr Problem) bool { return pr.Key == key && pr.Blocking }); ok {
		return set(AccessHeld, "the group is left untouched until its mapping problem is fixed: "+pr.Reason)
	}
	wanted := slices.ContainsFunc(e.d.Groups, func(dg DesiredGroup) bool { return dg.Key == key })
	switch {
	case wanted && !e.opts.mayUpdate():
		return set(AccessKept, fmt.Sprintf("not a member in the directory, but policy %s never changes an existing group", e.opts.Policy))
	case wanted && !e.opts.mayRemoveManual() && !slices.Contains(e.st.Groups[key].AddedMembers, uuid):
		return set(AccessManual, "not added by lightdash-sync; membership preserve-manual keeps members added by hand")
	case wanted:
		return set(AccessRemove, "not a member of its directory group (or disabled there); the next run removes them")
	case !e.opts.mayDelete():
		return set(AccessNotDeleted, fmt.Sprintf("its directory group is gone; policy %s never deletes groups", e.opts.Policy))
	}
	return set(AccessDelete, "its directory group is gone; the next run deletes the group")
}

func heldWhat(kind string) string {
	if kind == "delete" {
		return "deletion of the group"
	}
	return "their removal"
}

// find returns the first element of l that f accepts.
func find[T any](l []T, f func(T) bool) (T, bool) {
	for _, v := range l {
		if f(v) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// pending gathers what is held back or waiting for the person: their
// groups' states that a run has yet to settle, an invite, and what holds
// back a whole run (a safety limit, an incomplete read).
func (e *explainer) pending() {
	for _, a := range e.x.Lightdash {
		switch a.State {
		case AccessOK, AccessUnmanaged, AccessManual:
		default:
			e.x.Pending = append(e.x.Pending, ExplainPending{Kind: a.State, Group: a.Name, Reason: a.Reason})
		}
	}
	if inv, ok := find(e.p.Invites, func(i Invite) bool { return normEmail(i.Email) == e.email }); ok {
		e.x.Pending = append(e.x.Pending, ExplainPending{Kind: "invite", Reason: fmt.Sprintf("an invite is planned for %s, for groups %v", inv.Email, inv.Groups)})
	}
	if e.p.Blocked {
		e.x.Pending = append(e.x.Pending, ExplainPending{Kind: "blocked", Reason: "the run is blocked by a safety limit: " + e.p.BlockedReason})
	}
	if !e.d.Complete {
		e.x.Pending = append(e.x.Pending, ExplainPending{Kind: "incomplete-read",
			Reason: "the directory read was incomplete, so no member is removed and no group deleted: " + e.d.IncompleteReason})
	}
	if len(e.x.Directory) == 0 {
		e.x.Notes = append(e.x.Notes, "no directory user in any source has this address (email or alternative email)")
	}
}
