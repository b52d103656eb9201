package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// cookieStore is ldap.CookieStore, declared here so the worker's tests do
// not import the LDAP source.
type cookieStore interface {
	LoadCookie(ctx context.Context, key string) ([]byte, error)
	SaveCookie(ctx context.Context, key string, cookie []byte) error
}

var _ cookieStore = (*CookieFile)(nil)

func wantCookie(t *testing.T, s cookieStore, key, want string) {
	t.Helper()
	got, err := s.LoadCookie(context.Background(), key)
	if err != nil {
		t.Fatalf("LoadCookie(%s): %v", key, err)
	}
	if string(got) != want {
		t.Errorf("cookie %s: got %q, want %q", key, got, want)
	}
}

func TestCookieFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json.cookies")
	c := NewCookieFile(path)
	wantCookie(t, c, "ldap/a", "")
	for key, v := range map[string]string{"ldap/a": "one", "ldap/b|ou=x,dc=y": "two\x00\xff"} {
		if err := c.SaveCookie(ctx, key, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SaveCookie(ctx, "ldap/a", nil); err != nil {
		t.Fatal(err)
	}
	again := NewCookieFile(path) // a restart
	wantCookie(t, again, "ldap/a", "")
	wantCookie(t, again, "ldap/b|ou=x,dc=y", "two\x00\xff")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestCookieFileReadsTheOldForm: cookies used to be saved by a FileStore
// as a State holding only cookies; the two forms read each other, so an
// upgrade (or a downgrade) keeps the cookies.
func TestCookieFileReadsTheOldForm(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json.cookies")
	old := NewState()
	old.Cookies["ldap/a"] = []byte("saved before")
	if err := NewFileStore(path).Save(ctx, old); err != nil {
		t.Fatal(err)
	}
	c := NewCookieFile(path)
	wantCookie(t, c, "ldap/a", "saved before")
	if err := c.SaveCookie(ctx, "ldap/b", []byte("saved after")); err != nil {
		t.Fatal(err)
	}
	st, err := NewFileStore(path).Load(ctx)
	if err != nil {
		t.Fatalf("the old store reading the new form: %v", err)
	}
	if string(st.Cookies["ldap/a"]) != "saved before" || string(st.Cookies["ldap/b"]) != "saved after" {
		t.Errorf("the old store read cookies %q, want both", st.Cookies)
	}
}
