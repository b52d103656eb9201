package worker

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/worker")

// TestPlanJSONGolden pins the JSON form of a plan: `plan --output json`
// prints it and `reconcile --plan FILE` reads it back, so changing it is a
// format change (bump PlanFormat).
func TestPlanJSONGolden(t *testing.T) {
	m, err := NewMapper(Mapping{Rules: []Rule{{BaseDN: "ou=groups,dc=corp,dc=example", Prefix: "ad-"}}})
	if err != nil {
		t.Fatal(err)
	}
	snap := dirFixture()
	d := m.Map(snap)
	cur := Current{Users: []lightdash.OrgMember{
		{UserUUID: "00000000-0000-4000-8000-000000000001", Email: "u1@x", IsActive: true},
		{UserUUID: "00000000-0000-4000-8000-000000000002", Email: "u2@x", IsActive: true},
	}, Groups: []lightdash.GroupWithMembers{
		{Group: lightdash.Group{UUID: "10000000-0000-4000-8000-000000000001", Name: "ad-Backend"}, MemberUUIDs: []string{"00000000-0000-4000-8000-000000000001"}},
		{Group: lightdash.Group{UUID: "10000000-0000-4000-8000-000000000002", Name: "ad-Old"}},
	}}
	st := NewState()
	st.Groups[groupKey("corp", "g-be")] = &OwnedGroup{UUID: "10000000-0000-4000-8000-000000000001", Name: "ad-Backend"}
	st.Groups[groupKey("corp", "g-old")] = &OwnedGroup{UUID: "10000000-0000-4000-8000-000000000002", Name: "ad-Old"}
	p := ComputePlan(d, cur, st, PlanOptions{Limits: Limits{DeleteAfterReads: 1}}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	p.Fingerprints = Fingerprints{Directory: fingerprintSnapshots([]*sources.Snapshot{snap}), Lightdash: fingerprintLightdash(cur)}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("..", "testdata", "worker", "plan.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./worker -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("plan JSON differs from %s (run with -update if intended)\n got:\n%s", path, got)
	}
	var back Plan
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.MarshalIndent(&back, "", "  ")
	if !bytes.Equal(append(again, '\n'), want) {
		t.Error("the golden plan does not survive a JSON round trip")
	}
}
