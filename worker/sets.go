package worker

import (
	"slices"
	"sort"
)

// applyDiff returns the sorted, de-duplicated member list cur - remove + add:
// Lightdash answers 400 to a PATCH with a duplicate uuid.
func applyDiff(cur, add, remove []string) []string {
	s := setOf(cur)
	for _, u := range remove {
		delete(s, u)
	}
	for _, u := range add {
		s[u] = true
	}
	return sortedKeys(s)
}

func setOf(l []string) map[string]bool {
	s := make(map[string]bool, len(l))
	for _, v := range l {
		s[v] = true
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equalSets(a, b []string) bool {
	sa, sb := setOf(a), setOf(b)
	if len(sa) != len(sb) {
		return false
	}
	for k := range sa {
		if !sb[k] {
			return false
		}
	}
	return true
}

// sorted returns a sorted copy of l, duplicates kept.
func sorted(l []string) []string {
	out := append([]string(nil), l...)
	slices.Sort(out)
	return out
}

// The helpers below work on sorted, de-duplicated lists and return new
// ones; nil stands for the empty list.

// sortedUnique returns l sorted without duplicates: l itself when it
// already is (a Lightdash member list usually is: it was sent sorted),
// otherwise a sorted copy. Neither l nor the result is ever modified, so
// sharing costs nothing, and a plan holds no second copy of every current
// member list.
func sortedUnique(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	if strictlySorted(l) {
		return l
	}
	out := slices.Clone(l)
	slices.Sort(out)
	return slices.Compact(out)
}

func strictlySorted(l []string) bool {
	for i := 1; i < len(l); i++ {
		if l[i-1] >= l[i] {
			return false
		}
	}
	return true
}

// minus returns a − b.
func minus(a, b []string) []string {
	var out []string
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}

// intersect returns a ∩ b.
func intersect(a, b []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// union returns a ∪ b.
func union(a, b []string) []string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
