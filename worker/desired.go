package worker

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Desired is what the mapping wants Lightdash to hold: the groups with
// their (flattened, enabled) directory members, and the problems that kept
// some directory groups from being sent.
type Desired struct {
	Groups   []DesiredGroup `json:"groups"`
	Problems []Problem      `json:"problems,omitempty"`
	// Complete is true when every snapshot was complete. The planner
	// deletes and removes nothing otherwise.
	Complete         bool   `json:"complete"`
	IncompleteReason string `json:"incompleteReason,omitempty"`
	// Partial is true when only some groups were read (ReconcileGroups):
	// groups missing from it are not absent, just unread.
	Partial bool `json:"partial,omitempty"`
}

// DesiredGroup is one Lightdash group the directory wants.
type DesiredGroup struct {
	// Key is the ownership key: "group:<source>/<id>" for a one-to-one
	// mapping, "target:<name>" for a rule's Target, "name:<name>" for an
	// allowMerge union.
	Key  string `json:"key"`
	Name string `json:"name"`
	// From lists the directory groups that produced it.
	From    []GroupRef `json:"from"`
	Members []Member   `json:"-"`
	// Access is the project roles and space shares the group should have
	// (nil: none configured). AccessHeld says why its access is left as
	// it is this run (a role that could not be taken from a name).
	Access     *GroupAccess `json:"access,omitempty"`
	AccessHeld string       `json:"accessHeld,omitempty"`
}

// GroupRef names a directory group.
type GroupRef struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
}

// Member is an enabled directory user, flattened into a desired group.
//
// It points at the user in the snapshot rather than holding a copy: a full
// mapping has one Member per flattened membership, so copies would be a
// large part of a run's peak memory. The user is shared, so it is read,
// never changed.
type Member struct {
	Source string
	*sources.DirUser
}

// Problem is something the mapping could not do. A Blocking problem keeps
// its group out of the plan entirely: it is neither created, changed nor
// deleted until the problem is fixed.
type Problem struct {
	Key      string `json:"key,omitempty"`
	Source   string `json:"source,omitempty"`
	GroupID  string `json:"groupId,omitempty"`
	Name     string `json:"name,omitempty"`
	Reason   string `json:"reason"`
	Blocking bool   `json:"blocking"`
	// InvalidName is set when the problem is the Lightdash name itself
	// (see invalidName); Name then has the refused characters escaped.
	InvalidName bool `json:"invalidName,omitempty"`
}

// invalidNameProblem reports directory group g, whose Lightdash name is
// invalid for reason. Both names are quoted with refused characters
// escaped, so a log or /status shows them rather than obeying them.
func invalidNameProblem(key, source string, g sources.DirGroup, name, reason string) Problem {
	return Problem{Key: key, Source: source, GroupID: ident.Printable(clipForReport(g.ID)), Name: ident.Printable(clipForReport(name)),
		Reason:   fmt.Sprintf("invalid Lightdash name for directory group %q: %s", clipForReport(g.Name), reason),
		Blocking: true, InvalidName: true}
}

// Map applies the mapping to the snapshots. It does no I/O.
func (m *Mapper) Map(snaps ...*sources.Snapshot) *Desired {
	r := &mapRun{m: m, d: &Desired{Complete: true}, byName: map[string]*mappedGroup{}}
	for _, s := range snaps {
		if s != nil {
			r.snapshot(s)
		}
	}
	sort.Strings(r.order)
	for _, name := range r.order {
		a := r.byName[name]
		if a.blocked {
			r.hold(name, a)
			continue
		}
		a.Members = sortMembers(a.Members, a.merged)
		r.d.Groups = append(r.d.Groups, a.DesiredGroup)
	}
	if !r.d.Complete {
		r.d.IncompleteReason = strings.Join(r.incomplete, "; ")
	}
	return r.d
}

// mapRun is one Map: the desired groups gathered by Lightdash name.
type mapRun struct {
	m          *Mapper
	d          *Desired
	byName     map[string]*mappedGroup
	order      []string // the names, as first met
	incomplete []string // why each incomplete snapshot is
}

// mappedGroup is a desired group while the snapshots are mapped.
type mappedGroup struct {
	DesiredGroup
	keys map[string]bool // one-to-one keys of contributors
	// merged is set when several directory groups feed the group: only
	// then can Members hold one user twice.
	merged  bool
	blocked bool
}

