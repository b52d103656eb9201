package worker

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// explainer builds one Explanation from what a plan was computed from and
// the plan's findings. It does no I/O: the one-shot and the daemon differ
// only in where these come from (see Worker.Explain and ExplainLast).
type explainer struct {
	m      *Mapper
	email  string // normalised
	snaps  []*sources.Snapshot
	d      *Desired
	groups []lightdash.GroupWithMembers // Lightdash's groups now
	ids    *identities                  // the Lightdash users known
	st     *State
	p      *Plan          // findings: Conflicts, HeldBack, Absent, Problems, Invites, Blocked, Access
	read   *AccessCurrent // the grants read; nil when the mapping names none
	opts   PlanOptions

	x       *Explanation
	entries []*sources.DirUser
	sources []string // of entries
	ownerOf map[string]string
}

func (e *explainer) build() *Explanation {
	e.x = &Explanation{Email: e.email, Directory: []ExplainEntry{}, Groups: []ExplainGroup{}, Lightdash: []ExplainAccess{}, Pending: []ExplainPending{}}
	e.ownerOf = map[string]string{}
	for k, o := range e.st.Groups {
		if u := o.UUID; u != "" && (e.ownerOf[u] == "" || k < e.ownerOf[u]) {
			e.ownerOf[u] = k
		}
	}
	for _, s := range e.snaps {
		e.directory(s)
	}
	res := e.account()
	e.access(res)
	e.pending()
	e.grants()
	return e.x
}

// directory adds the users of s with the asked address, and their groups.
func (e *explainer) directory(s *sources.Snapshot) {
	var parents map[string][]string
	for i := range s.Users {
		u := &s.Users[i]
		if !e.hasEmail(u) {
			continue
		}
		e.entries, e.sources = append(e.entries, u), append(e.sources, s.Source)
		e.x.Directory = append(e.x.Directory, ExplainEntry{Source: s.Source, ID: u.ID, DN: u.DN, DisplayName: u.DisplayName,
			Email: u.Email, AltEmails: u.AltEmails, Disabled: u.Disabled})
		if u.Disabled {
			e.x.Notes = append(e.x.Notes, fmt.Sprintf("directory user %s/%s is disabled: disabled users are never members of a Lightdash group", s.Source, u.ID))
		}
		if parents == nil {
			parents = parentsOf(s)
		}
		e.memberships(s, u.ID, parents)
	}
}

func (e *explainer) hasEmail(u *sources.DirUser) bool {
	for i := 0; i <= len(u.AltEmails); i++ {
		if emailAt(u, i) == e.email {
			return true
		}
	}
	return false
}

// parentsOf maps each group id of s to the groups it is a direct member of.
func parentsOf(s *sources.Snapshot) map[string][]string {
	p := map[string][]string{}
	for _, g := range s.Groups {
		for _, c := range g.MemberGroups {
			p[c] = append(p[c], g.ID)
		}
	}
	return p
}

// memberships adds every group of s that user uid is in: the direct ones,
// then those reached through nesting, breadth first, so each is shown by
// its shortest path.
func (e *explainer) memberships(s *sources.Snapshot, uid string, parents map[string][]string) {
	byID := make(map[string]*sources.DirGroup, len(s.Groups))
	var queue [][]*sources.DirGroup
	for i := range s.Groups {
		g := &s.Groups[i]
		byID[g.ID] = g
		if slices.Contains(g.MemberUsers, uid) {
			queue = append(queue, []*sources.DirGroup{g})
		}
	}
	sort.Slice(queue, func(i, j int) bool { return queue[i][0].Name < queue[j][0].Name })
	seen := map[string]bool{}
	for _, q := range queue {
		seen[q[0].ID] = true
	}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		e.x.Groups = append(e.x.Groups, e.membership(s.Source, uid, path))
		for _, pid := range parents[path[len(path)-1].ID] {
			if pg := byID[pid]; pg != nil && !seen[pid] {
				seen[pid] = true
				queue = append(queue, append(slices.Clip(path), pg))
			}
		}
	}
}

