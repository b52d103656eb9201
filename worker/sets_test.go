package worker

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// The merge-based set operations agree with the map-based ones they
// replaced in the planner, on random member lists with duplicates.
func TestSortedSetOperations(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	randList := func() []string {
		var l []string
		for range r.IntN(8) {
			l = append(l, string(rune('a'+r.IntN(10))))
		}
		return l
	}
	mapMinus := func(a, b []string) []string {
		s := setOf(a)
		for _, x := range b {
			delete(s, x)
		}
		return sortedKeys(s)
	}
	mapIntersect := func(a, b []string) []string {
		sb, out := setOf(b), map[string]bool{}
		for _, x := range a {
			if sb[x] {
				out[x] = true
			}
		}
		return sortedKeys(out)
	}
	for range 2000 {
		a, b := randList(), randList()
		a0 := slices.Clone(a)
		sa, sb := sortedUnique(a), sortedUnique(b)
		if !slices.Equal(a, a0) {
			t.Fatalf("sortedUnique changed its argument %v to %v", a0, a)
		}
		checks := []struct {
			op        string
			got, want []string
		}{
			{"sortedUnique", sa, sortedKeys(setOf(a))},
			{"minus", minus(sa, sb), mapMinus(a, b)},
			{"intersect", intersect(sa, sb), mapIntersect(a, b)},
			{"union", union(sa, sb), applyDiff(a, b, nil)},
		}
		for _, c := range checks {
			if len(c.got) != len(c.want) || (len(c.got) > 0 && !slices.Equal(c.got, c.want)) {
				t.Fatalf("%s(%v, %v) = %v, want %v", c.op, a, b, c.got, c.want)
			}
		}
	}
}

func TestSortMembersDeduplicatesMerged(t *testing.T) {
	m := func(src, id, email string) Member {
		return Member{Source: src, DirUser: &sources.DirUser{ID: id, Email: email}}
	}
	in := []Member{m("hr", "1", "x"), m("corp", "2", "a"), m("corp", "1", "old"), m("corp", "1", "new")}
	got := sortMembers(slices.Clone(in), true)
	want := []Member{m("corp", "1", "new"), m("corp", "2", "a"), m("hr", "1", "x")}
	if !slices.EqualFunc(got, want, func(a, b Member) bool { return a.Source == b.Source && a.ID == b.ID && a.Email == b.Email }) {
		t.Errorf("merged %+v, want %+v (one per user, the last met)", got, want)
	}
	if got := sortMembers(slices.Clone(in), false); len(got) != 4 {
		t.Errorf("unmerged: %d members, want all 4", len(got))
	}
}
