package ldap

import (
	"context"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestDirSyncSnapshotDoesNotWaitForABlockedPoll: a poll whose change
// nobody takes (a daemon whose queue is full) does not hold Snapshot past
// the operation timeout: the snapshot is not taken from the watcher.
func TestDirSyncSnapshotDoesNotWaitForABlockedPoll(t *testing.T) {
	rec := &recordedDirSync{rounds: []dirSyncRound{
		{entries: []*goldap.Entry{adUser("Alice", 1), adUser("Bob", 2), adEntry("CN=Eng,"+adGroups, 10, map[string][]string{
			"objectClass": {"top", "group"}, "name": {"Eng"}, "member;range=1-1": {userDN("Alice")}})}, cookie: "c1"},
		{entries: []*goldap.Entry{adEntry("CN=Eng,"+adGroups, 10, map[string][]string{"member;range=1-1": {userDN("Bob")}})}, cookie: "c2"},
	}}
	s := recordedSource(t, rec)
	s.cfg.PollInterval, s.cfg.Timeout = time.Hour, 50*time.Millisecond
	ready := make(chan struct{}, 10)
	s.onRefreshDone = func() { ready <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, make(chan sources.Change)) }() // nobody takes its changes
	defer func() { cancel(); <-done }()
	select {
	case <-ready:
	case <-time.After(eventTimeout):
		t.Fatal("the first poll did not end")
	}
	got := make(chan *sources.Snapshot, 1)
	go func() { got <- s.snapshotFromWatcher(context.Background()) }()
	select {
	case snap := <-got:
		if snap != nil {
			t.Fatal("a snapshot was taken from a watcher whose poll did not end")
		}
	case <-time.After(eventTimeout):
		t.Fatal("Snapshot waited for a poll blocked on sending its change")
	}
}
