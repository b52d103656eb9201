package worker

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

// Lightdash users: uuid "ann" has email ann@x, and so on.
func ldUsers() []lightdash.OrgMember {
	var out []lightdash.OrgMember
	for _, n := range []string{"ann", "bob", "cat", "dan", "eve"} {
		out = append(out, lightdash.OrgMember{UserUUID: n, Email: n + "@x", IsActive: true})
	}
	out = append(out,
		lightdash.OrgMember{UserUUID: "pen", Email: "pen@x", IsActive: true, IsPending: true},
		lightdash.OrgMember{UserUUID: "old", Email: "old@x", IsActive: false},
	)
	return out
}

// dg is a desired group keyed "group:corp/<id>" whose members have the given email local parts.
func dg(id, name string, members ...string) DesiredGroup {
	g := DesiredGroup{Key: "group:corp/" + id, Name: name}
	for _, m := range members {
		g.Members = append(g.Members, Member{Source: "corp", DirUser: &sources.DirUser{ID: "d-" + m, Email: m + "@x"}})
	}
	return g
}

// testSelf is the token's user in the planner tests: lg's groups are its.
const testSelf = "self"

func lg(uuid, name string, members ...string) lightdash.GroupWithMembers {
	return lightdash.GroupWithMembers{Group: lightdash.Group{UUID: uuid, Name: name, CreatedByUserUUID: testSelf}, MemberUUIDs: members}
}

// byOther is g as made by another user (by hand, in Lightdash's UI).
func byOther(g lightdash.GroupWithMembers) lightdash.GroupWithMembers {
	g.CreatedByUserUUID = "someone-else"
	return g
}

func owned(uuid, name string, added ...string) *OwnedGroup {
	return &OwnedGroup{UUID: uuid, Name: name, AddedMembers: added}
}

// spent records earlier runs' spending in s.
func spent(s *State, sp ...Spend) *State {
	s.Spent = sp
	return s
}

func st(groups map[string]*OwnedGroup) *State {
	s := NewState()
	for k, g := range groups {
		s.Groups["group:corp/"+k] = g
	}
	return s
}

// describe renders a plan as sorted lines, the form the table compares.
func describe(p *Plan) []string {
	var out []string
	short := func(k string) string { return strings.TrimPrefix(k, "group:corp/") }
	for _, c := range p.Creates {
		s := fmt.Sprintf("create %s %q %v", short(c.Key), c.Name, c.Members)
		if len(c.Invitees) > 0 {
			s += fmt.Sprintf(" invite%v", c.Invitees)
		}
		out = append(out, s)
	}
	for _, u := range p.Updates {
		s := fmt.Sprintf("update %s %s", short(u.Key), u.UUID)
		if u.NewName != "" {
			s += fmt.Sprintf(" rename %q", u.NewName)
		}
		if len(u.Add) > 0 {
			s += fmt.Sprintf(" +%v", u.Add)
		}
		if len(u.Remove) > 0 {
			s += fmt.Sprintf(" -%v", u.Remove)
		}
		if len(u.Invitees) > 0 {
			s += fmt.Sprintf(" invite%v", u.Invitees)
		}
		if u.Adopt {
			s += " adopt"
			if u.AdoptFrom != "" {
				s += " from " + short(u.AdoptFrom)
			}
		}
		out = append(out, s)
	}
	for _, d := range p.Deletes {
		out = append(out, fmt.Sprintf("delete %s %s", short(d.Key), d.UUID))
	}
	for _, c := range p.Conflicts {
		out = append(out, fmt.Sprintf("conflict %s %q", short(c.Key), c.Name))
	}
	for _, h := range p.HeldBack {
		out = append(out, fmt.Sprintf("held %s %s %v", h.Kind, short(h.Key), h.Members))
	}
	for _, a := range p.Absent {
		out = append(out, fmt.Sprintf("absent %s reads=%d since=%s", short(a.Key), a.Reads, a.Since.Sub(t0)))
	}
	for _, f := range p.Forgets {
		out = append(out, "forget "+short(f.Key))
	}
	for _, k := range p.Reappeared {
		out = append(out, "reappeared "+short(k))
	}
	for _, u := range p.Unmatched {
		out = append(out, fmt.Sprintf("unmatched %s %v", u.Email, u.Groups))
	}
	for _, i := range p.Invites {
		out = append(out, fmt.Sprintf("invite %s %d", i.Email, len(i.Groups)))
	}
	if p.Blocked {
		out = append(out, "blocked")
	}
	sort.Strings(out)
	return out
}

