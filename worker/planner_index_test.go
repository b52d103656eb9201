package worker

import (
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// TestGroupIndexSortedOrNot: the index answers the same whether the groups
// come sorted by uuid (the view's, searched) or not (mapped): by uuid the
// last of equal ones, by trimmed name the last in order, and the least
// owning key.
func TestGroupIndexSortedOrNot(t *testing.T) {
	g := func(uuid, name string) lightdash.GroupWithMembers {
		return lightdash.GroupWithMembers{Group: lightdash.Group{UUID: uuid, Name: name}}
	}
	st := NewState()
	st.Groups["k2"] = &OwnedGroup{UUID: "b", Name: "B"}
	st.Groups["k1"] = &OwnedGroup{UUID: "b", Name: "B"}
	st.Groups["k3"] = &OwnedGroup{Name: "creating"}
	for _, tc := range []struct {
		name    string
		groups  []lightdash.GroupWithMembers
		lastDup string // uuid of the last group named "dup"
	}{
		{"sorted", []lightdash.GroupWithMembers{g("a", "A"), g("b", " B "), g("c", "dup"), g("c", "C"), g("d", "dup")}, "d"},
		{"unsorted", []lightdash.GroupWithMembers{g("d", "dup"), g("b", " B "), g("a", "A"), g("c", "dup"), g("c", "C")}, "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &groupIndex{groups: tc.groups, st: st}
			for _, q := range []struct{ uuid, want string }{{"a", "A"}, {"b", " B "}, {"c", "C"}, {"e", ""}, {"", ""}} {
				got := ""
				if g := x.group(q.uuid); g != nil {
					got = g.Name
				}
				if got != q.want {
					t.Errorf("group(%q) = %q, want %q", q.uuid, got, q.want)
				}
			}
			if g := x.named("B"); g == nil || g.UUID != "b" {
				t.Errorf("named(B) = %+v, want the group b (names are trimmed)", g)
			}
			if g := x.named("dup"); g == nil || g.UUID != tc.lastDup {
				t.Errorf("named(dup) = %+v, want the last in order", g)
			}
			if got := x.owner("b"); got != "k1" {
				t.Errorf("owner(b) = %q, want k1, the least key", got)
			}
			if got := x.owner(""); got != "" {
				t.Errorf("owner(\"\") = %q, want none (creates in flight own nothing)", got)
			}
		})
	}
}
