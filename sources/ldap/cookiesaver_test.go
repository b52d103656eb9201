package ldap

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
)

// heldCookies is a CookieStore whose saves wait, while hold is set, until
// release is closed: a slow disk.
type heldCookies struct {
	*MemoryCookieStore
	hold    atomic.Bool
	release chan struct{}
}

func (h *heldCookies) SaveCookie(ctx context.Context, key string, cookie []byte) error {
	if h.hold.Load() {
		<-h.release
	}
	return h.MemoryCookieStore.SaveCookie(ctx, key, cookie)
}

// TestSyncreplDoesNotWaitForCookieSaves: a change reaches the worker while
// the previous change's cookie is still being saved (a slow disk held the
// watcher up before it read the next change), and the newest cookie is
// saved in the end.
func TestSyncreplDoesNotWaitForCookieSaves(t *testing.T) {
	srv := startDirectory(t)
	src := newSource(t, syncConfig(srv))
	cookies := &heldCookies{MemoryCookieStore: NewMemoryCookieStore(), release: make(chan struct{})}
	src.cookies = cookies
	released := false
	release := func() {
		if !released {
			released = true
			close(cookies.release)
		}
	}
	w := startWatch(t, src)
	t.Cleanup(release) // before the watcher's stop, which a held save would block
	w.waitReady(t)
	before, _ := cookies.LoadCookie(context.Background(), src.cfg.CookieKey)

	cookies.hold.Store(true)
	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	ids := userIDsByUID(srv, "carol", "dave")
	srv.Replace("cn=engineering,"+groups, map[string][]string{"member": {
		"uid=alice," + people, "uid=bob," + people, "cn=platform," + groups, "uid=dave," + people}})
	w.waitChange(t, "member added", ids[1], gid("engineering"))
	srv.Replace("uid=carol,"+people, map[string][]string{"mail": {"carol@new.example.com"}})
	w.waitChange(t, "user re-mailed while the last cookie is being saved", ids[0], gid("platform"))

	release()
	w.stop()
	after, _ := cookies.LoadCookie(context.Background(), src.cfg.CookieKey)
	if len(after) == 0 || bytes.Equal(after, before) {
		t.Errorf("saved cookie %q after the changes, want a newer one than %q", after, before)
	}
}
