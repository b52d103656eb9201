package ldap

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

const eventTimeout = 10 * time.Second

// watching runs src.Watch until the test ends and returns its changes and
// a channel that ticks whenever a refresh phase ends.
type watching struct {
	changes chan sources.Change
	ready   chan struct{}
	cancel  context.CancelFunc
	done    chan error
}

func startWatch(t *testing.T, src *Source) *watching {
	t.Helper()
	w := &watching{changes: make(chan sources.Change, 100), ready: make(chan struct{}, 100), done: make(chan error, 1)}
	src.onRefreshDone = func() { w.ready <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() { w.done <- src.Watch(ctx, w.changes) }()
	t.Cleanup(w.stop)
	return w
}

func (w *watching) stop() {
	w.cancel()
	<-w.done
	w.done <- nil // let a second stop return
}

func (w *watching) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-w.ready:
	case <-time.After(eventTimeout):
		t.Fatal("syncrepl refresh did not finish")
	}
}

// waitChange waits for a change naming every one of groupIDs (and, when
// given, the user), skipping others.
func (w *watching) waitChange(t *testing.T, what string, userID string, groupIDs ...string) sources.Change {
	t.Helper()
	deadline := time.After(eventTimeout)
	var seen []sources.Change
	for {
		select {
		case c := <-w.changes:
			ok := c.Source == "corp"
			for _, g := range groupIDs {
				ok = ok && slices.Contains(c.GroupIDs, g)
			}
			if userID != "" {
				ok = ok && slices.Contains(c.UserIDs, userID)
			}
			if ok {
				return c
			}
			seen = append(seen, c)
		case <-deadline:
			t.Fatalf("%s: no change naming groups %v user %q within %v; got %+v", what, groupIDs, userID, eventTimeout, seen)
		}
	}
}

// waitGroups waits until the changes seen, in any order, name all groupIDs.
func (w *watching) waitGroups(t *testing.T, what string, groupIDs ...string) {
	t.Helper()
	deadline := time.After(eventTimeout)
	named := map[string]bool{}
	var seen []sources.Change
	for {
		missing := false
		for _, g := range groupIDs {
			missing = missing || !named[g]
		}
		if !missing {
			return
		}
		select {
		case c := <-w.changes:
			seen = append(seen, c)
			for _, g := range c.GroupIDs {
				named[g] = true
			}
		case <-deadline:
			t.Fatalf("%s: changes did not name all of %v within %v; got %+v", what, groupIDs, eventTimeout, seen)
		}
	}
}

func syncConfig(srv *ldaptest.Server) Config {
	cfg := baseConfig(srv)
	cfg.Watch = WatchAuto
	return cfg
}

func TestSyncreplLiveChanges(t *testing.T) {
	srv := startDirectory(t)
	src := newSource(t, syncConfig(srv))
	if mode, err := src.detectMode(context.Background()); err != nil || mode != WatchSyncrepl {
		t.Fatalf("auto mode: got %q, %v; want syncrepl", mode, err)
	}
	w := startWatch(t, src)
	w.waitReady(t)
	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	eng, platform, sales, cycleA := gid("engineering"), gid("platform"), gid("sales"), gid("cycle-a")
	ids := userIDsByUID(srv, "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := ids[0], ids[1], ids[2], ids[3]

	srv.Replace("cn=engineering,"+groups, map[string][]string{"member": {
		"uid=alice," + people, "uid=bob," + people, "cn=platform," + groups, "uid=dave," + people}})
	if c := w.waitChange(t, "member added", dave, eng); len(c.GroupIDs) != 1 {
		t.Errorf("member added: got groups %v, want only engineering", c.GroupIDs)
	}

	srv.Replace("uid=carol,"+people, map[string][]string{"mail": {"carol@new.example.com"}})
	w.waitChange(t, "user re-mailed names nested parent", carol, platform, eng)

	srv.Rename("uid=bob,"+people, "uid=robert", "")
	w.waitChange(t, "user renamed", bob, eng, cycleA)

	srv.Add("cn=newgroup,"+groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"newgroup"}, "member": {"uid=alice," + people}})
	newgroup := gid("newgroup")
	w.waitChange(t, "group added", alice, newgroup)

	srv.Rename("cn=sales,"+groups, "cn=sales2", "")
	w.waitChange(t, "group renamed", "", sales)

	srv.Delete("cn=platform," + groups)
	w.waitChange(t, "group deleted", "", platform, eng)

	srv.Delete("uid=dave," + people)
	w.waitChange(t, "user deleted", dave, eng, sales)
}

// TestSyncreplFirstRefreshOnlyFills: the refresh of a session without a
// cookie sends the whole directory, which only fills the tracker (the
// worker's full reconciliation covers it); the tracker is still complete
// enough to name a nested user's parent groups afterwards.
func TestSyncreplFirstRefreshOnlyFills(t *testing.T) {
	srv := startDirectory(t)
	w := startWatch(t, newSource(t, syncConfig(srv)))
	w.waitReady(t)
	if n := len(w.changes); n != 0 {
		t.Fatalf("the first refresh reported %d changes, want none: %+v", n, <-w.changes)
	}
	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	carol := userIDsByUID(srv, "carol")[0]
	srv.Replace("uid=carol,"+people, map[string][]string{"mail": {"carol@elsewhere.example.com"}})
	w.waitChange(t, "nested user changed", carol, gid("platform"), gid("engineering"))
}

