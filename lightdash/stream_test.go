package lightdash_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// A list whose body breaks off half-way has been partly decoded when the
// break shows. It is retried, and the result is the second answer alone:
// nothing of the first survives into it.
func TestCutListIsRetriedFromScratch(t *testing.T) {
	for _, list := range []struct {
		name     string
		endpoint string
		count    func(*fixture) (int, error)
		want     int
	}{
		{"groups", epGroups, func(f *fixture) (int, error) {
			gs, err := f.c.ListGroups(context.Background())
			return len(gs), err
		}, 40},
		{"users", "/api/v1/org/users", func(f *fixture) (int, error) {
			us, err := f.c.ListUsers(context.Background())
			return len(us), err
		}, 3},
	} {
		t.Run(list.name, func(t *testing.T) {
			f := newFixture(t)
			for i := range 40 {
				if _, err := f.srv.AddGroup(fmt.Sprintf("g%02d", i), f.bob.UserUUID, f.carol.UserUUID); err != nil {
					t.Fatal(err)
				}
			}
			f.srv.FailNext(lightdashtest.Fault{Endpoint: list.endpoint, Cut: true})
			n, err := list.count(f)
			if err != nil || n != list.want {
				t.Fatalf("got %d items, %v; want %d after a retry", n, err, list.want)
			}
			if got := f.srv.RequestCount("GET " + list.endpoint); got != 2 {
				t.Errorf("got %d requests, want 2 (the cut one and its retry)", got)
			}
		})
	}
}

// A create whose answer breaks off may have happened: it is not re-sent
// but looked up.
func TestCutCreateIsRecovered(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(lightdashtest.Fault{Method: "POST", Cut: true})
	g, err := f.c.CreateGroup(context.Background(), "team", []string{f.bob.UserUUID})
	if err != nil || g.Name != "team" || !slices.Equal(g.MemberUUIDs, []string{f.bob.UserUUID}) {
		t.Fatalf("got %+v, %v; want the created group", g, err)
	}
	if got := f.srv.RequestCount("POST " + epGroups); got != 1 {
		t.Errorf("got %d POSTs, want 1", got)
	}
	if n := len(f.srv.Groups()); n != 1 {
		t.Errorf("got %d groups, want 1", n)
	}
}

// MemberUUIDsOnly drops the member summaries and nothing else.
func TestMemberUUIDsOnly(t *testing.T) {
	f := newFixture(t)
	if _, err := f.srv.AddGroup("a", f.bob.UserUUID, f.carol.UserUUID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.AddGroup("empty"); err != nil {
		t.Fatal(err)
	}
	full, err := f.c.ListGroups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lean := &lightdash.Client{BaseURL: f.srv.URL(), Token: f.srv.AdminToken(), MemberUUIDsOnly: true, Timeout: 5 * time.Second}
	got, err := lean.ListGroups(context.Background())
	if err != nil || len(got) != len(full) {
		t.Fatalf("got %d groups, %v; want %d", len(got), err, len(full))
	}
	byUUID := map[string]lightdash.GroupWithMembers{}
	for _, g := range full {
		if g.Name == "a" && len(g.Members) != 2 {
			t.Fatalf("default client: group a has members %+v, want 2", g.Members)
		}
		byUUID[g.UUID] = g
	}
	for _, g := range got {
		want := byUUID[g.UUID]
		if g.Members != nil {
			t.Errorf("group %s: got members %+v, want none", g.Name, g.Members)
		}
		// Lightdash orders members no way in particular: compare the sets.
		if g.Group != want.Group || !slices.Equal(slices.Sorted(slices.Values(g.MemberUUIDs)), slices.Sorted(slices.Values(want.MemberUUIDs))) {
			t.Errorf("got %+v %v, want %+v %v", g.Group, g.MemberUUIDs, want.Group, want.MemberUUIDs)
		}
	}
}
