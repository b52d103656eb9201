package nats

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkDecodeLargeGroup: a group.upserted with 10 000 members, the
// default limit, which a full-list producer sends for a big group.
func BenchmarkDecodeLargeGroup(b *testing.B) {
	e := &Event{SpecVersion: SpecVersion, ID: "evt-1", Source: "/bench", Type: TypeGroupUpserted, Time: time.Now(),
		Data: Data{ID: "g", Name: "Everyone"}}
	for i := range DefaultMaxMembers {
		e.Data.Members = append(e.Data.Members, Member{ID: fmt.Sprintf("u-%d", i), Email: fmt.Sprintf("user%d@example.com", i)})
	}
	raw, err := json.Marshal(e)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDelta: a members_added event of one member, what a
// burst is made of (the harness's NATS scenario publishes 50,000).
func BenchmarkDecodeDelta(b *testing.B) {
	sq := uint64(7)
	e := &Event{SpecVersion: SpecVersion, ID: "ev-12345", Source: "/bench", Type: TypeMembersAdded, Time: time.Now().UTC(),
		Sequence: &sq, Data: Data{ID: "grp-042", Name: "events-042", Members: []Member{{Email: "user12345@example.com"}}}}
	raw, err := json.Marshal(e)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullSnapshot: turning a view of 20 000 users in 1 000 groups of
// 50 into a sources.Snapshot (the part of Snapshot after the bucket read).
func BenchmarkFullSnapshot(b *testing.B) {
	var recs []*record
	for i := range 20000 {
		recs = append(recs, &record{Kind: kindUser, ID: fmt.Sprintf("u-%d", i), Email: fmt.Sprintf("user%d@example.com", i)})
	}
	for g := range 1000 {
		r := &record{Kind: kindGroup, ID: fmt.Sprintf("g-%d", g), Name: fmt.Sprintf("Group %d", g)}
		for j := range 50 {
			n := (g*50 + j) % 20000
			if j%2 == 0 {
				r.Members = append(r.Members, Member{ID: fmt.Sprintf("u-%d", n)})
			} else {
				r.Members = append(r.Members, Member{Email: fmt.Sprintf("USER%d@example.com", n)})
			}
		}
		recs = append(recs, r)
	}
	for b.Loop() {
		groups, users := fullSnapshot(recs)
		if len(groups) != 1000 || len(users) != 20000 {
			b.Fatalf("got %d groups, %d users", len(groups), len(users))
		}
	}
}

// BenchmarkApplyLargeUpsert: the view transition for a 10 000-member
// group.upserted, and a 1 000-member delta on top of it.
func BenchmarkApplyLargeUpsert(b *testing.B) {
	up := &Event{ID: "e1", Type: TypeGroupUpserted, Data: Data{ID: "g", Name: "G"}}
	add := &Event{ID: "e2", Type: TypeMembersAdded, Data: Data{ID: "g"}}
	for i := range DefaultMaxMembers {
		up.Data.Members = append(up.Data.Members, Member{ID: fmt.Sprintf("u-%d", i), Email: fmt.Sprintf("user%d@example.com", i)})
	}
	for i := range 1000 {
		add.Data.Members = append(add.Data.Members, Member{Email: fmt.Sprintf("new%d@example.com", i)})
	}
	for b.Loop() {
		r := next(nil, up)
		if r = next(r, add); len(r.Members) != DefaultMaxMembers+1000 {
			b.Fatalf("%d members", len(r.Members))
		}
	}
}

// BenchmarkIndexPutAppend: a group of 500 members indexed again after 40
// more, what every batch of a burst does per group.
func BenchmarkIndexPutAppend(b *testing.B) {
	before := &record{Kind: kindGroup, ID: "g", Name: "G"}
	for i := range 500 {
		before.Members = append(before.Members, Member{Email: fmt.Sprintf("user%d@example.com", i)})
	}
	after := *before
	after.Members = slices.Clone(before.Members)
	for i := range 40 {
		after.Members = append(after.Members, Member{Email: fmt.Sprintf("new%d@example.com", i)})
	}
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		x := newIndex()
		x.put(before)
		b.StartTimer()
		x.put(&after)
	}
}
