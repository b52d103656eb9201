package lightdash_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name, base, token, wantErr string
	}{
		{"ok", "https://app.lightdash.cloud", "t", ""},
		{"ok with prefix and slash", "https://example.com/lightdash/", "t", ""},
		{"empty url", "", "t", "empty"},
		{"no scheme", "app.lightdash.cloud", "t", "scheme"},
		{"ftp", "ftp://example.com", "t", "scheme"},
		{"no host", "https://", "t", "no host"},
		{"credentials in url", "https://u:secretpw@example.com", "t", "credentials"},
		{"bad url", "https://exa mple.com\x7f", "t", "base URL"},
		{"empty token", "https://example.com", "", "token is empty"},
		{"token with newline", "https://example.com", "a\nb", "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lightdash.New(tt.base, tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error leaks the URL password: %v", err)
			}
		})
	}
}

// CheckURL refuses what New refuses of a base URL, as a *URLError.
func TestCheckURL(t *testing.T) {
	for _, raw := range []string{"", "app.lightdash.cloud", "ftp://example.com", "https://", "https://u:secretpw@example.com", "https://exa mple.com\x7f"} {
		err := lightdash.CheckURL(raw)
		var ue *lightdash.URLError
		if !errors.As(err, &ue) || ue.Reason == "" {
			t.Errorf("CheckURL(%q) = %v, want a *URLError with a reason", raw, err)
			continue
		}
		if _, nerr := lightdash.New(raw, "t"); nerr == nil || nerr.Error() != err.Error() {
			t.Errorf("CheckURL(%q) = %v, New: %v; want the same error", raw, err, nerr)
		}
		if strings.Contains(ue.URL, "secretpw") {
			t.Errorf("URLError.URL %q shows the password", ue.URL)
		}
	}
	if err := lightdash.CheckURL("https://example.com/lightdash/"); err != nil {
		t.Errorf("CheckURL of a good URL: %v", err)
	}
}

// A Client built as a struct literal works, like http.Client.
func TestZeroValueClient(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	c := &lightdash.Client{BaseURL: srv.URL() + "/", Token: srv.AdminToken()}
	me, err := c.WhoAmI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if me.Role != lightdash.RoleAdmin || me.Email != lightdashtest.AdminEmail {
		t.Errorf("got %+v, want the admin", me)
	}
	bad := &lightdash.Client{BaseURL: "nope"}
	if _, err := bad.WhoAmI(context.Background()); err == nil {
		t.Error("got no error for a client without URL and token")
	}
}

// Self-hosted Lightdash often lives under a path prefix.
func TestBaseURLWithPathPrefix(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	target, _ := url.Parse(srv.URL())
	proxy := httptest.NewServer(http.StripPrefix("/lightdash", httputil.NewSingleHostReverseProxy(target)))
	defer proxy.Close()
	c, err := lightdash.New(proxy.URL+"/lightdash/", srv.AdminToken())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(context.Background(), "prefixed", nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.RequestCount("POST /api/v1/org/groups"); got != 1 {
		t.Errorf("got %d creates through the prefix, want 1", got)
	}
}

func TestWhoAmIAndOrganization(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	me, err := f.c.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.UserUUID != f.srv.AdminUUID() || me.Role != lightdash.RoleAdmin || me.OrganizationUUID != f.srv.OrganizationUUID() {
		t.Errorf("got %+v, want the admin of %s", me, f.srv.OrganizationUUID())
	}
	org, err := f.c.Organization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if org.OrganizationUUID != f.srv.OrganizationUUID() || org.Name != "Example" {
		t.Errorf("got %+v", org)
	}
	// A non-admin token: the role tells the caller not to trust the group list.
	tok := f.srv.AddToken(f.bob.UserUUID)
	bc, _ := lightdash.New(f.srv.URL(), tok)
	me, err = bc.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.Role != lightdash.RoleEditor {
		t.Errorf("got role %q, want editor", me.Role)
	}
}

func TestGroupsEnabled(t *testing.T) {
	f := newFixture(t)
	for _, on := range []bool{true, false, true} {
		f.srv.SetGroupsFlag(on)
		got, err := f.c.GroupsEnabled(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got != on {
			t.Errorf("got %v, want %v", got, on)
		}
	}
}

func TestListUsersIncludesPendingAndDeactivated(t *testing.T) {
	f := newFixture(t)
	pending := f.srv.AddPendingUser("pat@example.com")
	gone := f.srv.AddUser("gone@example.com", lightdash.RoleMember)
	if err := f.srv.DeactivateUser(gone.UserUUID); err != nil {
		t.Fatal(err)
	}
	other := f.srv.AddOrganization("Other")
	if _, err := f.srv.AddUserToOrg(other, "x@other.example", lightdash.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	users, err := f.c.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byUUID := map[string]lightdash.OrgMember{}
	for _, u := range users {
		byUUID[u.UserUUID] = u
	}
	if len(users) != 5 || len(byUUID) != 5 {
		t.Fatalf("got %d users (%d distinct), want 5: %+v", len(users), len(byUUID), users)
	}
	if !byUUID[pending.UserUUID].IsPending {
		t.Errorf("got %+v, want pending", byUUID[pending.UserUUID])
	}
	if byUUID[gone.UserUUID].IsActive {
		t.Errorf("got %+v, want inactive", byUUID[gone.UserUUID])
	}
	if got := f.srv.RequestCount("/api/v1/org/users"); got != 1 {
		t.Errorf("got %d calls, want 1 unpaginated call", got)
	}
}

func TestUserByEmail(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, email, wantUUID string
		wantErr               error
	}{
		{"exact", "bob@example.com", f.bob.UserUUID, nil},
		{"upper-cased and padded", "  Carol@EXAMPLE.com ", f.carol.UserUUID, nil},
		{"missing", "nobody@example.com", "", lightdash.ErrNotFound},
		{"empty", " ", "", lightdash.ErrInvalidParameter},
		{"not ASCII (KELVIN SIGN folds to k)", "\u212Aarol@example.com", "", lightdash.ErrInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := f.c.UserByEmail(context.Background(), tt.email)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if err == nil && u.UserUUID != tt.wantUUID {
				t.Errorf("got %s, want %s", u.UserUUID, tt.wantUUID)
			}
		})
	}
}

// Every request carries the token as "ApiKey <token>", a User-Agent and
// Accept: application/json, set by the wrapping transport.
func TestRequestHeaders(t *testing.T) {
	var got http.Header
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Write([]byte(`{"status":"ok","results":{"organizationUuid":"o","name":"n"}}`))
	}))
	defer ts.Close()
	c := &lightdash.Client{BaseURL: ts.URL, Token: "ldpat_abc", UserAgent: "sync-test/1", HTTPClient: ts.Client()}
	if _, err := c.Organization(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Authorization": "ApiKey ldpat_abc", "User-Agent": "sync-test/1", "Accept": "application/json"}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s: got %q, want %q", k, got.Get(k), v)
		}
	}
}