// snapshot maps the groups of one snapshot.
func (r *mapRun) snapshot(s *sources.Snapshot) {
	if !s.Complete {
		r.d.Complete = false
		why := s.IncompleteReason
		if why == "" {
			why = "no reason given"
		}
		r.incomplete = append(r.incomplete, fmt.Sprintf("source %s: %s", s.Source, why))
	}
	fl := newFlattener(s, r.m.maxDepth())
	for _, g := range s.Groups {
		r.group(s.Source, fl, g)
	}
}

// group adds directory group g, with its flattened members, to the
// desired group its Lightdash name names, or reports why it cannot.
func (r *mapRun) group(source string, fl *flattener, g sources.DirGroup) {
	name, key, acc, ok := r.m.nameFor(source, g)
	if !ok {
		return
	}
	if reason := invalidName(name); reason != "" {
		r.d.Problems = append(r.d.Problems, invalidNameProblem(key, source, g, name, reason))
		return
	}
	members, probs, blocking := fl.members(g.ID)
	for _, p := range probs {
		r.d.Problems = append(r.d.Problems, Problem{Key: key, Source: source, GroupID: clipForReport(g.ID), Name: clipForReport(name), Reason: p, Blocking: blocking})
	}
	a := r.gather(name, key, len(members))
	if ga, why := acc.render(g.Name); why != "" {
		a.AccessHeld = why
		r.d.Problems = append(r.d.Problems, Problem{Key: key, Source: source, GroupID: clipForReport(g.ID), Name: clipForReport(name), Reason: why})
	} else {
		a.Access = a.Access.merge(ga)
	}
	a.keys[groupKey(source, g.ID)] = true
	a.From = append(a.From, GroupRef{Source: source, ID: g.ID, Name: g.Name})
	if blocking {
		a.blocked = true
	}
	for _, u := range members {
		a.Members = append(a.Members, Member{Source: source, DirUser: u})
	}
}

// gather returns the desired group called name for key: a new one, or the
// one other directory groups already feed. Fed under different keys, it
// becomes a union keyed "name:<name>", blocked unless allowMerge is on.
func (r *mapRun) gather(name, key string, members int) *mappedGroup {
	a := r.byName[name]
	if a == nil {
		a = &mappedGroup{DesiredGroup: DesiredGroup{Key: key, Name: name, Members: make([]Member, 0, members)},
			keys: map[string]bool{}}
		r.byName[name] = a
		r.order = append(r.order, name)
	} else {
		a.merged = true
	}
	if a.Key != key {
		if !r.m.m.AllowMerge {
			a.blocked = true
		}
		a.Key = "name:" + name
	}
	return a
}

// hold keeps blocked group a out of the plan under every key it might be
// owned under, each named by a blocking problem, and reports directory
// groups that meet under one name without allowMerge.
func (r *mapRun) hold(name string, a *mappedGroup) {
	d := r.d
	if len(a.From) > 1 && !r.m.m.AllowMerge && !strings.HasPrefix(a.Key, "target:") {
		var ids []string
		for _, f := range a.From {
			ids = append(ids, f.Source+"/"+clipForReport(f.ID))
		}
		d.Problems = append(d.Problems, Problem{Key: a.Key, Name: name, Blocking: true,
			Reason: fmt.Sprintf("directory groups %s all map to this name and allowMerge is off", strings.Join(ids, ", "))})
	}
	a.keys[a.Key] = true
	named := map[string]bool{}
	for _, pr := range d.Problems {
		if pr.Blocking {
			named[pr.Key] = true
		}
	}
	for _, k := range sortedKeys(a.keys) {
		if !named[k] {
			d.Problems = append(d.Problems, Problem{Key: k, Name: name, Blocking: true, Reason: "held: see the other problems for " + name})
		}
	}
}

