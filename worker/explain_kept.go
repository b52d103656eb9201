package worker

import (
	"maps"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// keptAccess is the part of a read of access that explaining uses: the
// grants and shares without the group names, one string per role and
// per group uuid.
func keptAccess(a *AccessCurrent) *AccessCurrent {
	if a == nil {
		return nil
	}
	seen := map[string]string{}
	intern := func(v string) string {
		if s, ok := seen[v]; ok {
			return s
		}
		seen[v] = v
		return v
	}
	out := &AccessCurrent{Projects: a.Projects, Spaces: a.Spaces, Grants: make(map[string][]lightdash.ProjectGrant, len(a.Grants)),
		Shares: make(map[string][]lightdash.SpaceShare, len(a.Shares))}
	for p, gs := range a.Grants {
		kept := make([]lightdash.ProjectGrant, len(gs))
		for i, g := range gs {
			kept[i] = lightdash.ProjectGrant{ProjectUUID: p, GroupUUID: intern(g.GroupUUID), Role: intern(g.Role)}
		}
		out.Grants[p] = kept
	}
	for s, shares := range a.Shares {
		kept := make([]lightdash.SpaceShare, len(shares))
		for i, sh := range shares {
			kept[i] = lightdash.SpaceShare{GroupUUID: intern(sh.GroupUUID), SpaceRole: intern(sh.SpaceRole)}
		}
		out.Shares[s] = kept
	}
	return out
}

// keepApplied folds the access changes a full run made into what
// keepLast kept, so /explain shows them as made rather than pending.
func (w *Worker) keepApplied(made []AccessChangeItem) {
	last := w.last.Load()
	if last == nil || last.access == nil || len(made) == 0 {
		return
	}
	done := map[string]bool{}
	for _, ch := range made {
		done[ch.Key+"\x00"+ch.grantRef()] = true
	}
	f := *last.findings
	f.Access = nil
	for _, ch := range last.findings.Access {
		if !done[ch.Key+"\x00"+ch.grantRef()] {
			f.Access = append(f.Access, ch)
		}
	}
	w.last.Store(&lastRead{snaps: last.snaps, findings: &f, access: last.access.withApplied(made)})
}

// withApplied returns a with the changes made (each with its group's
// uuid) applied: the grants of the projects and spaces they touch are
// copied once each, the rest shared.
func (a *AccessCurrent) withApplied(made []AccessChangeItem) *AccessCurrent {
	out := &AccessCurrent{Projects: a.Projects, Spaces: a.Spaces, Grants: maps.Clone(a.Grants), Shares: maps.Clone(a.Shares)}
	byTarget := map[string]map[string]string{} // ref → group uuid → role, "" revoked
	for _, ch := range made {
		t := byTarget[ch.grantRef()]
		if t == nil {
			t = map[string]string{}
			byTarget[ch.grantRef()] = t
		}
		t[ch.GroupUUID] = ch.Role
	}
	for ref, set := range byTarget {
		id := uuidOf(ref)
		if kindOf(ref) == "space" {
			var shares []lightdash.SpaceShare
			for _, sh := range out.Shares[id] {
				if _, changed := set[sh.GroupUUID]; !changed {
					shares = append(shares, sh)
				}
			}
			for g, r := range set {
				if r != "" {
					shares = append(shares, lightdash.SpaceShare{GroupUUID: g, SpaceRole: r})
				}
			}
			out.Shares[id] = shares
			continue
		}
		var grants []lightdash.ProjectGrant
		for _, gr := range out.Grants[id] {
			if _, changed := set[gr.GroupUUID]; !changed {
				grants = append(grants, gr)
			}
		}
		for g, r := range set {
			if r != "" {
				grants = append(grants, lightdash.ProjectGrant{ProjectUUID: id, GroupUUID: g, Role: r})
			}
		}
		out.Grants[id] = grants
	}
	return out
}
