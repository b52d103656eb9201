package ldap

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

const elsewhere = "ou=elsewhere,dc=example,dc=com"

// watchSnapConfig watches srv with a disabled-account rule, so that
// disabling a user is a change a snapshot must show.
func watchSnapConfig(srv *ldaptest.Server) Config {
	cfg := syncConfig(srv)
	cfg.Disabled, cfg.DisabledAttribute, cfg.DisabledValues = DisabledAttribute, "employeeType", []string{"disabled"}
	return cfg
}

// startWatched starts a watched source as the daemon does and returns it
// once the start-up snapshot (a full read) was taken and the session is
// in its persist phase.
func startWatched(t *testing.T, cfg Config) (*Source, *watching) {
	t.Helper()
	src := newSource(t, cfg)
	src.ExpectWatch()
	got := snapshotAsync(src)
	w := startWatch(t, src)
	if snap := waitSnap(t, got); snap.Read != sources.ReadFull {
		t.Fatalf("start-up snapshot read %q, want %q", snap.Read, sources.ReadFull)
	}
	w.waitReady(t)
	return src, w
}

// settle adds a marker group and waits for the watcher to report it:
// syncrepl sends changes in order, so every change made before is in the
// watcher's state.
func settle(t *testing.T, srv *ldaptest.Server, w *watching, n int) {
	t.Helper()
	dn := fmt.Sprintf("cn=marker-%d,%s", n, groups)
	srv.Add(dn, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {fmt.Sprintf("marker-%d", n)}, "member": {"uid=alice," + people}})
	w.waitChange(t, "marker", "", srv.EntryUUID(dn))
}

// snapshotRead takes a snapshot of src and checks how it was made.
func snapshotRead(t *testing.T, src *Source, want string) *sources.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	// A configuration that may not use the watcher's state always reads in
	// full, and says so by false.
	if inFull := src.WillReadInFull(ctx); inFull != (want == sources.ReadFull && src.watchSnapshots()) {
		t.Errorf("WillReadInFull %v before a snapshot that should read %q", inFull, want)
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if snap.Read != want {
		t.Fatalf("snapshot read %q, want %q", snap.Read, want)
	}
	return snap
}

// sameAsRead checks that snap is what a read of the directory returns.
func sameAsRead(t *testing.T, snap *sources.Snapshot, cfg Config) {
	t.Helper()
	want := read(t, cfg)
	if !snap.Complete || !reflect.DeepEqual(snap.Users, want.Users) || !reflect.DeepEqual(snap.Groups, want.Groups) {
		t.Fatalf("snapshot differs from a read of the directory:\n got  %+v\n want %+v", *snap, *want)
	}
}

// TestWatcherSnapshotIsAFullRead: after adds, removals, renames, moves,
// deletions, a disabled user and new nesting, the snapshot built from the
// watcher's state is exactly what a read of the directory returns, and
// takes no read.
func TestWatcherSnapshotIsAFullRead(t *testing.T) {
	srv := startDirectory(t)
	srv.Add(elsewhere, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"elsewhere"}})
	cfg := watchSnapConfig(srv)
	src, w := startWatched(t, cfg)

	srv.Add("uid=erin,"+people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"erin"}, "cn": {"Erin E"},
		"sn": {"E"}, "mail": {"erin@example.com"}})
	// Renamed while no group lists it (members renamed: TestWatcherReadsTheDirectoryWhenRefIntMayHaveActed).
	srv.Rename("cn=sales,"+groups, "cn=sales2", "")
	srv.Add("cn=analysts,"+groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"analysts"},
		"member": {"uid=erin," + people, "cn=sales2," + groups}})
	srv.Replace("cn=engineering,"+groups, map[string][]string{"member": {"uid=alice," + people, "cn=platform," + groups}})
	srv.Delete("cn=cycle-b," + groups)
	srv.Delete("uid=dave," + people)
	srv.Replace("uid=carol,"+people, map[string][]string{"employeeType": {"disabled"}})
	srv.Replace("uid=alice,"+people, map[string][]string{"mail": {"alice@new.example.com"}, "cn": {"Alice A"}})
	srv.Replace("cn=platform,"+groups, map[string][]string{"member": {"uid=carol," + people, "cn=analysts," + groups}})
	settle(t, srv, w, 1)

	paged := pagedReads(src)
	snap := snapshotRead(t, src, sources.ReadWatcher)
	if n := pagedReads(src); n != paged {
		t.Errorf("the watcher's snapshot made %v paged reads, want none", n-paged)
	}
	sameAsRead(t, snap, cfg)
	if n := value(src.metrics.snapshots.WithLabelValues("corp", sources.ReadWatcher)); n != 1 {
		t.Errorf("snapshots from the watcher counted %v, want 1", n)
	}
}

