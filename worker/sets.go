package worker

import "sort"

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
