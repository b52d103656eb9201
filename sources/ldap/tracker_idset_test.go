package ldap

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIDSet(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("id%02d", i)
		}
		return out
	}
	cases := []struct {
		name   string
		add    []string
		remove []string
		want   []string
	}{
		{"empty", nil, nil, nil},
		{"duplicates kept once", []string{"a", "b", "a"}, nil, []string{"a", "b"}},
		{"removed", []string{"a", "b", "c"}, []string{"b", "x"}, []string{"a", "c"}},
		{"five", ids(5), nil, ids(5)},
		{"emptied", []string{"a"}, []string{"a", "a"}, nil},
		{"at the slice limit", ids(idSetSmall), []string{"id00"}, ids(idSetSmall)[1:]},
		{"past it, as a map", append(ids(idSetSmall+5), "id03"), []string{"id04", "id20"}, slices.Delete(ids(idSetSmall+4), 4, 5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s idSet
			for _, id := range c.add {
				s.add(id)
			}
			for _, id := range c.remove {
				s.remove(id)
			}
			got := slices.Sorted(s.all())
			if !slices.Equal(got, c.want) || s.len() != len(c.want) {
				t.Errorf("got %v (len %d), want %v", got, s.len(), c.want)
			}
			if big := len(c.add) > idSetSmall; (s.big != nil) != big {
				t.Errorf("held as a map: %v, want %v", s.big != nil, big)
			}
			if len(c.remove) == 0 && cap(s.small) != len(s.small) {
				t.Errorf("%d ids in a slice of cap %d: added ids grow it exactly", len(s.small), cap(s.small))
			}
		})
	}
	var none *idSet
	if none.len() != 0 || len(slices.Collect(none.all())) != 0 {
		t.Error("a nil set is not empty")
	}
}

// TestIDSetRandomized compares an idSet with a map over seeded random adds
// and removes that cross the slice limit both ways.
func TestIDSetRandomized(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s idSet
	want := map[string]bool{}
	for step := range 5000 {
		id := fmt.Sprint(r.IntN(2 * idSetSmall))
		if r.IntN(3) == 0 {
			s.remove(id)
			delete(want, id)
		} else {
			s.add(id)
			want[id] = true
		}
		if got := slices.Sorted(s.all()); !slices.Equal(got, slices.Sorted(maps.Keys(want))) || s.len() != len(want) {
			t.Fatalf("step %d: got %v (len %d), want %v", step, got, s.len(), slices.Sorted(maps.Keys(want)))
		}
	}
}
