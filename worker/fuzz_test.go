package worker

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// FuzzDecodeState: any file content gives a state or an error, never a panic.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1,"groups":{"k":{"uuid":"u","name":"n","addedMembers":["a"],"absentReads":2}},"cookies":{"s":"AAE="}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"groups":{"k":null}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeState(b, "fuzz")
		if err == nil && (s.Groups == nil || s.Version != StateVersion) {
			t.Fatalf("decoded state %+v without groups map or version", s)
		}
		if err != nil && !errors.Is(err, ErrStateCorrupt) && !errors.Is(err, ErrStateTooNew) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// FuzzMapAndPlan: any snapshot (given as JSON) maps and plans without a
// panic, and every planned name is one Lightdash accepts.
func FuzzMapAndPlan(f *testing.F) {
	f.Add([]byte(`{"source":"s","complete":true,"groups":[{"id":"a","name":"A","memberUsers":["u"],"memberGroups":["a","b"]},{"id":"b","name":" ","memberGroups":["a"]}],"users":[{"id":"u","email":"U@x"}]}`))
	f.Add([]byte(`{"groups":[{"id":"","name":"\u0000"}]}`))
	mp, err := NewMapper(Mapping{AllowMerge: true, MaxDepth: 3, Rules: []Rule{{NameRegex: "^[A-Z]", Prefix: "p-"}, {RewriteRegex: "(.*)", RewriteReplace: "$1$1", Case: CaseUpper}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var snap sources.Snapshot
		if json.Unmarshal(b, &snap) != nil {
			return
		}
		d := mp.Map(&snap)
		cur := Current{Users: []lightdash.OrgMember{{UserUUID: "u1", Email: "u@x", IsActive: true}},
			Groups: []lightdash.GroupWithMembers{{Group: lightdash.Group{UUID: "g1", Name: "P-A"}}}}
		st := NewState()
		st.Groups["group:s/a"] = &OwnedGroup{UUID: "g1", Name: "P-A"}
		p := ComputePlan(d, cur, st, PlanOptions{}, t0)
		for _, c := range p.Creates {
			if invalidName(c.Name) != "" {
				t.Fatalf("planned invalid name %q", c.Name)
			}
		}
		for _, u := range p.Updates {
			if u.NewName != "" && invalidName(u.NewName) != "" {
				t.Fatalf("planned invalid rename %q", u.NewName)
			}
		}
	})
}
