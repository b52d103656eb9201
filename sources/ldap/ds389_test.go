package ldap

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"

	"github.com/lightdash-sync/lightdash-sync/worker/sourcetest"
)

// TestContract389DS runs the source contract against 389 Directory
// Server with the 389ds preset (nsUniqueId, nsAccountLock) and syncrepl
// through its Content Synchronization plugin.
func TestContract389DS(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Env { return newDSEnv(t) })
}

// TestSyncrepl389DSReconnect follows a 389-DS session across a dropped
// connection: entries changed meanwhile come back in a refresh from the
// cookie with state add and without their operational attributes
// (nsUniqueId, nsAccountLock). The member added, the user locked and the
// group deleted during the outage must all be reported, by their ids.
func TestSyncrepl389DSReconnect(t *testing.T) {
	d := newDSDir(t)
	ann := d.addUser("ann", false)
	bob := d.addUser("bob", false)
	eng := d.addGroup("eng", ann)
	ops := d.addGroup("ops", bob)
	src := newSource(t, d.config())
	changes := make(chan sources.Change, 100)
	sw := &syncWatcher{s: src, tr: newTracker(false), changes: changes, saver: startCookieSaver(src.cookies, src.cfg.CookieKey, src.log)}
	defer sw.saver.stop()
	ready := make(chan struct{}, 10)
	src.onRefreshDone = func() { ready <- struct{}{} }
	session := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sw.session(ctx, newBackoff(src.cfg.ReconnectMin, src.cfg.ReconnectMax)) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("session ended: %v", err)
		case <-time.After(eventTimeout):
			t.Fatal("refresh did not end")
		}
		return func() { cancel(); <-done }
	}
	session()() // the first refresh fills the tracker; then the connection drops

	if err := d.SetMembers(context.Background(), eng, []string{ann, bob}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.UpdateUser(context.Background(), sources.DirUser{ID: ann, DisplayName: "ann", Email: "ann@example.com", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteGroup(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	defer session()()
	w := &watching{changes: changes}
	ch := w.waitChange(t, "member added and user locked while disconnected", ann, eng)
	if !slices.Contains(ch.UserIDs, bob) {
		t.Errorf("change %+v does not name bob, who joined eng", ch)
	}
	users, _, err := src.readRecords(context.Background(), readOpts{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if rec := sw.tr.recs[u.id]; u.id == ann && (rec == nil || rec.sum != u.sum || !u.user.Disabled) {
			t.Errorf("ann after the refresh: %+v, want as read: %+v (locked)", rec, u.user)
		}
	}
	if _, ok := sw.tr.recs[ops]; ok {
		t.Error("ops is still tracked after its deletion was reported")
	}
}

// TestSyncrepl389DSResume restarts the daemon with the saved cookie: the
// member added and the user locked while it was stopped are reported.
func TestSyncrepl389DSResume(t *testing.T) {
	d := newDSDir(t)
	ann := d.addUser("ann", false)
	bob := d.addUser("bob", false)
	eng := d.addGroup("eng", ann)
	cookies := NewMemoryCookieStore()
	src := newSource(t, d.config())
	src.cookies = cookies
	w := startWatch(t, src)
	w.waitReady(t)
	w.stop()

	if err := d.SetMembers(context.Background(), eng, []string{ann, bob}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.UpdateUser(context.Background(), sources.DirUser{ID: ann, DisplayName: "ann", Email: "ann@example.com", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	src = newSource(t, d.config())
	src.cookies = cookies
	w = startWatch(t, src)
	w.waitChange(t, "member added and user locked while the daemon was stopped", ann, eng)
}