func (e *explainer) membership(source, uid string, path []*sources.DirGroup) ExplainGroup {
	g := path[len(path)-1]
	eg := ExplainGroup{Source: source, UserID: uid, Group: ref(g), Direct: len(path) == 1, Mapping: e.verdict(source, *g)}
	if len(path) > 1 {
		for _, p := range path {
			eg.Path = append(eg.Path, ref(p))
		}
	}
	return eg
}

func ref(g *sources.DirGroup) ExplainRef { return ExplainRef{ID: g.ID, DN: g.DN, Name: g.Name} }

// verdict is the mapping's decision on g and the problems Map reported
// for the Lightdash group it names.
func (e *explainer) verdict(source string, g sources.DirGroup) MappingVerdict {
	sel := e.m.selectGroup(source, g)
	switch {
	case sel.excluded:
		return MappingVerdict{Verdict: VerdictExcluded, Reason: "listed in mapping.exclude"}
	case sel.by == "":
		return MappingVerdict{Verdict: VerdictNoRule, Reason: "no mapping rule or override selects this group"}
	}
	v := MappingVerdict{Verdict: VerdictMapped, Rule: sel.by, LightdashGroup: sel.name, Key: sel.key}
	var why []string
	for _, pr := range e.d.Problems {
		if pr.Key != sel.key && pr.Key != "name:"+sel.name {
			continue
		}
		why = append(why, pr.Reason)
		switch {
		case pr.InvalidName:
			v.Verdict = VerdictInvalidName
		case pr.Blocking && strings.HasPrefix(pr.Key, "name:") && v.Verdict != VerdictInvalidName:
			v.Verdict = VerdictCollision
		case pr.Blocking && v.Verdict == VerdictMapped:
			v.Verdict = VerdictHeld
		}
	}
	v.Reason = strings.Join(why, "; ")
	return v
}

// account resolves the person as the planner does (identities.resolve),
// from their first enabled directory entry, or the address alone.
func (e *explainer) account() resolution {
	u := &sources.DirUser{Email: e.email}
	if len(e.entries) > 0 {
		u = e.entries[0]
	}
	for _, en := range e.entries {
		if !en.Disabled {
			u = en
			break
		}
	}
	r := e.ids.resolve(u, e.opts.Unmatched)
	a := ExplainAccount{Status: AccountNone, Detail: r.reason}
	if m := e.member(u, r.uuid); m != nil {
		a = ExplainAccount{Status: AccountActive, UUID: m.UserUUID, Email: m.Email, Role: string(m.Role), Detail: r.reason}
		switch {
		case m.IsPending:
			a.Status, a.Detail = AccountPending, "invited, never logged in: a member of their groups, with access from the first login"
		case !m.IsActive:
			a.Status = AccountDeactivated
			a.Detail += ": put in no group, and removed from owned groups in authoritative mode"
		}
	}
	if a.Status == AccountNone {
		a.Detail = fmt.Sprintf("%s; identity.unmatched is %q: %s", r.reason, e.opts.Unmatched, unmatchedDoes(e.opts.Unmatched))
	}
	e.x.Account = a
	return r
}

func unmatchedDoes(p UnmatchedPolicy) string {
	if p == UnmatchedInvite {
		return "an invite link is created (a pending Lightdash user) and they join their groups at once"
	}
	return "they are reported as unmatched (plan, /status) at every run and join their groups once they have an account"
}

// member returns the Lightdash user u resolves to: the one with uuid, or
// else the first of u's addresses Lightdash knows (a deactivated user).
func (e *explainer) member(u *sources.DirUser, uuid string) *lightdash.OrgMember {
	var first *lightdash.OrgMember
	for i := 0; i <= len(u.AltEmails); i++ {
		j, ok := e.ids.byEmail[emailAt(u, i)]
		if !ok {
			continue
		}
		m := &e.ids.users[j]
		if uuid != "" && m.UserUUID == uuid {
			return m
		}
		if first == nil {
			first = m
		}
	}
	if uuid != "" {
		return nil
	}
	return first
}
