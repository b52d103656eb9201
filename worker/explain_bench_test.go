package worker

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// BenchmarkExplainLastScale is one /explain at the issue-9 size (100k
// users, 10k groups, 500k memberships): the last read mapped again, then
// the person's answer built.
func BenchmarkExplainLastScale(b *testing.B) {
	snap, cur, st := scaleFixture()
	mp, err := NewMapper(Mapping{Rules: []Rule{{Prefix: "ad-"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := (&explainer{m: mp, email: "user4242@example.com", snaps: []*sources.Snapshot{snap}, d: mp.Map(snap), groups: cur.Groups,
			ids: cur.identities(), st: st, p: &Plan{}, opts: PlanOptions{}.withDefaults()}).build()
		if len(x.Groups) != 5 || len(x.Lightdash) != 5 { // 500k memberships of 100k users
			b.Fatalf("groups %+v, Lightdash %+v", x.Groups, x.Lightdash)
		}
	}
}

// BenchmarkKeptReadHeap reports the heap a kept directory read holds
// (Options.KeepLastRead) at the issue-9 size, shaped as the LDAP source
// makes it: uuid ids, DNs, member ids interned (the user's own id string).
func BenchmarkKeptReadHeap(b *testing.B) {
	var kept *sources.Snapshot
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kept = ldapShapedSnapshot()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB-kept")
	}
	runtime.KeepAlive(kept)
}

func ldapShapedSnapshot() *sources.Snapshot {
	const nUsers, nGroups, perGroup = 100000, 10000, 50
	s := &sources.Snapshot{Source: "corp", Complete: true, Users: make([]sources.DirUser, 0, nUsers), Groups: make([]sources.DirGroup, 0, nGroups)}
	for i := 0; i < nUsers; i++ {
		s.Users = append(s.Users, sources.DirUser{ID: fmt.Sprintf("%08x-0000-1000-8000-%012x", i, i),
			DN: fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=com", i), Email: fmt.Sprintf("user%06d@example.com", i), DisplayName: fmt.Sprintf("User %06d", i)})
	}
	for g := 0; g < nGroups; g++ {
		dg := sources.DirGroup{ID: fmt.Sprintf("%08x-0000-1000-9000-%012x", g, g), DN: fmt.Sprintf("cn=group%05d,ou=groups,dc=example,dc=com", g), Name: fmt.Sprintf("group%05d", g)}
		for m := 0; m < perGroup; m++ {
			dg.MemberUsers = append(dg.MemberUsers, s.Users[(g*perGroup+m)%nUsers].ID)
		}
		s.Groups = append(s.Groups, dg)
	}
	return s
}

// BenchmarkKeptAccessHeap reports the heap the daemon's kept access read
// holds for /explain (keptAccess) at 10,000 groups granted on 20
// projects, the read itself let go.
func BenchmarkKeptAccessHeap(b *testing.B) {
	var kept *AccessCurrent
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kept = keptAccess(grantsRead(10000, 20))
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB-kept")
	}
	runtime.KeepAlive(kept)
}

// grantsRead is a read of access as the client decodes it: every string
// its own allocation.
func grantsRead(groups, projects int) *AccessCurrent {
	a := &AccessCurrent{Grants: map[string][]lightdash.ProjectGrant{}}
	for p := 0; p < projects; p++ {
		pu := fmt.Sprintf("%08x-0000-1000-a000-%012x", p, p)
		a.Projects = append(a.Projects, lightdash.Project{ProjectUUID: pu, Name: fmt.Sprintf("project %d", p)})
		gs := make([]lightdash.ProjectGrant, 0, groups)
		for g := 0; g < groups; g++ {
			gs = append(gs, lightdash.ProjectGrant{ProjectUUID: fmt.Sprintf("%08x-0000-1000-a000-%012x", p, p),
				GroupUUID: fmt.Sprintf("%08x-0000-1000-b000-%012x", g, g), GroupName: fmt.Sprintf("ad-group%05d", g), Role: fmt.Sprint("editor")})
		}
		a.Grants[pu] = gs
	}
	return a
}