// cookieSaved runs a watcher on srv until its first refresh ends and
// returns the store holding the cookie it saved, as a daemon that ran
// once leaves it.
func cookieSaved(t *testing.T, srv *ldaptest.Server) CookieStore {
	t.Helper()
	cookies := NewMemoryCookieStore()
	first, err := New(syncConfig(srv), cookies, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, first)
	w.waitReady(t)
	w.stop()
	if saved, _ := cookies.LoadCookie(context.Background(), first.cfg.CookieKey); len(saved) == 0 {
		t.Fatal("no cookie saved after the refresh")
	}
	return cookies
}

func TestSyncreplResumesFromSavedCookie(t *testing.T) {
	srv := startDirectory(t)
	cookies := cookieSaved(t, srv)
	cfg := syncConfig(srv)

	// The daemon is down; the directory changes.
	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	sales, platform := gid("sales"), gid("platform")
	srv.Replace("cn=sales,"+groups, map[string][]string{"uniqueMember": {"uid=dave," + people, "uid=alice," + people}})
	srv.Delete("uid=carol," + people)

	second, err := New(cfg, cookies, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w2 := startWatch(t, second)
	w2.waitGroups(t, "changes made while stopped", sales, platform)
}

func TestSyncreplSurvivesServerRestart(t *testing.T) {
	srv := startDirectory(t)
	w := startWatch(t, newSource(t, syncConfig(srv)))
	w.waitReady(t)
	srv.Restart()
	sales := srv.EntryUUID("cn=sales," + groups)
	srv.Replace("cn=sales,"+groups, map[string][]string{"uniqueMember": {"uid=bob," + people}})
	w.waitChange(t, "change after restart", "", sales)
	w.waitReady(t) // it reconnected and refreshed again
	srv.Replace("cn=sales,"+groups, map[string][]string{"uniqueMember": {"uid=alice," + people}})
	w.waitChange(t, "live change after reconnect", "", sales)
}

func TestSyncreplBadCookies(t *testing.T) {
	cases := []struct {
		name      string
		cookie    func(valid []byte) []byte
		noPresent bool
	}{
		{"garbage", func([]byte) []byte { return []byte("\x00\xffnot a cookie at all") }, false},
		{"unknown rid and csn", func([]byte) []byte { return []byte("rid=999,csn=19700101000000.000000Z#000000#000#000000") }, false},
		{"stale beyond session log", func(valid []byte) []byte { return valid }, false},
		{"stale, syncprov-nopresent", func(valid []byte) []byte { return valid }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := []ldaptest.Option{ldaptest.WithSessionLog(2)}
			if c.noPresent {
				opts = append(opts, ldaptest.WithNoPresent())
			}
			srv := startDirectory(t, opts...)
			cookies := NewMemoryCookieStore()
			cfg := syncConfig(srv)
			first := newSource(t, cfg)
			first.cookies = cookies
			w := startWatch(t, first)
			w.waitReady(t)
			w.stop()
			valid, _ := cookies.LoadCookie(context.Background(), first.cfg.CookieKey)
			eng := srv.EntryUUID("cn=engineering," + groups)
			// More changes than the session log holds.
			for i, m := range []string{"alice", "bob", "carol", "dave", "alice"} {
				srv.Replace("uid="+m+","+people, map[string][]string{"description": {string(rune('a' + i))}})
			}
			// More deletions than the session log holds.
			for _, cn := range []string{"platform", "cycle-a", "cycle-b"} {
				srv.Delete("cn=" + cn + "," + groups)
			}
			if err := cookies.SaveCookie(context.Background(), first.cfg.CookieKey, c.cookie(valid)); err != nil {
				t.Fatal(err)
			}
			second := newSource(t, cfg)
			second.cookies = cookies
			w2 := startWatch(t, second)
			// The deleted group is still a member of engineering: that
			// group must be named whatever the server made of the cookie.
			w2.waitGroups(t, "group deleted while stopped", eng)
			w2.waitReady(t)
			sales := srv.EntryUUID("cn=sales," + groups)
			srv.Replace("cn=sales,"+groups, map[string][]string{"uniqueMember": {"uid=bob," + people}})
			w2.waitChange(t, "live change after recovering", "", sales)
		})
	}
}

func TestSyncErrorClassification(t *testing.T) {
	for _, c := range []struct {
		name      string
		hadCookie bool
		err       error
		rejected  bool
	}{
		{"refresh required", true, goldap.NewError(goldap.LDAPResultSyncRefreshRequired, errors.New("refresh")), true},
		{"cookie unparsable", true, goldap.NewError(goldap.LDAPResultProtocolError, errors.New("bad cookie")), true},
		{"no cookie to drop", false, goldap.NewError(goldap.LDAPResultSyncRefreshRequired, errors.New("refresh")), false},
		{"network", true, goldap.NewError(goldap.ErrorNetwork, errors.New("reset")), false},
		{"other error", true, errors.New("boom"), false},
	} {
		got := errors.Is(syncError(c.hadCookie, c.err), errCookieRejected)
		if got != c.rejected {
			t.Errorf("%s: got rejected %v, want %v", c.name, got, c.rejected)
		}
	}
}
