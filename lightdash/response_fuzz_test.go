package lightdash_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// FuzzResponse feeds an arbitrary status and body to every read and write
// the sync uses, through the real client and a real HTTP server. Each call
// must return a typed error (an *APIError, ErrBadResponse, or the body
// limit) or a result whose uuids are valid; never a panic, never a token
// in an error.
func FuzzResponse(f *testing.F) {
	group := `{"uuid":"` + groupUUID + `","name":"g","memberUuids":["` + userUUID + `"],"members":[{"userUuid":"` + userUUID + `"}]}`
	f.Add(200, []byte(`{"status":"ok","results":{"data":[`+group+`]}}`))
	f.Add(201, []byte(`{"status":"ok","results":`+group+`}`))
	f.Add(200, []byte(`{"status":"ok","results":{"userUuid":"`+userUUID+`","role":"admin","data":[{"userUuid":"`+userUUID+`"}]}}`))
	f.Add(200, []byte(`{"status":"error","error":{"statusCode":403,"name":"ForbiddenError","message":"Group service is not enabled"}}`))
	f.Add(502, []byte("<html>Bad Gateway</html>"))
	f.Add(200, []byte(`{"status":"ok","results":{"data":null}}`))
	f.Add(404, []byte(`{"status":"error","error":null}`))
	f.Add(204, []byte{})

	var mu sync.Mutex // one input at a time owns the server's answer
	var status int
	var body []byte
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(ts.Close)
	c := &lightdash.Client{BaseURL: ts.URL, Token: hostileToken, MaxRetries: -1, MaxResponseBytes: 1 << 20}
	if err := c.Validate(); err != nil {
		f.Fatal(err)
	}
	// lean reads as the daemon does.
	lean := &lightdash.Client{BaseURL: ts.URL, Token: hostileToken, MaxRetries: -1, MaxResponseBytes: 1 << 20, MemberUUIDsOnly: true, SkipUserNames: true}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, st int, b []byte) {
		if st < 200 || st > 599 {
			st = 200 + (st%400+400)%400 // a final status: no 1xx, none out of range
		}
		mu.Lock()
		defer mu.Unlock()
		status, body = st, b

		checkErr := func(what string, err error) {
			t.Helper()
			var ae *lightdash.APIError
			if !errors.As(err, &ae) && !errors.Is(err, lightdash.ErrBadResponse) && !errors.Is(err, lightdash.ErrRedirect) && !strings.Contains(err.Error(), "too large") {
				t.Fatalf("%s: status %d: untyped error %q", what, st, err)
			}
			if strings.Contains(err.Error(), hostileToken) {
				t.Fatalf("%s: error %q contains the token", what, err)
			}
		}
		checkGroup := func(what string, g *lightdash.GroupWithMembers) {
			t.Helper()
			if !lightdash.ValidUUID(g.UUID) {
				t.Fatalf("%s: accepted group uuid %q", what, g.UUID)
			}
			for _, u := range g.MemberUUIDs {
				if !lightdash.ValidUUID(u) {
					t.Fatalf("%s: accepted member uuid %q", what, u)
				}
			}
		}

		for _, c := range []*lightdash.Client{c, lean} {
			if gs, err := c.ListGroups(ctx); err != nil {
				checkErr("ListGroups", err)
			} else {
				for i := range gs {
					checkGroup("ListGroups", &gs[i])
				}
			}
			if us, err := c.ListUsers(ctx); err != nil {
				checkErr("ListUsers", err)
			} else {
				for _, u := range us {
					if !lightdash.ValidUUID(u.UserUUID) {
						t.Fatalf("ListUsers: accepted user uuid %q", u.UserUUID)
					}
				}
			}
		}
		if u, err := c.WhoAmI(ctx); err != nil {
			checkErr("WhoAmI", err)
		} else if !lightdash.ValidUUID(u.UserUUID) {
			t.Fatalf("WhoAmI: accepted user uuid %q", u.UserUUID)
		}
		if g, err := c.CreateGroup(ctx, "g", []string{userUUID}); err != nil {
			checkErr("CreateGroup", err)
		} else {
			checkGroup("CreateGroup", &g.GroupWithMembers)
		}
		if _, err := c.AddMember(ctx, groupUUID, userUUID); err != nil {
			checkErr("AddMember", err)
		}
		if err := c.DeleteGroup(ctx, groupUUID); err != nil {
			checkErr("DeleteGroup", err)
		}
	})
}
