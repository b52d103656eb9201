package lightdash_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

const (
	hostileToken = "ldpat_hostile-secret-token"
	groupUUID    = "11111111-1111-4111-8111-111111111111"
	userUUID     = "33333333-3333-4333-8333-333333333333"
)

// canned answers every request with one status and body.
func canned(t testing.TB, status int, contentType, body string) *lightdash.Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	c := &lightdash.Client{BaseURL: ts.URL, Token: hostileToken, MaxRetries: -1, MaxResponseBytes: 64 << 10}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// call is one client method, reduced to "did it return a result".
type call struct {
	name string
	do   func(context.Context, *lightdash.Client) (any, error)
}

var (
	listGroups = call{"ListGroups", func(ctx context.Context, c *lightdash.Client) (any, error) { return c.ListGroups(ctx) }}
	listUsers  = call{"ListUsers", func(ctx context.Context, c *lightdash.Client) (any, error) { return c.ListUsers(ctx) }}
	whoAmI     = call{"WhoAmI", func(ctx context.Context, c *lightdash.Client) (any, error) { return c.WhoAmI(ctx) }}
	create     = call{"CreateGroup", func(ctx context.Context, c *lightdash.Client) (any, error) {
		return c.CreateGroup(ctx, "g", []string{userUUID})
	}}
	update = call{"UpdateGroup", func(ctx context.Context, c *lightdash.Client) (any, error) {
		n := "renamed"
		return c.UpdateGroup(ctx, groupUUID, lightdash.GroupUpdate{Name: &n})
	}}
)

const htmlPage = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>\x1b[31mPlease log in</body></html>"

// TestMalformedResponses: whatever a broken proxy, a login page or a
// confused server sends, the client returns a typed error and no result;
// it never panics and never turns garbage into an (empty) answer.
func TestMalformedResponses(t *testing.T) {
	group := `{"uuid":"` + groupUUID + `","name":"g","memberUuids":["` + userUUID + `"],"members":[]}`
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		calls  []call
		// wantStatus > 0: an *APIError with this status; otherwise ErrBadResponse.
		wantStatus int
	}{
		{"HTML login page with 200", 200, "text/html", htmlPage, []call{listGroups, listUsers, whoAmI, create, update}, 0},
		{"HTML error page with 502", 502, "text/html", htmlPage, []call{listGroups, whoAmI, create}, 502},
		{"HTML error page with 500", 500, "text/html", htmlPage, []call{listGroups, update}, 500},
		{"empty body with 200", 200, "application/json", "", []call{listGroups, create}, 0},
		{"truncated JSON", 200, "application/json", `{"status":"ok","results":{"data":[` + group[:40], []call{listGroups}, 0},
		{"truncated object", 200, "application/json", `{"status":"ok","results":` + group[:len(group)-5], []call{create, update}, 0},
		{"200 with status error", 200, "application/json", `{"status":"error","error":{"statusCode":500,"name":"UnexpectedServerError","message":"boom"}}`, []call{listGroups, listUsers, whoAmI, create, update}, 0},
		{"201 with status error", 201, "application/json", `{"status":"error","error":{"statusCode":409,"name":"AlreadyExistsError","message":"exists"}}`, []call{create}, 0},
		{"status missing", 200, "application/json", `{"results":{"data":[]}}`, []call{listGroups, listUsers}, 0},
		{"status not ok", 200, "application/json", `{"status":"OK","results":{"data":[]}}`, []call{listGroups}, 0},
		{"results missing", 200, "application/json", `{"status":"ok"}`, []call{listGroups, listUsers, whoAmI, create, update}, 0},
		{"results null", 200, "application/json", `{"status":"ok","results":null}`, []call{listGroups, whoAmI}, 0},
		{"results a string", 200, "application/json", `{"status":"ok","results":"groups"}`, []call{listGroups, listUsers, whoAmI, create}, 0},
		{"results an array", 200, "application/json", `{"status":"ok","results":[` + group + `]}`, []call{listGroups, create}, 0},
		{"data missing", 200, "application/json", `{"status":"ok","results":{"pagination":{}}}`, []call{listGroups, listUsers}, 0},
		{"data null", 200, "application/json", `{"status":"ok","results":{"data":null}}`, []call{listGroups, listUsers}, 0},
		{"data an object", 200, "application/json", `{"status":"ok","results":{"data":{"0":` + group + `}}}`, []call{listGroups, listUsers}, 0},
		{"group uuid missing", 200, "application/json", `{"status":"ok","results":{"data":[{"name":"g"}]}}`, []call{listGroups}, 0},
		{"group uuid not a uuid", 200, "application/json", `{"status":"ok","results":{"uuid":"../../admin","name":"g"}}`, []call{create, update}, 0},
		{"member uuid not a uuid", 200, "application/json", `{"status":"ok","results":{"data":[{"uuid":"` + groupUUID + `","name":"g","memberUuids":["x"]}]}}`, []call{listGroups}, 0},
		{"user uuid empty", 200, "application/json", `{"status":"ok","results":{"data":[{"userUuid":"","email":"a@x"}]}}`, []call{listUsers}, 0},
		{"whoami without uuid", 200, "application/json", `{"status":"ok","results":{"email":"a@x","role":"admin"}}`, []call{whoAmI}, 0},
		{"uuid of wrong type", 200, "application/json", `{"status":"ok","results":{"uuid":42,"name":"g"}}`, []call{create}, 0},
		{"body larger than the limit", 200, "application/json", `{"status":"ok","results":{"data":[` + strings.Repeat(group+",", 2000) + group + `]}}`, []call{listGroups}, -1},
		{"plain-text 401", 401, "text/plain", "Unauthorized\r\nSet-Cookie: forged=1", []call{listGroups, whoAmI}, 401},
		{"huge error message", 500, "application/json", `{"status":"error","error":{"statusCode":500,"name":"E","message":"` + strings.Repeat("x", 50000) + `"}}`, []call{listGroups}, 500},
	}
	for _, tt := range tests {
		for _, cl := range tt.calls {
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				c := canned(t, tt.status, tt.ctype, tt.body)
				got, err := cl.do(context.Background(), c)
				if err == nil {
					t.Fatalf("%s = %+v, want an error", cl.name, got)
				}
				if !isNil(got) {
					t.Errorf("%s returned %+v with the error, want no result", cl.name, got)
				}
				msg := err.Error()
				switch {
				case tt.wantStatus > 0:
					var ae *lightdash.APIError
					if !errors.As(err, &ae) || ae.StatusCode != tt.wantStatus {
						t.Fatalf("error %q, want an *APIError with status %d", msg, tt.wantStatus)
					}
					if n := utf8.RuneCountInString(ae.Message); n > 1001 {
						t.Errorf("error message is %d characters long, want it bounded", n)
					}
				case tt.wantStatus < 0:
					if !strings.Contains(msg, "too large") {
						t.Fatalf("error %q, want it to say the body is too large", msg)
					}
				default:
					if !errors.Is(err, lightdash.ErrBadResponse) {
						t.Fatalf("error %q does not match ErrBadResponse", msg)
					}
				}
				if strings.ContainsAny(msg, "\x1b\r\n") {
					t.Errorf("error %q carries control characters from the body", msg)
				}
				if strings.Contains(msg, hostileToken) {
					t.Errorf("error %q contains the token", msg)
				}
				if len(msg) > 2000 {
					t.Errorf("error is %d bytes long, want it bounded", len(msg))
				}
			})
		}
	}
}

