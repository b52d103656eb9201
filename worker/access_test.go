package worker

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

func TestAccessConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		mapping Mapping
		want    string // substring of the error; "" for none
	}{
		{"fixed role", Mapping{Rules: []Rule{{Projects: []ProjectAccess{{Project: "Sales", Role: "editor"}}}}}, ""},
		{"unknown role", Mapping{Rules: []Rule{{Projects: []ProjectAccess{{Project: "Sales", Role: "owner"}}}}},
			`rules[0].projects[0].role: "owner" is not a project role`},
		{"no project", Mapping{Rules: []Rule{{Projects: []ProjectAccess{{Role: "viewer"}}}}}, "rules[0].projects[0].project: required"},
		{"no role, no role_regex", Mapping{Rules: []Rule{{Projects: []ProjectAccess{{Project: "Sales"}}}}}, "rules[0].projects[0].role: required"},
		{"space role", Mapping{Rules: []Rule{{Spaces: []SpaceAccess{{Project: "Sales", Space: "Pipeline", Role: "developer"}}}}},
			`rules[0].spaces[0].role: "developer" is not a space role`},
		{"override role", Mapping{Overrides: []Override{{Group: "g", Name: "n", Projects: []ProjectAccess{{Project: "Sales", Role: "boss"}}}}},
			`overrides[0].projects[0].role`},
		{"role_regex without capture", Mapping{Rules: []Rule{{RoleRegex: "-Editor$", Projects: []ProjectAccess{{Project: "Sales"}}}}},
			"rules[0].role_regex: needs a capture group"},
		{"role_regex listing a typo", Mapping{Rules: []Rule{{RoleRegex: "^LD-.*-(Viewer|Editer)$", Projects: []ProjectAccess{{Project: "Sales"}}}}},
			`rules[0].role_regex: can capture "editer"`},
		{"role_regex listing roles", Mapping{Rules: []Rule{{RoleRegex: "^LD-.*-(?P<role>Viewer|Editor|Interactive_Viewer)$", Projects: []ProjectAccess{{Project: "Sales"}}}}}, ""},
		{"role_regex open", Mapping{Rules: []Rule{{RoleRegex: `-(\w+)$`, Projects: []ProjectAccess{{Project: "Sales"}}}}}, ""},
		{"role_regex on a target", Mapping{Rules: []Rule{{Target: "all", RoleRegex: `-(\w+)$`, Projects: []ProjectAccess{{Project: "Sales"}}}}},
			"rules[0].role_regex: a target rule"},
		{"role_regex unused", Mapping{Rules: []Rule{{RoleRegex: `-(\w+)$`, Projects: []ProjectAccess{{Project: "Sales", Role: "viewer"}}}}},
			"rules[0].role_regex: no project takes its role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.mapping.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func accessSnap(names ...string) *sources.Snapshot {
	s := &sources.Snapshot{Source: "corp", Complete: true, Users: []sources.DirUser{{ID: "u1", Email: "u1@x"}}}
	for _, n := range names {
		s.Groups = append(s.Groups, sources.DirGroup{ID: "id-" + n, Name: n, MemberUsers: []string{"u1"}})
	}
	return s
}

func TestAccessFromGroupName(t *testing.T) {
	mp, err := NewMapper(Mapping{Rules: []Rule{{NameRegex: "^LD-", RoleRegex: `^LD-\w+-(\w+)$`,
		Projects: []ProjectAccess{{Project: "Sales"}, {Project: "Shared", Role: "viewer"}},
		Spaces:   []SpaceAccess{{Project: "Sales", Space: "Pipeline", Role: "editor"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	d := mp.Map(accessSnap("LD-Sales-Editor", "LD-Sales-Owner"))
	got := map[string]*GroupAccess{}
	held := map[string]string{}
	for _, g := range d.Groups {
		got[g.Name], held[g.Name] = g.Access, g.AccessHeld
	}
	want := &GroupAccess{Projects: []WantProject{{"Sales", "editor"}, {"Shared", "viewer"}}, Spaces: []WantSpace{{"Sales", "Pipeline", "editor"}}}
	if !reflect.DeepEqual(got["LD-Sales-Editor"], want) {
		t.Errorf("LD-Sales-Editor: got %+v, want %+v", got["LD-Sales-Editor"], want)
	}
	// An unknown role in a name is a problem of that group alone: it is
	// still synced, and its access is left as it is.
	if got["LD-Sales-Owner"] != nil || !strings.Contains(held["LD-Sales-Owner"], `"owner"`) {
		t.Errorf("LD-Sales-Owner: got access %+v, held %q", got["LD-Sales-Owner"], held["LD-Sales-Owner"])
	}
	if len(d.Problems) != 1 || d.Problems[0].Blocking || d.Problems[0].Key != "group:corp/id-LD-Sales-Owner" {
		t.Errorf("problems: %+v", d.Problems)
	}
}

func TestAccessMergeKeepsTheStrongerRole(t *testing.T) {
	mp, err := NewMapper(Mapping{AllowMerge: true, Rules: []Rule{
		{Include: []string{"a"}, RewriteRegex: ".*", RewriteReplace: "team", Projects: []ProjectAccess{{Project: "P", Role: "viewer"}}},
		{Include: []string{"b"}, RewriteRegex: ".*", RewriteReplace: "team", Projects: []ProjectAccess{{Project: "P", Role: "developer"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := mp.Map(accessSnap("a", "b"))
	if len(d.Groups) != 1 || !reflect.DeepEqual(d.Groups[0].Access, &GroupAccess{Projects: []WantProject{{"P", "developer"}}}) {
		t.Errorf("got %+v", d.Groups)
	}
}
