package nats

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIndexPutMatchesRebuild: an index kept current by puts (members
// added, removed, reordered, groups deleted and re-created) ends as the
// index built afresh from the last record of each group.
func TestIndexPutMatchesRebuild(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	member := func() Member {
		switch r.IntN(3) {
		case 0:
			return Member{ID: fmt.Sprintf("u%d", r.IntN(8))}
		case 1:
			return Member{Email: fmt.Sprintf("U%d@x.io", r.IntN(8))}
		default:
			return Member{ID: fmt.Sprintf("u%d", r.IntN(8)), Email: fmt.Sprintf("u%d@x.io", r.IntN(8))}
		}
	}
	for round := range 300 {
		live := newIndex()
		last := map[string]*record{}
		for range 40 {
			g := fmt.Sprintf("g%d", r.IntN(4))
			cur := last[g]
			n := &record{Kind: kindGroup, ID: g}
			switch op := r.IntN(10); {
			case op == 0:
				n.Deleted = true
			case op < 6 && cur != nil && !cur.Deleted: // a delta: append
				n.Members = mergeMembers(cur.Members, []Member{member()})
				n.MemberGroups = cur.MemberGroups
			case op < 8 && cur != nil && !cur.Deleted && len(cur.Members) > 0: // a removal
				n.Members = removeMembers(cur.Members, cur.Members[r.IntN(len(cur.Members)):][:1])
				n.MemberGroups = cur.MemberGroups
			default: // a full upsert, in any order, with nested groups
				for range r.IntN(5) {
					n.Members = append(n.Members, member())
				}
				if r.IntN(2) == 0 {
					n.MemberGroups = []string{fmt.Sprintf("g%d", r.IntN(4))}
				}
			}
			live.put(n)
			last[g] = n
		}
		fresh := newIndex()
		for _, g := range slices.Sorted(maps.Keys(last)) {
			fresh.put(last[g])
		}
		if !maps.EqualFunc(live.parents, fresh.parents, maps.Equal) {
			t.Fatalf("round %d: parents after puts\n%v\nwant\n%v", round, live.parents, fresh.parents)
		}
		if !maps.EqualFunc(live.keysOfGroup, fresh.keysOfGroup, slices.Equal) {
			t.Fatalf("round %d: keysOfGroup after puts\n%v\nwant\n%v", round, live.keysOfGroup, fresh.keysOfGroup)
		}
	}
}
