package natsstate

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func newCookies(t *testing.T, js jetstream.JetStream) *Cookies {
	t.Helper()
	c, err := NewCookies(ctxT(t), js, "state", "prod")
	if err != nil {
		t.Fatalf("NewCookies: %v", err)
	}
	return c
}

func wantCookie(t *testing.T, c *Cookies, name, want string) {
	t.Helper()
	got, err := c.LoadCookie(ctxT(t), name)
	if err != nil {
		t.Fatalf("LoadCookie(%s): %v", name, err)
	}
	if string(got) != want {
		t.Errorf("cookie %s: got %q, want %q", name, got, want)
	}
}

// TestCookiesOneKeyEach: each cookie is its own key beside the state,
// which cookie saves leave alone.
func TestCookiesOneKeyEach(t *testing.T) {
	ctx := ctxT(t)
	js := connect(t, natstest.RunServer(t))
	st := newStore(t, js)
	if _, err := st.Load(ctx); err != nil {
		t.Fatal(err)
	}
	state := sampleState()
	if err := st.Save(ctx, state); err != nil {
		t.Fatal(err)
	}
	c := newCookies(t, js)
	wantCookie(t, c, "ldap/a", "")
	for name, v := range map[string]string{"ldap/a": "one", "ldap/b|ou=x,dc=y": "two\x00\xff"} {
		if err := c.SaveCookie(ctx, name, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SaveCookie(ctx, "ldap/a", nil); err != nil {
		t.Fatal(err)
	}
	again := newCookies(t, js) // a restart
	wantCookie(t, again, "ldap/a", "")
	wantCookie(t, again, "ldap/b|ou=x,dc=y", "two\x00\xff")

	lister, err := c.kv.ListKeysFiltered(ctx, "prod.cookie.>")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "prod.cookie.") {
		t.Errorf("cookie keys %q, want two under prod.cookie.", keys)
	}
	got, err := newStore(t, js).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Groups, state.Groups) {
		t.Errorf("the state changed under the cookie saves: %+v", got.Groups)
	}
}

// TestCookiesMigrate: cookies saved before, in one State document at
// "<key>-cookies", are read from it until saved under their own key; a
// cookie forgotten since is not brought back from it.
func TestCookiesMigrate(t *testing.T) {
	ctx := ctxT(t)
	js := connect(t, natstest.RunServer(t))
	legacy, err := New(ctx, js, "state", "prod-cookies")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := legacy.Load(ctx); err != nil {
		t.Fatal(err)
	}
	old := worker.NewState()
	old.Cookies = map[string][]byte{"ldap/a": []byte("old a"), "ldap/b": []byte("old b"), "ldap/c": []byte("old c")}
	if err := legacy.Save(ctx, old); err != nil {
		t.Fatal(err)
	}
	c := newCookies(t, js)
	wantCookie(t, c, "ldap/a", "old a")
	if err := c.SaveCookie(ctx, "ldap/a", []byte("new a")); err != nil {
		t.Fatal(err)
	}
	if err := c.SaveCookie(ctx, "ldap/b", nil); err != nil {
		t.Fatal(err)
	}
	again := newCookies(t, js) // a restart
	wantCookie(t, again, "ldap/a", "new a")
	wantCookie(t, again, "ldap/b", "")
	wantCookie(t, again, "ldap/c", "old c")
	wantCookie(t, again, "ldap/d", "")
}

var _ interface {
	LoadCookie(ctx context.Context, key string) ([]byte, error)
	SaveCookie(ctx context.Context, key string, cookie []byte) error
} = (*Cookies)(nil)
