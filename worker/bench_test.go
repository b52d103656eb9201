package worker

import (
	"fmt"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// BenchmarkMapAndPlan maps and plans a large directory: 20,000 users in
// 2,000 groups of 50, against a Lightdash that already holds them all with
// one member changed per group.
func BenchmarkMapAndPlan(b *testing.B) {
	const nUsers, nGroups, perGroup = 20000, 2000, 50
	snap := &sources.Snapshot{Source: "corp", Complete: true}
	var users []lightdash.OrgMember
	for i := 0; i < nUsers; i++ {
		snap.Users = append(snap.Users, sources.DirUser{ID: fmt.Sprint("u", i), Email: fmt.Sprintf("user%d@example.com", i)})
		users = append(users, lightdash.OrgMember{UserUUID: fmt.Sprint("L", i), Email: fmt.Sprintf("user%d@example.com", i), IsActive: true})
	}
	st := NewState()
	var groups []lightdash.GroupWithMembers
	for g := 0; g < nGroups; g++ {
		dg := sources.DirGroup{ID: fmt.Sprint("g", g), Name: fmt.Sprint("Group ", g)}
		lg := lightdash.GroupWithMembers{Group: lightdash.Group{UUID: fmt.Sprint("G", g), Name: "ad-" + dg.Name}}
		for m := 0; m < perGroup; m++ {
			u := (g*perGroup + m) % nUsers
			dg.MemberUsers = append(dg.MemberUsers, fmt.Sprint("u", u))
			if m > 0 {
				lg.MemberUUIDs = append(lg.MemberUUIDs, fmt.Sprint("L", u))
			}
		}
		snap.Groups = append(snap.Groups, dg)
		groups = append(groups, lg)
		st.Groups[groupKey("corp", dg.ID)] = &OwnedGroup{UUID: lg.UUID, Name: lg.Name}
	}
	mp, err := NewMapper(Mapping{Rules: []Rule{{Prefix: "ad-"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := ComputePlan(mp.Map(snap), Current{Users: users, Groups: groups}, st, PlanOptions{}, t0)
		if len(p.Updates) != nGroups {
			b.Fatalf("%d updates, want %d", len(p.Updates), nGroups)
		}
	}
}