// sortMembers sorts members by source and id. When dedup is set (several
// directory groups fed them), one user met twice is kept once: the last
// met, as the map this replaced kept it.
func sortMembers(ms []Member, dedup bool) []Member {
	slices.SortStableFunc(ms, func(a, b Member) int {
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if !dedup || len(ms) < 2 {
		return ms
	}
	out := ms[:0]
	for i := range ms {
		if i+1 < len(ms) && ms[i+1].Source == ms[i].Source && ms[i+1].ID == ms[i].ID {
			continue
		}
		out = append(out, ms[i])
	}
	clear(ms[len(out):])
	return out
}

// flattener resolves nested groups within one snapshot. Users are known by
// their index in the snapshot, so that a walk marks the users it has seen
// in one reused slice (stamped with the walk's number) rather than a new
// map per group: mapping 10,000 groups used to allocate more than the
// snapshot itself.
type flattener struct {
	s        *sources.Snapshot
	groups   map[string]*sources.DirGroup
	users    map[string]int32 // user id → index in s.Users
	seen     []uint32         // per user index: the walk that last took it
	walk     uint32
	maxDepth int
	complete bool
}

func newFlattener(s *sources.Snapshot, maxDepth int) *flattener {
	f := &flattener{s: s, groups: make(map[string]*sources.DirGroup, len(s.Groups)), users: make(map[string]int32, len(s.Users)),
		seen: make([]uint32, len(s.Users)), maxDepth: maxDepth, complete: s.Complete}
	for i := range s.Groups {
		f.groups[s.Groups[i].ID] = &s.Groups[i]
	}
	for i := range s.Users {
		f.users[s.Users[i].ID] = int32(i)
	}
	return f
}

// members returns the enabled users of group id and every group nested
// below it, each once, pointing into the snapshot. A cycle is reported but
// harmless (each group is visited once); going deeper than maxDepth is
// blocking because members would be missing.
func (f *flattener) members(id string) (users []*sources.DirUser, problems []string, blocking bool) {
	f.walk++
	if f.walk == 0 { // wrapped: forget every old stamp
		clear(f.seen)
		f.walk = 1
	}
	var visited map[string]bool // only for nested groups
	var walk func(gid string, depth int, path []string)
	walk = func(gid string, depth int, path []string) {
		g := f.groups[gid]
		if g == nil {
			if depth > 0 {
				problems = append(problems, fmt.Sprintf("nested group %s is not in the snapshot; its members are left out", gid))
			}
			return
		}
		if users == nil {
			users = make([]*sources.DirUser, 0, len(g.MemberUsers))
		}
		if depth > 0 || len(g.MemberGroups) > 0 { // a lone group needs no map
			if visited == nil {
				visited = map[string]bool{}
			}
			visited[gid] = true
		}
		for _, uid := range g.MemberUsers {
			i, ok := f.users[uid]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("member user %s of group %s is not in the snapshot", uid, gid))
			case f.s.Users[i].Disabled, f.seen[i] == f.walk:
			default:
				f.seen[i] = f.walk
				users = append(users, &f.s.Users[i])
			}
		}
		for _, child := range g.MemberGroups {
			if inPath(path, child) || child == gid {
				problems = append(problems, "nesting cycle: "+f.chain(append(path, gid), child))
				continue
			}
			if visited[child] {
				continue
			}
			if depth+1 > f.maxDepth {
				blocking = true
				problems = append(problems, fmt.Sprintf("nesting deeper than %d levels at %s; group not synced", f.maxDepth, f.chain([]string{gid}, child)))
				continue
			}
			walk(child, depth+1, append(path, gid))
		}
	}
	walk(id, 0, nil)
	return users, problems, blocking
}

// chain names the groups of path and then last for people: each by name
// and DN (the id when it has no DN), a group named twice the second time
// by name only.
func (f *flattener) chain(path []string, last string) string {
	parts := make([]string, 0, len(path)+1)
	for i, id := range append(path, last) {
		g := f.groups[id]
		switch {
		case g == nil:
			parts = append(parts, "group "+ident.Printable(clipForReport(id)))
		case slices.Contains(path[:min(i, len(path))], id):
			parts = append(parts, strconv.Quote(ident.Printable(clipForReport(g.Name))))
		case g.DN != "":
			parts = append(parts, fmt.Sprintf("%q (%s)", ident.Printable(clipForReport(g.Name)), ident.Printable(g.DN)))
		default:
			parts = append(parts, fmt.Sprintf("%q (id %s)", ident.Printable(clipForReport(g.Name)), ident.Printable(clipForReport(id))))
		}
	}
	return strings.Join(parts, " -> ")
}

func inPath(path []string, id string) bool {
	for _, p := range path {
		if p == id {
			return true
		}
	}
	return false
}