// TestWatcherReadsTheDirectoryWhenRefIntMayHaveActed: after a listed
// member is renamed, moved out of the base, or deleted and its DN taken
// again, a server with referential integrity (here slapd's refint
// overlay) changed the groups without syncrepl sending them, and one
// without it did not: the watcher cannot tell, so the next full run and
// the group reads come from the directory, and the session vouches again
// after that full run.
func TestWatcherReadsTheDirectoryWhenRefIntMayHaveActed(t *testing.T) {
	for _, refint := range []bool{true, false} {
		for _, c := range []struct {
			name   string
			change func(*ldaptest.Server)
			sure   bool // the watcher's state is right with refint and without
		}{
			{"member renamed", func(srv *ldaptest.Server) { srv.Rename("uid=bob,"+people, "uid=robert", "") }, false},
			{"nested group renamed", func(srv *ldaptest.Server) { srv.Rename("cn=platform,"+groups, "cn=platform2", "") }, false},
			// The rewritten value names no user either way.
			{"member moved out of the base", func(srv *ldaptest.Server) {
				srv.Add(elsewhere, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"elsewhere"}})
				srv.Rename("uid=carol,"+people, "uid=carol", elsewhere)
			}, true},
			{"member deleted", func(srv *ldaptest.Server) { srv.Delete("uid=bob," + people) }, true},
			{"member deleted, DN taken again", func(srv *ldaptest.Server) {
				srv.Delete("uid=bob," + people)
				srv.Add("uid=bob,"+people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"bob"}, "cn": {"Bob Again"},
					"sn": {"Again"}, "mail": {"bob.again@example.com"}})
			}, false},
		} {
			t.Run(fmt.Sprintf("%s, refint %v", c.name, refint), func(t *testing.T) {
				srv := startDirectory(t, func(cfg *ldaptest.Config) { cfg.RefInt = refint })
				cfg := watchSnapConfig(srv)
				src, w := startWatched(t, cfg)
				c.change(srv)
				settle(t, srv, w, 1)
				eng := []string{srv.EntryUUID("cn=engineering," + groups)}
				if c.sure {
					sameGroupsRead(t, src, cfg, groupsFromWatcher, map[string][]string{"engineering": eng})
					sameAsRead(t, snapshotRead(t, src, sources.ReadWatcher), cfg)
					return
				}
				sameGroupsRead(t, src, cfg, groupsFromDirectory, map[string][]string{"engineering": eng})
				sameAsRead(t, snapshotRead(t, src, sources.ReadFull), cfg)
				w.waitReady(t) // the session started again from that full read
				settle(t, srv, w, 2)
				sameAsRead(t, snapshotRead(t, src, sources.ReadWatcher), cfg)
				sameGroupsRead(t, src, cfg, groupsFromWatcher, map[string][]string{"engineering": eng})
			})
		}
	}
}

