package worker

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// accessCur is Lightdash holding projects P1 and P2 (both read), with
// group g-1 viewer on P1 and admin on P2.
func accessCur() *AccessCurrent {
	return &AccessCurrent{
		Projects: []lightdash.Project{{ProjectUUID: "p-1", Name: "P1"}, {ProjectUUID: "p-2", Name: "P2"}},
		Grants: map[string][]lightdash.ProjectGrant{
			"p-1": {{ProjectUUID: "p-1", GroupUUID: "g-1", Role: "viewer"}},
			"p-2": {{ProjectUUID: "p-2", GroupUUID: "g-1", Role: "admin"}},
		},
	}
}

// ops renders a plan's access changes as "group op project role".
func ops(p *Plan) []string {
	var out []string
	for _, ch := range p.Access {
		out = append(out, strings.Join(strings.Fields(strings.Join([]string{ch.Group, ch.GroupUUID, ch.Op, ch.ProjectName, ch.Role}, " ")), " "))
	}
	return out
}

func TestPlanAccess(t *testing.T) {
	wantP1Editor := &GroupAccess{Projects: []WantProject{{Project: "P1", Role: "editor"}}}
	tests := []struct {
		name     string
		group    func() DesiredGroup
		opts     PlanOptions
		st       *State
		want     []string
		problems []string
	}{
		{name: "change and revoke on an owned group",
			group: func() DesiredGroup { g := dg("a", "A", "ann"); g.Access = wantP1Editor; return g },
			st:    &State{Groups: map[string]*OwnedGroup{"group:corp/a": owned("g-1", "A", "ann")}},
			want:  []string{"A g-1 change P1 editor", "A g-1 revoke P2"}},
		{name: "upsert-only changes, never revokes",
			group: func() DesiredGroup { g := dg("a", "A", "ann"); g.Access = wantP1Editor; return g },
			opts:  PlanOptions{Policy: PolicyUpsertOnly},
			st:    &State{Groups: map[string]*OwnedGroup{"group:corp/a": owned("g-1", "A", "ann")}},
			want:  []string{"A g-1 change P1 editor"}},
		{name: "create-only leaves an existing group alone",
			group: func() DesiredGroup { g := dg("a", "A", "ann"); g.Access = wantP1Editor; return g },
			opts:  PlanOptions{Policy: PolicyCreateOnly},
			st:    &State{Groups: map[string]*OwnedGroup{"group:corp/a": owned("g-1", "A", "ann")}},
			want:  nil},
		{name: "a new group is granted under the uuid its create records",
			group: func() DesiredGroup { g := dg("b", "B", "ann"); g.Access = wantP1Editor; return g },
			opts:  PlanOptions{Policy: PolicyCreateOnly},
			want:  []string{"B grant P1 editor"}},
		{name: "preserve-manual revokes only recorded grants",
			group: func() DesiredGroup { g := dg("a", "A", "ann"); g.Access = wantP1Editor; return g },
			opts:  PlanOptions{Access: AccessPreserveManual},
			st: &State{Groups: map[string]*OwnedGroup{"group:corp/a": {UUID: "g-1", Name: "A", AddedMembers: []string{"ann"},
				Granted: []string{"project:p-2"}}}},
			want: []string{"A g-1 change P1 editor", "A g-1 revoke P2"}},
		{name: "preserve-manual keeps a grant made by hand",
			group: func() DesiredGroup { g := dg("a", "A", "ann"); g.Access = wantP1Editor; return g },
			opts:  PlanOptions{Access: AccessPreserveManual},
			st:    &State{Groups: map[string]*OwnedGroup{"group:corp/a": owned("g-1", "A", "ann")}},
			want:  []string{"A g-1 change P1 editor"}},
		{name: "held access is left as it is",
			group: func() DesiredGroup { g := dg("a", "A", "ann"); g.AccessHeld = "bad role"; return g },
			st:    &State{Groups: map[string]*OwnedGroup{"group:corp/a": owned("g-1", "A", "ann")}},
			want:  nil},
		{name: "an unknown project is a problem; the rest still applies",
			group: func() DesiredGroup {
				g := dg("a", "A", "ann")
				g.Access = &GroupAccess{Projects: []WantProject{{Project: "Nope", Role: "viewer"}, {Project: "p-1", Role: "viewer"}, {Project: "P2", Role: "admin"}}}
				return g
			},
			st:       &State{Groups: map[string]*OwnedGroup{"group:corp/a": owned("g-1", "A", "ann")}},
			want:     nil,
			problems: []string{`project access: no Lightdash project is named "Nope"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Desired{Complete: true, Groups: []DesiredGroup{tc.group()}}
			cur := Current{Users: ldUsers(), Groups: []lightdash.GroupWithMembers{lg("g-1", "A", "ann")}, Access: accessCur()}
			p := ComputePlan(d, cur, tc.st, tc.opts, t0)
			if got := ops(p); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("access changes\n got %q\nwant %q", got, tc.want)
			}
			var probs []string
			for _, pr := range p.Problems {
				probs = append(probs, pr.Reason)
			}
			if len(probs) != len(tc.problems) || len(probs) > 0 && !strings.HasPrefix(probs[0], tc.problems[0]) {
				t.Errorf("problems %q, want %q", probs, tc.problems)
			}
		})
	}
}
