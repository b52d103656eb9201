package ldap

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// snapshotAsync starts src.Snapshot and returns where its answer arrives.
func snapshotAsync(src *Source) <-chan snapResult {
	out := make(chan snapResult, 1)
	go func() {
		snap, err := src.Snapshot(context.Background())
		out <- snapResult{snap, err}
	}()
	return out
}

type snapResult struct {
	snap *sources.Snapshot
	err  error
}

func (r snapResult) get(t *testing.T) *sources.Snapshot {
	t.Helper()
	if r.err != nil {
		t.Fatalf("Snapshot: %v", r.err)
	}
	return r.snap
}

func waitSnap(t *testing.T, ch <-chan snapResult) *sources.Snapshot {
	t.Helper()
	select {
	case r := <-ch:
		return r.get(t)
	case <-time.After(eventTimeout):
		t.Fatal("Snapshot did not return")
		return nil
	}
}

// sameSnapshot compares two snapshots but for when and how they were read.
func sameSnapshot(t *testing.T, got, want *sources.Snapshot) {
	t.Helper()
	g, w := *got, *want
	g.ReadAt, w.ReadAt = time.Time{}, time.Time{}
	g.Read, w.Read = "", ""
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("snapshot differs from a read of the directory:\n got  %+v\n want %+v", g, w)
	}
	if len(g.Users) == 0 || len(g.Groups) == 0 {
		t.Fatalf("empty snapshot: %d users, %d groups", len(g.Users), len(g.Groups))
	}
}