func TestComputePlan(t *testing.T) {
	ago := func(d time.Duration) *time.Time { x := t0.Add(-d); return &x }
	noLimits := PlanOptions{}
	tests := []struct {
		name     string
		desired  []DesiredGroup
		problems []Problem
		groups   []lightdash.GroupWithMembers
		state    *State
		opts     PlanOptions
		mod      func(*Desired)
		want     []string
	}{
		{
			name:    "first run creates with resolved members; unknown email reported",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "BOB", "zed"), dg("g2", "Sales")},
			want: []string{
				`create g1 "Eng" [ann bob]`,
				`create g2 "Sales" []`,
				`unmatched zed@x [Eng]`,
			},
		},
		{
			name:    "in sync: nothing to do",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "bob", "ann")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "bob")}),
			want:    nil,
		},
		{
			name:    "authoritative: add and remove, manual members removed too",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "cat")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "bob", "dan")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "bob")}),
			want:    []string{"update g1 G1 +[cat] -[bob dan]"},
		},
		{
			name:    "preserve-manual: only members the worker added are removed",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "cat")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "bob", "dan")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "bob")}),
			opts:    PlanOptions{Membership: MembershipPreserveManual},
			want:    []string{"update g1 G1 +[cat] -[bob]"},
		},
		{
			name:    "rename in place keeps the uuid",
			desired: []DesiredGroup{dg("g1", "Engineering", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann")}),
			want:    []string{`update g1 G1 rename "Engineering"`},
		},
		{
			name:    "rename onto an unowned group's name is a conflict; members still change",
			desired: []DesiredGroup{dg("g1", "Sales", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann"), lg("X", "Sales")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann")}),
			want:    []string{`conflict g1 "Sales"`, "update g1 G1 +[bob]"},
		},
		{
			name:    "rename onto the name of a group deleted in the same run",
			desired: []DesiredGroup{dg("g1", "Sales", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann"), lg("G2", "Sales")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann"), "g2": owned("G2", "Sales")}),
			opts:    noLimits,
			want:    []string{"delete g2 G2", `update g1 G1 rename "Sales"`},
		},
		{
			name:    "names are case-sensitive: Sales and sales are different groups",
			desired: []DesiredGroup{dg("g1", "sales", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Sales")},
			want:    []string{`create g1 "sales" [ann]`},
		},
		{
			name:   "sync deletes an owned group gone from the directory",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:  st(map[string]*OwnedGroup{"g1": owned("G1", "Eng")}),
			want:   []string{"delete g1 G1"},
		},
		{
			name:   "sync never deletes an unowned group",
			groups: []lightdash.GroupWithMembers{lg("X", "Manual")},
			want:   nil,
		},
		{
			name:   "upsert-only keeps owned groups gone from the directory",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:  st(map[string]*OwnedGroup{"g1": owned("G1", "Eng")}),
			opts:   PlanOptions{Policy: PolicyUpsertOnly},
			want:   nil,
		},
		{
			name:    "upsert-only still updates",
			desired: []DesiredGroup{dg("g1", "Eng2", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann")}),
			opts:    PlanOptions{Policy: PolicyUpsertOnly},
			want:    []string{`update g1 G1 rename "Eng2" +[bob] -[ann]`},
		},
		{
			name:    "create-only creates but leaves existing groups alone",
			desired: []DesiredGroup{dg("g1", "Eng2", "bob"), dg("g2", "New", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann"), lg("G3", "Old")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann"), "g3": owned("G3", "Old")}),
			opts:    PlanOptions{Policy: PolicyCreateOnly},
			want:    []string{`create g2 "New" [ann]`},
		},
		{
			name:    "create-only never adopts",
			desired: []DesiredGroup{dg("g1", "Eng", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Eng")},
			opts:    PlanOptions{Policy: PolicyCreateOnly, Adopt: true},
			want:    []string{`conflict g1 "Eng"`},
		},
		{
			name:    "incomplete read: additions only, removals and deletes held",
			desired: []DesiredGroup{dg("g1", "Eng", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann"), lg("G2", "Gone")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann"), "g2": owned("G2", "Gone")}),
			mod:     func(d *Desired) { d.Complete, d.IncompleteReason = false, "size limit" },
			want:    []string{"held delete g2 []", "held remove-members g1 [ann]", "update g1 G1 +[bob]"},
		},
		{
			name:   "grace period: first absence is recorded, not deleted",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:  st(map[string]*OwnedGroup{"g1": owned("G1", "Eng")}),
			opts:   PlanOptions{Limits: Limits{DeleteGracePeriod: time.Hour}},
			want:   []string{"absent g1 reads=1 since=0s"},
		},
		{
			name:   "grace period over: deleted",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:  st(map[string]*OwnedGroup{"g1": {UUID: "G1", Name: "Eng", AbsentSince: ago(time.Hour), AbsentReads: 1}}),
			opts:   PlanOptions{Limits: Limits{DeleteGracePeriod: time.Hour}},
			want:   []string{"delete g1 G1"},
		},
		{
			name:   "consecutive reads: not yet",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:  st(map[string]*OwnedGroup{"g1": {UUID: "G1", Name: "Eng", AbsentSince: ago(time.Minute), AbsentReads: 1}}),
			opts:   PlanOptions{Limits: Limits{DeleteAfterReads: 3}},
			want:   []string{"absent g1 reads=2 since=-1m0s"},
		},
		{
			name:   "both grace rules must pass",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:  st(map[string]*OwnedGroup{"g1": {UUID: "G1", Name: "Eng", AbsentSince: ago(time.Minute), AbsentReads: 5}}),
			opts:   PlanOptions{Limits: Limits{DeleteAfterReads: 3, DeleteGracePeriod: time.Hour}},
			want:   []string{"absent g1 reads=6 since=-1m0s"},
		},
		{
			name:   "consecutive reads reached: deleted",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:  st(map[string]*OwnedGroup{"g1": {UUID: "G1", Name: "Eng", AbsentSince: ago(time.Minute), AbsentReads: 2}}),
			opts:   PlanOptions{Limits: Limits{DeleteAfterReads: 3}},
			want:   []string{"delete g1 G1"},
		},
		{
			name:    "a group seen again has its absence cleared",
			desired: []DesiredGroup{dg("g1", "Eng")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:   st(map[string]*OwnedGroup{"g1": {UUID: "G1", Name: "Eng", AbsentSince: ago(time.Minute), AbsentReads: 2}}),
			want:    []string{"reappeared g1"},
		},
		{
			name:    "deletions over the absolute limit are held back; additions apply",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann"), lg("G2", "A"), lg("G3", "B")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann"), "g2": owned("G2", "A"), "g3": owned("G3", "B")}),
			opts:    PlanOptions{Limits: Limits{MaxGroupDeletes: 1}},
			want: []string{"absent g2 reads=1 since=0s", "absent g3 reads=1 since=0s", "blocked",
				"held delete g2 []", "held delete g3 []", "update g1 G1 +[bob]"},
		},
		{
			name:    "the override applies held-back deletions",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann"), lg("G2", "A"), lg("G3", "B")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann"), "g2": owned("G2", "A"), "g3": owned("G3", "B")}),
			opts:    PlanOptions{Limits: Limits{MaxGroupDeletes: 1}, AllowDeletions: true},
			want:    []string{"delete g2 G2", "delete g3 G3", "update g1 G1 +[bob]"},
		},
		{
			name:    "deletion percentage limit",
			desired: []DesiredGroup{dg("g1", "Eng"), dg("g2", "A"), dg("g3", "B")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng"), lg("G2", "A"), lg("G3", "B"), lg("G4", "C")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng"), "g2": owned("G2", "A"), "g3": owned("G3", "B"), "g4": owned("G4", "C")}),
			opts:    PlanOptions{Limits: Limits{MaxGroupDeletesPercent: 20}},
			want:    []string{"absent g4 reads=1 since=0s", "blocked", "held delete g4 []"},
		},
		{
			name:    "deletion percentage at the limit is allowed",
			desired: []DesiredGroup{dg("g1", "Eng"), dg("g2", "A"), dg("g3", "B")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng"), lg("G2", "A"), lg("G3", "B"), lg("G4", "C")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng"), "g2": owned("G2", "A"), "g3": owned("G3", "B"), "g4": owned("G4", "C")}),
			opts:    PlanOptions{Limits: Limits{MaxGroupDeletesPercent: 25}},
			want:    []string{"delete g4 G4"},
		},
		{
			name:    "removals over the absolute limit are held back; additions apply",
			desired: []DesiredGroup{dg("g1", "Eng", "eve")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "bob", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "bob", "cat")}),
			opts:    PlanOptions{Limits: Limits{MaxMemberRemovals: 2}},
			want:    []string{"blocked", "held remove-members g1 [ann bob cat]", "update g1 G1 +[eve]"},
		},
		{
			name:    "removals applied earlier in the window count against the limit",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "bob")},
			state:   spent(st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "bob")}), Spend{At: t0.Add(-59 * time.Minute), Removed: 2}),
			opts:    PlanOptions{Limits: Limits{MaxMemberRemovals: 2, LimitWindow: time.Hour}},
			want:    []string{"blocked", "held remove-members g1 [bob]"},
		},
		{
			name:    "removals older than the window are forgotten",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "bob")},
			state:   spent(st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "bob")}), Spend{At: t0.Add(-time.Hour), Removed: 2}),
			opts:    PlanOptions{Limits: Limits{MaxMemberRemovals: 2, LimitWindow: time.Hour}},
			want:    []string{"update g1 G1 -[bob]"},
		},
		{
			name:    "deletions applied earlier in the window count against both limits",
			desired: []DesiredGroup{dg("g1", "Eng"), dg("g2", "A"), dg("g3", "B")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng"), lg("G2", "A"), lg("G3", "B"), lg("G4", "C")},
			state: spent(st(map[string]*OwnedGroup{"g1": owned("G1", "Eng"), "g2": owned("G2", "A"), "g3": owned("G3", "B"), "g4": owned("G4", "C")}),
				Spend{At: t0.Add(-time.Minute), Deleted: 1}),
			opts: PlanOptions{Limits: Limits{MaxGroupDeletesPercent: 25, LimitWindow: time.Hour}},
			want: []string{"absent g4 reads=1 since=0s", "blocked", "held delete g4 []"},
		},
		{
			name:    "an exhausted budget does not block a run that removes nothing",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann")},
			state:   spent(st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann")}), Spend{At: t0, Removed: 50, Deleted: 9}),
			opts:    PlanOptions{Limits: Limits{MaxMemberRemovals: 2, MaxGroupDeletes: 1, LimitWindow: time.Hour}},
			want:    []string{"update g1 G1 +[bob]"},
		},
		{
			name:    "removal percentage limit counts all owned memberships",
			desired: []DesiredGroup{dg("g1", "Eng", "ann"), dg("g2", "Ops", "ann", "bob", "cat")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "bob"), lg("G2", "Ops", "ann", "bob", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng"), "g2": owned("G2", "Ops")}),
			opts:    PlanOptions{Limits: Limits{MaxMemberRemovalsPercent: 10}},
			want:    []string{"blocked", "held remove-members g1 [bob]"},
		},
		{
			name:    "existing unowned group with the wanted name is a conflict",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Eng", "bob")},
			want:    []string{`conflict g1 "Eng"`},
		},
		{
			name:    "adopt: authoritative takes over the members",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Eng", "bob")},
			opts:    PlanOptions{Adopt: true},
			want:    []string{"update g1 X +[ann] -[bob] adopt"},
		},
		{
			name:    "adopt: preserve-manual keeps the existing members",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Eng", "bob")},
			opts:    PlanOptions{Adopt: true, Membership: MembershipPreserveManual},
			want:    []string{"update g1 X +[ann] adopt"},
		},
		{
			name:    "adopt with nothing to change still records ownership",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Eng", "ann")},
			opts:    PlanOptions{Adopt: true},
			want:    []string{"update g1 X adopt"},
		},
		{
			name:    "a create interrupted after Lightdash made the group is adopted",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Eng", "ann")},
			state:   st(map[string]*OwnedGroup{"g1": {Name: "Eng"}}),
			want:    []string{"update g1 X +[bob] adopt"},
		},
		{
			name:    "a same-named group made by hand after an interrupted create is not adopted",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{byOther(lg("X", "Eng", "ann"))},
			state:   st(map[string]*OwnedGroup{"g1": {Name: "Eng"}}),
			want:    []string{`conflict g1 "Eng"`},
		},
		{
			name:    "a same-named group made by hand after an interrupted create is adopted under adopt: true",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{byOther(lg("X", "Eng", "ann"))},
			state:   st(map[string]*OwnedGroup{"g1": {Name: "Eng"}}),
			opts:    PlanOptions{Adopt: true},
			want:    []string{"update g1 X +[bob] adopt"},
		},
		{
			name:    "a create interrupted before Lightdash made the group is retried",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			state:   st(map[string]*OwnedGroup{"g1": {Name: "Eng"}}),
			want:    []string{`create g1 "Eng" [ann]`},
		},
		{
			name:    "a create interrupted before a directory rename is adopted and renamed",
			desired: []DesiredGroup{dg("g1", "Eng2", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("X", "Eng", "ann")},
			state:   st(map[string]*OwnedGroup{"g1": {Name: "Eng"}}),
			want:    []string{`update g1 X rename "Eng2" adopt`},
		},
		{
			name:    "a group made by hand under an interrupted create's old name is not adopted and renamed",
			desired: []DesiredGroup{dg("g1", "Eng2", "ann")},
			groups:  []lightdash.GroupWithMembers{byOther(lg("X", "Eng", "bob"))},
			state:   st(map[string]*OwnedGroup{"g1": {Name: "Eng"}}),
			want:    []string{`create g1 "Eng2" [ann]`},
		},
		{
			name:   "an interrupted create no longer wanted is forgotten",
			state:  st(map[string]*OwnedGroup{"g1": {Name: "Eng"}}),
			groups: []lightdash.GroupWithMembers{lg("X", "Eng")},
			want:   []string{"forget g1"},
		},
		{
			name:    "owned group deleted by hand is recreated",
			desired: []DesiredGroup{dg("g1", "Eng", "ann")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann")}),
			want:    []string{`create g1 "Eng" [ann]`},
		},
		{
			name:  "owned group deleted by hand and no longer wanted is forgotten",
			state: st(map[string]*OwnedGroup{"g1": owned("G1", "Eng")}),
			want:  []string{"forget g1"},
		},
		{
			name:    "ownership moves from a retired key to the key now producing the name",
			desired: []DesiredGroup{dg("g2", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "cat")}),
			want:    []string{"update g2 G1 +[bob] -[cat] adopt from g1"},
		},
		{
			name:    "ownership does not move on an incomplete read",
			desired: []DesiredGroup{dg("g2", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "cat")}),
			mod:     func(d *Desired) { d.Complete, d.IncompleteReason = false, "connection closed" },
			want:    []string{`conflict g2 "Eng"`, "held delete g1 []"},
		},
		{
			name:    "ownership moves only after the old key's absence grace: first absence",
			desired: []DesiredGroup{dg("g2", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "cat")}),
			opts:    PlanOptions{Limits: Limits{DeleteGracePeriod: time.Hour, DeleteAfterReads: 2}},
			want:    []string{`conflict g2 "Eng"`, "absent g1 reads=1 since=0s"},
		},
		{
			name:    "ownership moves only after the old key's absence grace: time not yet over",
			desired: []DesiredGroup{dg("g2", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": {UUID: "G1", Name: "Eng", AbsentSince: ago(time.Minute), AbsentReads: 4}}),
			opts:    PlanOptions{Limits: Limits{DeleteGracePeriod: time.Hour, DeleteAfterReads: 2}},
			want:    []string{`conflict g2 "Eng"`, "absent g1 reads=5 since=-1m0s"},
		},
		{
			name:    "ownership moves only after the old key's absence grace: upsert-only counts absence too",
			desired: []DesiredGroup{dg("g2", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann", "cat")}),
			opts:    PlanOptions{Policy: PolicyUpsertOnly, Limits: Limits{DeleteAfterReads: 2}},
			want:    []string{`conflict g2 "Eng"`, "absent g1 reads=1 since=0s"},
		},
		{
			name:    "ownership moves once the old key's absence grace is over",
			desired: []DesiredGroup{dg("g2", "Eng", "ann", "bob")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng", "ann", "cat")},
			state:   st(map[string]*OwnedGroup{"g1": {UUID: "G1", Name: "Eng", AbsentSince: ago(time.Hour), AbsentReads: 1}}),
			opts:    PlanOptions{Limits: Limits{DeleteGracePeriod: time.Hour, DeleteAfterReads: 2}},
			want:    []string{"update g2 G1 +[bob] -[cat] adopt from g1"},
		},
		{
			name:    "the name of a group still wanted under another key is a conflict",
			desired: []DesiredGroup{dg("g1", "Eng2"), dg("g2", "Eng")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng")}),
			want:    []string{`conflict g2 "Eng"`, `update g1 G1 rename "Eng2"`},
		},
		{
			name:   "a group held by a mapping problem is not deleted",
			groups: []lightdash.GroupWithMembers{lg("G1", "Eng", "ann")},
			state:  st(map[string]*OwnedGroup{"g1": owned("G1", "Eng", "ann")}),
			mod: func(d *Desired) {
				d.Problems = []Problem{{Key: "group:corp/g1", Reason: "too deep", Blocking: true}}
			},
			want: nil,
		},
		{
			name:    "partial read: no deletes, no moves of ownership",
			desired: []DesiredGroup{dg("g2", "Eng", "ann")},
			groups:  []lightdash.GroupWithMembers{lg("G1", "Eng"), lg("G3", "Other")},
			state:   st(map[string]*OwnedGroup{"g1": owned("G1", "Eng"), "g3": owned("G3", "Other")}),
			mod:     func(d *Desired) { d.Partial = true },
			want:    []string{`conflict g2 "Eng"`},
		},
		{
			name:    "partial read of a merged group only adds",
			desired: []DesiredGroup{{Key: "target:All", Name: "All", Members: []Member{{Source: "corp", DirUser: &sources.DirUser{ID: "1", Email: "bob@x"}}}}},
			groups:  []lightdash.GroupWithMembers{lg("G1", "All", "ann")},
			state:   &State{Version: 1, Groups: map[string]*OwnedGroup{"target:All": owned("G1", "All", "ann")}},
			mod:     func(d *Desired) { d.Partial = true },
			want:    []string{"update target:All G1 +[bob]"},
		},
		{
			name:    "pending users are members; deactivated ones are reported; alt emails tried in order",
			desired: []DesiredGroup{dg("g1", "Eng", "pen", "old"), {Key: "group:corp/g2", Name: "Alt", Members: []Member{{Source: "corp", DirUser: &sources.DirUser{ID: "x", Email: "nobody@x", AltEmails: []string{"old@x", " Cat@X ", "dan@x"}}}}}},
			want:    []string{`create g1 "Eng" [pen]`, `create g2 "Alt" [cat]`, "unmatched old@x [Eng]"},
		},
		{
			name:    "invite policy invites unmatched users into the groups being written",
			desired: []DesiredGroup{dg("g1", "Eng", "ann", "zed"), dg("g2", "Ops", "zed")},
			groups:  []lightdash.GroupWithMembers{lg("G2", "Ops")},
			state:   st(map[string]*OwnedGroup{"g2": owned("G2", "Ops")}),
			opts:    PlanOptions{Unmatched: UnmatchedInvite},
			want: []string{`create g1 "Eng" [ann] invite[zed@x]`, "invite zed@x 2",
				"unmatched zed@x [Eng Ops]", "update g2 G2 invite[zed@x]"},
		},
		{
			name:    "users with the same email become one member",
			desired: []DesiredGroup{{Key: "group:corp/g1", Name: "Eng", Members: []Member{{Source: "corp", DirUser: &sources.DirUser{ID: "1", Email: "ann@x"}}, {Source: "hr", DirUser: &sources.DirUser{ID: "1", Email: "ANN@x"}}}}},
			want:    []string{`create g1 "Eng" [ann]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Desired{Groups: tt.desired, Problems: tt.problems, Complete: true}
			if tt.mod != nil {
				tt.mod(d)
			}
			state := tt.state
			var before *State
			if state != nil {
				before = state.Clone()
			}
			p := ComputePlan(d, Current{Users: ldUsers(), Groups: tt.groups, Self: testSelf}, state, tt.opts, t0)
			if got := describe(p); !reflect.DeepEqual(got, sortedCopy(tt.want)) {
				t.Errorf("plan\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(sortedCopy(tt.want), "\n     "))
			}
			if got, want := p.HasChanges(), len(p.Creates)+len(p.Updates)+len(p.Deletes)+len(p.Absent)+len(p.Forgets)+len(p.Reappeared)+len(p.Invites) > 0; got != want {
				t.Errorf("HasChanges %v, want %v", got, want)
			}
			if state != nil && !reflect.DeepEqual(state.Clone(), before) {
				t.Error("ComputePlan modified the state")
			}
			checkWellFormed(t, p, tt.groups)
		})
	}
}
