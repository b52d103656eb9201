package ldap

import (
	"context"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// cuttableDirSync dials Samba for each DirSync session, so a test can cut
// the live connection or spoil the next cookie it sends.
type cuttableDirSync struct {
	d     *adDir
	mu    sync.Mutex
	conn  *goldap.Conn
	spoil bool
}

func (c *cuttableDirSync) open() dirSyncer {
	conn, err := c.d.srv.Dial()
	if err != nil {
		c.d.t.Errorf("dial samba: %v", err)
		return failingDirSync{}
	}
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	return &spoilingDirSync{Conn: conn, c: c}
}

// cut closes the live connection, as a network failure would.
func (c *cuttableDirSync) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.Close()
}

type spoilingDirSync struct {
	*goldap.Conn
	c *cuttableDirSync
}

func (s *spoilingDirSync) DirSync(req *goldap.SearchRequest, flags, maxAttr int64, cookie []byte) (*goldap.SearchResult, error) {
	s.c.mu.Lock()
	if s.c.spoil && len(cookie) > 0 {
		s.c.spoil = false
		cookie = cookie[:len(cookie)/2] // Samba cannot parse it
	}
	s.c.mu.Unlock()
	return s.Conn.DirSync(req, flags, maxAttr, cookie)
}

type failingDirSync struct{ searcher }

func (failingDirSync) DirSync(*goldap.SearchRequest, int64, int64, []byte) (*goldap.SearchResult, error) {
	return nil, goldap.NewError(goldap.ErrorNetwork, errNoResultDone)
}
func (failingDirSync) Close() error { return nil }

// startADWatched starts a DirSync watcher on d (polling only when asked:
// the interval is an hour) and returns once its first poll is done.
func startADWatched(t *testing.T, d *adDir, cfg Config, cookies CookieStore) (*Source, *watching, *cuttableDirSync) {
	t.Helper()
	cfg.PollInterval = time.Hour
	src := newSource(t, cfg)
	if cookies != nil {
		src.cookies = cookies
	}
	c := &cuttableDirSync{d: d}
	src.dirSyncOpen = c.open
	w := startWatch(t, src)
	w.waitReady(t)
	return src, w, c
}

// askPoll makes the watcher of src poll now, as Snapshot does.
func askPoll(t *testing.T, src *Source) error {
	t.Helper()
	src.ws.mu.RLock()
	poll := src.ws.poll
	src.ws.mu.RUnlock()
	ctx, cancel := context.WithTimeout(t.Context(), eventTimeout)
	defer cancel()
	return poll(ctx)
}

func dirSyncs(src *Source) float64 {
	return value(src.metrics.searches.WithLabelValues(src.cfg.Name, "dirsync", "ok"))
}

