package ldap

import (
	"context"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// TestSyncreplReconnectReportsDeletions resumes a session whose tracker
// is current up to the cookie, as after a dropped connection, while
// entries were deleted in between. With a big session log slapd names the
// deleted UUIDs; with a session log too small it runs a present phase and
// the deletions are inferred from what it does not name.
func TestSyncreplReconnectReportsDeletions(t *testing.T) {
	for _, c := range []struct {
		name       string
		sessionLog int
	}{{"session log", 100}, {"present phase", 1}} {
		t.Run(c.name, func(t *testing.T) {
			srv := startDirectory(t, ldaptest.WithSessionLog(c.sessionLog))
			cookies := NewMemoryCookieStore()
			src := newSource(t, syncConfig(srv))
			src.cookies = cookies
			w := startWatch(t, src)
			w.waitReady(t)
			w.stop()
			cookie, _ := cookies.LoadCookie(context.Background(), src.cfg.CookieKey)

			changes := make(chan sources.Change, 100)
			sw := &syncWatcher{s: src, tr: newTracker(false), cookie: cookie, changes: changes, saver: startCookieSaver(src.cookies, src.cfg.CookieKey, src.log)}
			defer sw.saver.stop()
			if err := sw.load(context.Background()); err != nil {
				t.Fatal(err)
			}
			gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
			platform, eng, sales, cycleA := gid("platform"), gid("engineering"), gid("sales"), gid("cycle-a")
			carol := userIDsByUID(srv, "carol")[0]
			srv.Delete("uid=carol," + people)
			srv.Delete("cn=sales," + groups)
			srv.Delete("cn=cycle-b," + groups)

			for len(changes) > 0 { // what load reported is not under test here
				<-changes
			}
			ready := make(chan struct{}, 10)
			src.onRefreshDone = func() { ready <- struct{}{} }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- sw.session(ctx, newBackoff(src.cfg.ReconnectMin, src.cfg.ReconnectMax)) }()
			defer func() { cancel(); <-done }()
			ww := &watching{changes: changes}
			ww.waitGroups(t, "deletions while disconnected", platform, eng, sales, cycleA)
			if _, known := sw.tr.recs[carol]; known {
				t.Error("carol is still tracked after her deletion was reported")
			}
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("session ended: %v", err)
			}
		})
	}
}
