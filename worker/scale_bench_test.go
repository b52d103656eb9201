package worker

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// scaleFixture is the issue-9 directory size: 100,000 users in 10,000
// groups of 50, with Lightdash holding every group with one member missing.
func scaleFixture() (*sources.Snapshot, Current, *State) {
	const nUsers, nGroups, perGroup = 100000, 10000, 50
	snap := &sources.Snapshot{Source: "corp", Complete: true}
	var cur Current
	for i := 0; i < nUsers; i++ {
		snap.Users = append(snap.Users, sources.DirUser{ID: fmt.Sprint("u", i), Email: fmt.Sprintf("user%d@example.com", i)})
		cur.Users = append(cur.Users, lightdash.OrgMember{UserUUID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), Email: fmt.Sprintf("user%d@example.com", i), IsActive: true})
	}
	st := NewState()
	for g := 0; g < nGroups; g++ {
		dg := sources.DirGroup{ID: fmt.Sprint("g", g), Name: fmt.Sprint("Group ", g)}
		lg := lightdash.GroupWithMembers{Group: lightdash.Group{UUID: fmt.Sprintf("%08d-1111-4000-8000-000000000000", g), Name: "ad-" + dg.Name}}
		var added []string
		for m := 0; m < perGroup; m++ {
			u := (g*perGroup + m) % nUsers
			dg.MemberUsers = append(dg.MemberUsers, fmt.Sprint("u", u))
			if m > 0 {
				lg.MemberUUIDs = append(lg.MemberUUIDs, cur.Users[u].UserUUID)
				added = append(added, cur.Users[u].UserUUID)
			}
		}
		snap.Groups = append(snap.Groups, dg)
		cur.Groups = append(cur.Groups, lg)
		st.Groups[groupKey("corp", dg.ID)] = &OwnedGroup{UUID: lg.UUID, Name: lg.Name, AddedMembers: added}
	}
	return snap, cur, st
}

// BenchmarkMapAndPlanScale maps and plans the issue-9 size (100k users,
// 10k groups, 500k memberships): the pure part of every reconciliation.
func BenchmarkMapAndPlanScale(b *testing.B) {
	snap, cur, st := scaleFixture()
	mp, err := NewMapper(Mapping{Rules: []Rule{{Prefix: "ad-"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := ComputePlan(mp.Map(snap), cur, st, PlanOptions{}, t0)
		if len(p.Updates) != len(snap.Groups) {
			b.Fatalf("%d updates, want %d", len(p.Updates), len(snap.Groups))
		}
	}
}

// BenchmarkFileStoreSaveScale saves the state of 10,000 owned groups with
// their added members — what Apply does after every single write (twice
// per created group), so a cold reconciliation costs groups × this.
func BenchmarkFileStoreSaveScale(b *testing.B) {
	_, _, st := scaleFixture()
	benchFileStoreSave(b, st)
}

// BenchmarkFileStoreSaveScaleAuthoritative is the same save in the default
// membership mode, whose state records no added members.
func BenchmarkFileStoreSaveScaleAuthoritative(b *testing.B) {
	_, _, st := scaleFixture()
	for _, g := range st.Groups {
		g.AddedMembers = nil
	}
	benchFileStoreSave(b, st)
}

func benchFileStoreSave(b *testing.B, st *State) {
	b.Helper()
	fs := NewFileStore(filepath.Join(b.TempDir(), "state.json"))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := fs.Save(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFingerprintScale hashes the issue-9 directory and Lightdash as
// every full plan does: "marshal" is the encoding/json form it replaced
// (kept in fingerprint_test.go as the reference), "stream" the current one.
func BenchmarkFingerprintScale(b *testing.B) {
	snap, cur, _ := scaleFixture()
	snaps := []*sources.Snapshot{snap}
	for _, bb := range []struct {
		name     string
		dir      func([]*sources.Snapshot) string
		lightdsh func(Current) string
	}{
		{"marshal", marshalFingerprintSnapshots, marshalFingerprintLightdash},
		{"stream", fingerprintSnapshots, fingerprintLightdash},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_ = bb.dir(snaps)
				_ = bb.lightdsh(cur)
			}
		})
	}
}

// BenchmarkEventPlanScale plans one event at the issue-9 size: one group
// of 10,000 gained a member, planned against the whole view and state as
// ReconcileGroups does. What it costs beyond that group should not grow
// with the number of groups.
func BenchmarkEventPlanScale(b *testing.B) {
	snap, cur, st := scaleFixture()
	for _, g := range st.Groups {
		g.AddedMembers = nil // the default, authoritative mode
	}
	// What ReadGroups returns: the group and its members; the view
	// holds the users' index.
	one := &sources.Snapshot{Source: snap.Source, Users: snap.Users[42*50 : 43*50], Groups: snap.Groups[42:43]}
	cur.ids = newIdentities(cur.Users)
	mp, err := NewMapper(Mapping{Rules: []Rule{{Prefix: "ad-"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := mp.Map(one)
		d.Partial = true
		p := ComputePlan(d, cur, st, PlanOptions{}, t0)
		if len(p.Updates) != 1 || len(p.Updates[0].Add) != 1 {
			b.Fatalf("plan %+v, want one update adding one member", p.Updates)
		}
	}
}
