package memory

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

func fixture() *Source {
	s := New("mem")
	s.Replace([]sources.DirGroup{
		{ID: "g1", Name: "Eng", MemberUsers: []string{"u1"}, MemberGroups: []string{"g2"}},
		{ID: "g2", Name: "Backend", MemberUsers: []string{"u2"}},
		{ID: "g3", Name: "Sales", MemberUsers: []string{"u3"}},
	}, []sources.DirUser{
		{ID: "u1", Email: "a@x"}, {ID: "u2", Email: "b@x"}, {ID: "u3", Email: "c@x"},
	})
	return s
}

func ids(gs []sources.DirGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

func TestSnapshot(t *testing.T) {
	s := fixture()
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(snap.Groups), []string{"g1", "g2", "g3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
	if !snap.Complete || snap.Source != "mem" || len(snap.Users) != 3 {
		t.Errorf("snapshot %+v", snap)
	}
	// The snapshot is a copy: changing it does not change the source.
	snap.Groups[0].MemberUsers[0] = "changed"
	again, _ := s.Snapshot(context.Background())
	if again.Groups[0].MemberUsers[0] != "u1" {
		t.Error("snapshot aliases the source's slices")
	}
	s.SetIncomplete("size limit")
	snap, _ = s.Snapshot(context.Background())
	if snap.Complete || snap.IncompleteReason != "size limit" {
		t.Errorf("complete %v reason %q, want incomplete", snap.Complete, snap.IncompleteReason)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Snapshot(ctx); err == nil {
		t.Error("Snapshot with a cancelled context: no error")
	}
}

func TestReadGroups(t *testing.T) {
	s := fixture()
	snap, err := s.ReadGroups(context.Background(), []string{"g1", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(snap.Groups), []string{"g1", "g2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("groups %v, want %v (named group and its nested group)", got, want)
	}
	var users []string
	for _, u := range snap.Users {
		users = append(users, u.ID)
	}
	if want := []string{"u1", "u2"}; !reflect.DeepEqual(users, want) {
		t.Errorf("users %v, want %v", users, want)
	}
}

func TestWatch(t *testing.T) {
	s := fixture()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan sources.Change) // unbuffered: setters must not block on it
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() { defer wg.Done(); werr = s.Watch(ctx, changes) }()
	for s.Watching() == 0 {
		time.Sleep(time.Millisecond)
	}
	s.SetUser(sources.DirUser{ID: "u2", Email: "b2@x"})
	s.SetGroup(sources.DirGroup{ID: "g3", Name: "Sales EU"})
	s.DeleteGroup("g2")
	want := []sources.Change{
		{Source: "mem", GroupIDs: []string{"g1", "g2"}, UserIDs: []string{"u2"}, Reason: "user set"},
		{Source: "mem", GroupIDs: []string{"g3"}, UserIDs: []string{}, Reason: "group set"},
		{Source: "mem", GroupIDs: []string{"g1", "g2"}, UserIDs: []string{}, Reason: "group deleted"},
	}
	for i, w := range want {
		got := <-changes
		if !reflect.DeepEqual(got.GroupIDs, w.GroupIDs) || got.Reason != w.Reason || got.Source != w.Source {
			t.Errorf("change %d: got %+v, want %+v", i, got, w)
		}
	}
	cancel()
	wg.Wait()
	if werr != context.Canceled {
		t.Errorf("Watch returned %v, want context.Canceled", werr)
	}
	if s.Watching() != 0 {
		t.Error("watcher not removed after Watch returned")
	}
}