// TestWellFormedResponseStillDecodes keeps TestMalformedResponses honest:
// the same harness with a good body gives a result.
func TestWellFormedResponseStillDecodes(t *testing.T) {
	body := `{"status":"ok","results":{"data":[{"uuid":"` + groupUUID + `","name":"g","memberUuids":["` + userUUID + `"],"members":[]}]}}`
	groups, err := canned(t, 200, "application/json", body).ListGroups(context.Background())
	if err != nil || len(groups) != 1 || groups[0].UUID != groupUUID || len(groups[0].MemberUUIDs) != 1 {
		t.Fatalf("ListGroups = %+v, %v; want the one group", groups, err)
	}
	empty, err := canned(t, 200, "application/json", `{"status":"ok","results":{"data":[]}}`).ListGroups(context.Background())
	if err != nil || len(empty) != 0 {
		t.Fatalf("ListGroups of an empty list = %+v, %v; want no groups and no error", empty, err)
	}
}

// isNil reports whether a method's result is a nil pointer or slice.
func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []lightdash.GroupWithMembers:
		return x == nil
	case []lightdash.OrgMember:
		return x == nil
	case *lightdash.GroupWithMembers:
		return x == nil
	case *lightdash.CreatedGroup:
		return x == nil
	case *lightdash.User:
		return x == nil
	}
	return false
}

// TestTrimNameMatchesJavaScript: Lightdash trims names with JavaScript's
// trim, so the client must too, or a planned name and the stored one differ.
func TestTrimNameMatchesJavaScript(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  Sales\t\n", "Sales"},
		{"\uFEFFSales\uFEFF", "Sales"},             // BOM: trimmed by JS, not by strings.TrimSpace
		{"\u00a0\u2003\u3000Sales\u2028", "Sales"}, // NBSP, em space, ideographic space, line separator
		{"\u0085Sales\u0085", "\u0085Sales\u0085"}, // NEL: strings.TrimSpace trims it, JS does not
		{"Sa les", "Sa les"},
		{"\u200bSales", "\u200bSales"}, // zero-width space is not whitespace in either
		{"", ""},
	}
	for _, tt := range tests {
		if got := lightdash.TrimName(tt.in); got != tt.want {
			t.Errorf("TrimName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := lightdash.NormalizeName("\uFEFF \uFEFF"); !errors.Is(err, lightdash.ErrInvalidParameter) {
		t.Errorf("NormalizeName of BOMs and a space: err = %v, want ErrInvalidParameter (empty after trimming)", err)
	}
}