// TestWatcherSnapshotFallsBackToAFullRead: a full read is made when the
// watcher's last one is older than watch_snapshot_max_age and after a
// reconnect, whose refresh the session cannot vouch for. The watcher makes
// it, starting again, and vouches for its state afterwards.
func TestWatcherSnapshotFallsBackToAFullRead(t *testing.T) {
	for _, c := range []struct {
		name   string
		maxAge time.Duration
		gap    func(*ldaptest.Server, *watching)
	}{
		{"max age", time.Nanosecond, func(*ldaptest.Server, *watching) {}},
		{"reconnect", 0, func(srv *ldaptest.Server, w *watching) { srv.Restart(); w.waitReady(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startDirectory(t)
			cfg := watchSnapConfig(srv)
			cfg.WatchSnapshotMaxAge = c.maxAge
			src, w := startWatched(t, cfg)
			c.gap(srv, w)
			srv.Delete("uid=dave," + people)
			settle(t, srv, w, 1)
			sharedBefore := shared(src)
			sameAsRead(t, snapshotRead(t, src, sources.ReadFull), cfg)
			if n := shared(src) - sharedBefore; n != 1 {
				t.Errorf("full reads taken from the restarted watcher = %v, want 1", n)
			}
			w.waitReady(t) // the restarted session is in sync again
			srv.Delete("cn=cycle-b," + groups)
			settle(t, srv, w, 2)
			want := sources.ReadWatcher
			if c.maxAge == time.Nanosecond {
				want = sources.ReadFull
			}
			sameAsRead(t, snapshotRead(t, src, want), cfg)
		})
	}
}

// TestSessionFromAnOldTrackerIsNotVouched: a session that starts with a
// tracker it did not fill itself (a reconnect, or a refused cookie
// dropped mid-life) does not vouch for it, however its refresh went.
func TestSessionFromAnOldTrackerIsNotVouched(t *testing.T) {
	srv := startDirectory(t)
	src := newSource(t, syncConfig(srv))
	changes := make(chan sources.Change, 100)
	sw := &syncWatcher{s: src, changes: changes, saver: startCookieSaver(src.cookies, src.cfg.CookieKey, src.log)}
	defer sw.saver.stop()
	sw.newTracker()
	if err := sw.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 10)
	src.onRefreshDone = func() { ready <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.session(ctx, newBackoff(src.cfg.ReconnectMin, src.cfg.ReconnectMax)) }()
	defer func() { cancel(); <-done }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("session ended: %v", err)
	case <-time.After(eventTimeout):
		t.Fatal("refresh did not finish")
	}
	if snap := src.snapshotFromWatcher(context.Background()); snap != nil {
		t.Fatal("a session without a cookie on an old tracker served a snapshot from it")
	}
}

// TestSnapshotLeavesAnUnqualifiedWatcherAlone: when the configuration
// cannot take snapshots from the syncrepl watcher (here a one-level group
// scope), Snapshot reads the directory itself and does not end the
// session to make it read again, which would be a second full read.
func TestSnapshotLeavesAnUnqualifiedWatcherAlone(t *testing.T) {
	srv := startDirectory(t)
	cfg := watchSnapConfig(srv)
	cfg.GroupScope = "one"
	src, w := startWatched(t, cfg)
	paged := pagedReads(src)
	sameAsRead(t, snapshotRead(t, src, sources.ReadFull), cfg)
	if n := pagedReads(src) - paged; n != 1 {
		t.Errorf("Snapshot made %v paged reads, want 1", n)
	}
	// A session that restarted ends its refresh before it reports the
	// marker.
	settle(t, srv, w, 1)
	if n := len(w.ready); n != 0 {
		t.Errorf("the syncrepl session restarted %d times for a Snapshot, want 0", n)
	}
}

// TestForcedFullReadSkipsTheWatchersState: a Snapshot whose context asks
// for a full read (POST /reconcile?read=full) does not take the state of
// a watcher that vouches for it; the watcher starts again from a full
// read, which the Snapshot takes, and vouches again afterwards.
func TestForcedFullReadSkipsTheWatchersState(t *testing.T) {
	srv := startDirectory(t)
	cfg := watchSnapConfig(srv)
	src, w := startWatched(t, cfg)
	srv.Delete("uid=dave," + people)
	settle(t, srv, w, 1)
	sharedBefore := shared(src)
	ctx, cancel := context.WithTimeout(sources.WithFullRead(context.Background()), eventTimeout)
	defer cancel()
	if !src.WillReadInFull(ctx) {
		t.Error("WillReadInFull false for a forced full read")
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if snap.Read != sources.ReadFull {
		t.Fatalf("forced snapshot read %q, want %q", snap.Read, sources.ReadFull)
	}
	sameAsRead(t, snap, cfg)
	if n := shared(src) - sharedBefore; n != 1 {
		t.Errorf("full reads taken from the restarted watcher = %v, want 1", n)
	}
	w.waitReady(t)
	sameAsRead(t, snapshotRead(t, src, sources.ReadWatcher), cfg)
}