// TestDirSyncWatcherSnapshotIsAFullRead: a Snapshot taken while the
// DirSync watcher vouches for its state polls first, so changes made just
// before it (members added and removed, a member renamed, a user disabled
// and one given another mail, a group renamed, one deleted, new entries, a
// member deleted and a new user with its DN)
// are in it; it is exactly what a read of the directory returns, and it
// makes no paged read.
func TestDirSyncWatcherSnapshotIsAFullRead(t *testing.T) {
	d := newADDir(t)
	s := seedAD(t, d)
	dan := d.addUser("dan", "dan@example.com", false)
	d.addGroup("ops", []string{dan}, nil)
	cfg := d.config()
	src, _, _ := startADWatched(t, d, cfg, nil)

	erin := d.addUser("erin", "erin@example.com", false)
	d.addGroup("analysts", []string{erin, s.cat}, []string{s.eng})
	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Add("member", []string{d.dnOf(s.bob)}) })
	d.mod(s.sales, func(r *goldap.ModifyRequest) { r.Delete("member", []string{d.dnOf(s.cat)}) })
	d.mod(s.cat, func(r *goldap.ModifyRequest) { r.Replace("userAccountControl", []string{"514"}) })
	d.mod(s.ann, func(r *goldap.ModifyRequest) { r.Replace("mail", []string{"ann@new.example.com"}) })
	if err := d.conn.ModifyDN(goldap.NewModifyDNRequest(d.dnOf(s.bob), "CN=robert", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := d.conn.ModifyDN(goldap.NewModifyDNRequest(d.dnOf(s.sales), "CN=sales-emea", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteGroup(t.Context(), s.all); err != nil {
		t.Fatal(err)
	}
	// A member deleted and a new user given its DN: AD drops the deleted
	// one's links without sending ops, so the new one is in no group.
	if err := d.conn.Del(goldap.NewDelRequest(d.dnOf(dan), nil)); err != nil {
		t.Fatal(err)
	}
	d.addUser("dan", "dan2@example.com", false)

	paged, polls := pagedReads(src), dirSyncs(src)
	snap := snapshotRead(t, src, sources.ReadWatcher)
	if n := pagedReads(src) - paged; n != 0 {
		t.Errorf("the watcher's snapshot made %v paged reads, want none", n)
	}
	if dirSyncs(src) == polls {
		t.Error("the watcher's snapshot did not poll first")
	}
	sameAsRead(t, snap, cfg)
}

// TestDirSyncWatcherSnapshotFallsBackToAFullRead: after anything doubtful
// (a cut connection, a refused cookie), with a full read older than
// watch_snapshot_max_age, or when a full read is asked for, the next
// Snapshot is a true full read: the watcher starts again without a cookie
// and the Snapshot takes that round. The watcher then vouches again.
func TestDirSyncWatcherSnapshotFallsBackToAFullRead(t *testing.T) {
	for _, c := range []struct {
		name   string
		maxAge time.Duration
		gap    func(*testing.T, *Source, *watching, *cuttableDirSync)
		forced bool
	}{
		{"cut connection", 0, func(t *testing.T, src *Source, w *watching, c *cuttableDirSync) {
			c.cut()
			if err := askPoll(t, src); err == nil {
				t.Fatal("a poll on a cut connection succeeded")
			}
			w.waitReady(t) // reconnected
		}, false},
		{"refused cookie", 0, func(t *testing.T, src *Source, _ *watching, c *cuttableDirSync) {
			c.mu.Lock()
			c.spoil = true
			c.mu.Unlock()
			if err := askPoll(t, src); err != nil {
				t.Fatalf("the poll after a refused cookie failed: %v", err)
			}
		}, false},
		{"max age", time.Nanosecond, func(*testing.T, *Source, *watching, *cuttableDirSync) {}, false},
		{"forced", 0, func(*testing.T, *Source, *watching, *cuttableDirSync) {}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newADDir(t)
			s := seedAD(t, d)
			cfg := d.config()
			cfg.WatchSnapshotMaxAge = c.maxAge
			src, w, cut := startADWatched(t, d, cfg, nil)
			c.gap(t, src, w, cut)
			d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Add("member", []string{d.dnOf(s.cat)}) })

			ctx := t.Context()
			if c.forced {
				ctx = sources.WithFullRead(ctx)
			}
			sharedBefore := shared(src)
			snap, err := src.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Read != sources.ReadFull || shared(src)-sharedBefore != 1 {
				t.Fatalf("snapshot read %q, taken from the watcher's round %v times; want %q, once",
					snap.Read, shared(src)-sharedBefore, sources.ReadFull)
			}
			sameAsRead(t, snap, cfg)

			want := sources.ReadWatcher
			if c.maxAge == time.Nanosecond {
				want = sources.ReadFull
			}
			d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Delete("member", []string{d.dnOf(s.ann)}) })
			sameAsRead(t, snapshotRead(t, src, want), cfg)
		})
	}
}

// TestDirSyncResumedWatcherDoesNotVouch: a watcher resumed from a saved
// cookie filled its tracker with a read it cannot tie to that cookie, so
// the first Snapshot is the full read of a round without a cookie; after
// it the watcher serves Snapshot.
func TestDirSyncResumedWatcherDoesNotVouch(t *testing.T) {
	d := newADDir(t)
	s := seedAD(t, d)
	cfg := d.config()
	cookies := NewMemoryCookieStore()
	src, w, _ := startADWatched(t, d, cfg, cookies)
	if err := askPoll(t, src); err != nil { // saves a cookie in cookies
		t.Fatal(err)
	}
	w.stop()

	src, _, _ = startADWatched(t, d, cfg, cookies)
	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Add("member", []string{d.dnOf(s.cat)}) })
	sharedBefore := shared(src)
	sameAsRead(t, snapshotRead(t, src, sources.ReadFull), cfg)
	if n := shared(src) - sharedBefore; n != 1 {
		t.Errorf("full reads taken from the watcher's round = %v, want 1", n)
	}
	sameAsRead(t, snapshotRead(t, src, sources.ReadWatcher), cfg)
}
