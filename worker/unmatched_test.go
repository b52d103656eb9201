package worker

import (
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestUnmatchedSetFollowsEventPlans: what an event plan decides about the
// groups it read changes the count; users in groups it did not read keep
// theirs until the next full plan.
func TestUnmatchedSetFollowsEventPlans(t *testing.T) {
	zed := &sources.DirUser{ID: "zed", Email: "zed@example.com"}
	yan := &sources.DirUser{ID: "yan", Email: "yan@example.com"}
	full := &Plan{Unmatched: []UnmatchedUser{
		{Source: "dir", UserID: "zed", Groups: []string{"analysts", "engineers"}},
		{Source: "dir", UserID: "yan", Groups: []string{"analysts"}},
	}}
	group := func(name string, ms ...*sources.DirUser) DesiredGroup {
		g := DesiredGroup{Name: name}
		for _, m := range ms {
			g.Members = append(g.Members, Member{Source: "dir", DirUser: m})
		}
		return g
	}
	cases := []struct {
		name  string
		snap  []sources.DirUser
		d     []DesiredGroup
		still []UnmatchedUser
		want  int
	}{
		{"yan left analysts, zed is still in it", nil, []DesiredGroup{group("analysts", zed)},
			[]UnmatchedUser{{Source: "dir", UserID: "zed", Groups: []string{"analysts"}}}, 1},
		{"zed left analysts but not engineers", nil, []DesiredGroup{group("analysts", yan)},
			[]UnmatchedUser{{Source: "dir", UserID: "yan", Groups: []string{"analysts"}}}, 2},
		{"both removed from analysts", nil, []DesiredGroup{group("analysts")}, nil, 1},
		{"zed got an account", nil, []DesiredGroup{group("engineers", zed)}, nil, 1},
		{"yan disabled", []sources.DirUser{{ID: "yan", Disabled: true}}, []DesiredGroup{group("other")}, nil, 1},
		{"a new user", nil, []DesiredGroup{group("ops")},
			[]UnmatchedUser{{Source: "dir", UserID: "xi", Groups: []string{"ops"}}}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s unmatchedSet
			if got := s.reset(full); got != 2 {
				t.Fatalf("after the full plan %d, want 2", got)
			}
			snaps := []*sources.Snapshot{{Source: "dir", Users: c.snap}}
			if got := s.update(snaps, &Desired{Groups: c.d}, &Plan{Unmatched: c.still}); got != c.want {
				t.Errorf("after the event plan %d, want %d", got, c.want)
			}
		})
	}
}
