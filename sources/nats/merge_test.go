package nats

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergeOneMatchesMergeMany: the scan for a single added member finds
// what the maps find, for members drawn from a small pool of ids and
// emails (in varying case) so that every kind of match occurs.
func TestMergeOneMatchesMergeMany(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := []string{"", "", "u1", "u2", "u3"}
	emails := []string{"", "a@x.io", "A@x.io", "b@x.io", "B@X.IO", "c@x.io"}
	member := func() Member {
		for {
			m := Member{ID: ids[r.IntN(len(ids))], Email: emails[r.IntN(len(emails))]}
			if m.ID != "" || m.Email != "" {
				return m
			}
		}
	}
	for n := range 20000 {
		var have []Member
		for range r.IntN(6) {
			have = append(have, member())
		}
		m := member()
		before := slices.Clone(have)
		got, want := mergeOne(have, m), mergeMany(have, []Member{m})
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: merge %+v into %+v: got %+v, want %+v", n, m, have, got, want)
		}
		if !slices.Equal(have, before) {
			t.Fatalf("case %d: mergeOne changed its input", n)
		}
		if len(got) > 0 {
			got[0].ID = fmt.Sprint("changed", n) // the result shares nothing with have
			if !slices.Equal(have, before) {
				t.Fatalf("case %d: result aliases the input", n)
			}
		}
	}
}

// TestMergeManyMatchesOneAtATime: merging several members at once leaves
// what merging them one at a time leaves, also when one of them changes a
// member's email (its maps must follow the change).
func TestMergeManyMatchesOneAtATime(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ids := []string{"", "", "u1", "u2", "u3"}
	emails := []string{"", "a@x.io", "A@x.io", "b@x.io", "B@X.IO", "c@x.io"}
	member := func() Member {
		for {
			m := Member{ID: ids[r.IntN(len(ids))], Email: emails[r.IntN(len(emails))]}
			if m.ID != "" || m.Email != "" {
				return m
			}
		}
	}
	for n := range 20000 {
		var have, add []Member
		for range r.IntN(6) {
			have = append(have, member())
		}
		for range 2 + r.IntN(4) {
			add = append(add, member())
		}
		want := have
		for _, m := range add {
			want = mergeOne(want, m)
		}
		if got := mergeMany(have, add); !slices.Equal(got, want) {
			t.Fatalf("case %d: merge %+v into %+v: got %+v, want %+v", n, add, have, got, want)
		}
	}
}