// read is a plain read by a source nobody watches.
func read(t *testing.T, cfg Config) *sources.Snapshot {
	t.Helper()
	snap, err := newSource(t, cfg).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// sharedRefresh starts a watcher on a source of cfg as the daemon does
// and returns the start-up Snapshot, checking it came from the watcher's
// refresh and not from a read of its own.
func sharedRefresh(t *testing.T, cfg Config) *sources.Snapshot {
	t.Helper()
	src := newSource(t, cfg)
	src.ExpectWatch()
	got := snapshotAsync(src)
	startWatch(t, src)
	snap := waitSnap(t, got)
	wantReads(t, src, 0, 1)
	return snap
}

// wantReads checks how many paged reads of the users src made and how
// many snapshots it took from its watcher.
func wantReads(t *testing.T, src *Source, paged, sharedSnaps float64) {
	t.Helper()
	if n := pagedReads(src); n != paged {
		t.Errorf("paged reads of users = %v, want %v", n, paged)
	}
	if n := shared(src); n != sharedSnaps {
		t.Errorf("snapshots taken from the watcher = %v, want %v", n, sharedSnaps)
	}
}

func pagedReads(src *Source) float64 {
	return value(src.metrics.searches.WithLabelValues(src.cfg.Name, "users", "ok"))
}

func shared(src *Source) float64 {
	return value(src.metrics.shared.WithLabelValues(src.cfg.Name))
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestSnapshotSharesTheFirstRefresh: after ExpectWatch, a Snapshot that
// starts before the watcher (as the daemon's start-up reconciliation may)
// waits for the refresh of a session without a cookie and is built from
// it, equal to a read of the directory, without a read of its own.
func TestSnapshotSharesTheFirstRefresh(t *testing.T) {
	srv := startDirectory(t)
	want := read(t, syncConfig(srv))
	src := newSource(t, syncConfig(srv))
	src.ExpectWatch()
	got := snapshotAsync(src)
	time.Sleep(50 * time.Millisecond) // the Snapshot is waiting before Watch starts
	w := startWatch(t, src)
	sameSnapshot(t, waitSnap(t, got), want)
	wantReads(t, src, 0, 1) // the snapshot came from the refresh
	// The watcher goes on: a change after the hand-over is reported.
	w.waitReady(t)
	carol := userIDsByUID(srv, "carol")[0]
	srv.Replace("uid=carol,"+people, map[string][]string{"mail": {"carol@later.example.com"}})
	w.waitChange(t, "change after the hand-over", carol)
	// Only the first Snapshot is shared; the next is built from the
	// watcher's state, change included, without a read (watchstate.go).
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Read != sources.ReadWatcher {
		t.Errorf("a second Snapshot read %q, want %q", snap.Read, sources.ReadWatcher)
	}
	sameSnapshot(t, snap, read(t, syncConfig(srv)))
	wantReads(t, src, 0, 1)
}

// TestSnapshotSharesTheResumeRead: a session resuming from a cookie reads
// the directory before its refresh; that read is the start-up snapshot,
// and what changed while the daemon was down still arrives as changes.
func TestSnapshotSharesTheResumeRead(t *testing.T) {
	srv := startDirectory(t)
	cookies := cookieSaved(t, srv)

	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	srv.Replace("cn=sales,"+groups, map[string][]string{"uniqueMember": {"uid=dave," + people, "uid=alice," + people}})
	want := read(t, syncConfig(srv))

	src, err := New(syncConfig(srv), cookies, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.ExpectWatch()
	got := snapshotAsync(src)
	w2 := startWatch(t, src)
	sameSnapshot(t, waitSnap(t, got), want)
	wantReads(t, src, 1, 1) // the watcher's read, shared
	w2.waitGroups(t, "change made while stopped", gid("sales"))
}

// TestSnapshotReadsWhenItCannotShare: whenever the watcher cannot offer
// its read, a Snapshot waiting for it reads the directory itself. (One
// that comes late gets the watcher's current state: TestSnapshotSharesTheFirstRefresh.)
func TestSnapshotReadsWhenItCannotShare(t *testing.T) {
	srv := startDirectory(t)
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		watch bool // start Watch at all
	}{
		{name: "one-level user scope: the refresh sees more than the read", cfg: func(c *Config) { c.UserScope = "one" }, watch: true},
		{name: "poll mode", cfg: func(c *Config) { c.Watch = WatchPoll; c.PollInterval = time.Hour }, watch: true},
		{name: "no watch mode", cfg: func(c *Config) { c.Watch = WatchNone }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := syncConfig(srv)
			tc.cfg(&cfg)
			want := read(t, cfg)
			src := newSource(t, cfg)
			src.ExpectWatch()
			got := snapshotAsync(src)
			if tc.watch {
				startWatch(t, src)
			}
			sameSnapshot(t, waitSnap(t, got), want)
			if n := pagedReads(src); n < 1 {
				t.Errorf("paged reads of users = %v, want at least 1: the snapshot must be read", n)
			}
			if n := shared(src); n != 0 {
				t.Errorf("shared snapshots metric = %v, want 0", n)
			}
		})
	}
}

// TestSnapshotWaitEndsWithItsContext: a Snapshot waiting for a watcher
// that never starts ends with its context.
func TestSnapshotWaitEndsWithItsContext(t *testing.T) {
	srv := startDirectory(t)
	src := newSource(t, syncConfig(srv))
	src.ExpectWatch()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := src.Snapshot(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Snapshot: %v, want the context's deadline", err)
	}
	// The abandoned wait does not capture the next Snapshot's answer.
	got := snapshotAsync(src)
	startWatch(t, src)
	sameSnapshot(t, waitSnap(t, got), read(t, syncConfig(srv)))
	if n := shared(src); n != 1 {
		t.Errorf("shared snapshots metric = %v, want 1", n)
	}
}

// TestSnapshotWaitEndsWhenTheWatcherFails: a watcher that cannot reach
// its server declines, and the waiting Snapshot reports its own failure
// instead of waiting through the watcher's reconnects.
func TestSnapshotWaitEndsWhenTheWatcherFails(t *testing.T) {
	srv := startDirectory(t)
	for _, mode := range []string{WatchSyncrepl, WatchAuto} { // auto fails earlier, reading the root DSE
		t.Run(mode, func(t *testing.T) {
			cfg := syncConfig(srv)
			cfg.Watch = mode
			cfg.URLs = []string{"ldap://127.0.0.1:1"}
			cfg.ConnectTimeout = time.Second
			src := newSource(t, cfg)
			src.ExpectWatch()
			got := snapshotAsync(src)
			startWatch(t, src)
			select {
			case r := <-got:
				if r.err == nil {
					t.Fatal("Snapshot of an unreachable server succeeded")
				}
			case <-time.After(eventTimeout):
				t.Fatal("Snapshot still waiting for a watcher that cannot connect")
			}
		})
	}
}

// TestSharedSnapshotIsIncompleteAsAReadIs: entries the refresh sends that
// cannot be decoded (here every group: they have no sn, the id attribute)
// make the shared snapshot incomplete with the reasons a read gives.
func TestSharedSnapshotIsIncompleteAsAReadIs(t *testing.T) {
	srv := startDirectory(t)
	cfg := syncConfig(srv)
	cfg.IDAttribute = "sn"
	want := read(t, cfg)
	if want.Complete {
		t.Fatal("fixture: a read with sn as the id should be incomplete")
	}
	// The cookie-less refresh, and the read before a resumed one.
	cookies := cookieSaved(t, srv)
	src, err := New(cfg, cookies, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.ExpectWatch()
	resumed := snapshotAsync(src)
	startWatch(t, src)
	for what, snap := range map[string]*sources.Snapshot{"refresh": sharedRefresh(t, cfg), "resume read": waitSnap(t, resumed)} {
		if snap.Complete {
			t.Fatalf("%s: shared snapshot complete; a read of the same directory is not", what)
		}
		// The refresh sends entries in its own order: compare the reasons as sets.
		reasons := func(s *sources.Snapshot) []string {
			r := strings.Split(s.IncompleteReason, "; ")
			slices.Sort(r)
			return r
		}
		if g, w := reasons(snap), reasons(want); !slices.Equal(g, w) {
			t.Errorf("%s: reasons:\n got  %q\n want %q", what, g, w)
		}
		got, w := *snap, *want
		got.IncompleteReason, w.IncompleteReason = "", ""
		got.ReadAt, w.ReadAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, w) || len(got.Users) == 0 {
			t.Errorf("%s: snapshot differs from a read of the directory:\n got  %+v\n want %+v", what, got, w)
		}
	}
	wantReads(t, src, 1, 1)
}

// TestSnapshotStopsWaitingForAStalledWatcher: a watcher that shows no
// progress for Timeout (here: never started) no longer holds the
// Snapshot, which reads the directory itself.
func TestSnapshotStopsWaitingForAStalledWatcher(t *testing.T) {
	srv := startDirectory(t)
	cfg := syncConfig(srv)
	cfg.Timeout = 300 * time.Millisecond
	src := newSource(t, cfg)
	src.ExpectWatch()
	sameSnapshot(t, waitSnap(t, snapshotAsync(src)), read(t, syncConfig(srv)))
	wantReads(t, src, 1, 0)
}

// TestRefreshShareable: a cookie-less refresh stands in for a read only
// when both searches are subtree searches under the watcher's base.
func TestRefreshShareable(t *testing.T) {
	for _, tc := range []struct {
		name        string
		users, grps string
		uScope, gSc string
		wantShared  bool
	}{
		{"both sub under a common base", "ou=people,dc=x", "ou=groups,dc=x", "sub", "sub", true},
		{"subtree spelled out, any case", "ou=people,dc=x", "ou=groups,dc=x", "SubTree", "sub", true},
		{"one-level users", "ou=people,dc=x", "ou=groups,dc=x", "one", "sub", false},
		{"base groups", "ou=people,dc=x", "ou=groups,dc=x", "sub", "base", false},
		{"no common suffix: no watch base", "ou=people,dc=x", "ou=groups,dc=y", "sub", "sub", false},
		{"no user base", "", "ou=groups,dc=x", "sub", "sub", false},
		{"unparsable user base: the watch base is the group base", "people", "ou=groups,dc=x", "sub", "sub", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Source{cfg: Config{UserBaseDN: tc.users, GroupBaseDN: tc.grps, UserScope: tc.uScope, GroupScope: tc.gSc}}
			if got := s.refreshShareable(); got != tc.wantShared {
				t.Errorf("refreshShareable = %v, want %v (watch base %q)", got, tc.wantShared, s.watchBase())
			}
		})
	}
}

// TestSharedSnapshotReportsReferrals: a referral the refresh sends (here
// a referral object under the people base) makes the shared snapshot
// incomplete, as it makes a read.
func TestSharedSnapshotReportsReferrals(t *testing.T) {
	srv := startDirectory(t)
	const ref = "ldap://127.0.0.1:1/ou=remote,dc=example,dc=com"
	srv.Add("ou=remote,"+people, map[string][]string{"objectClass": {"referral", "extensibleObject"}, "ou": {"remote"}, "ref": {ref}})
	cfg := syncConfig(srv)
	want := read(t, cfg)
	snap := sharedRefresh(t, cfg)
	for what, s := range map[string]*sources.Snapshot{"read": want, "shared": snap} {
		if s.Complete || !strings.Contains(s.IncompleteReason, ref) {
			t.Errorf("%s snapshot: complete %v, reason %q; want incomplete, naming the referral", what, s.Complete, s.IncompleteReason)
		}
	}
	snap.IncompleteReason, want.IncompleteReason = "", ""
	sameSnapshot(t, snap, want)
}
