package lightdash_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

var (
	noSleep     = func(context.Context, time.Duration) error { return nil }
	deleteGroup = call{"DeleteGroup", func(ctx context.Context, c *lightdash.Client) (any, error) {
		return nil, c.DeleteGroup(ctx, groupUUID)
	}}
	addMember = call{"AddMember", func(ctx context.Context, c *lightdash.Client) (any, error) {
		return c.AddMember(ctx, groupUUID, userUUID)
	}}
	removeMember = call{"RemoveMember", func(ctx context.Context, c *lightdash.Client) (any, error) {
		return c.RemoveMember(ctx, groupUUID, userUUID)
	}}
)

// elsewhere is another host:port on loopback that answers every request
// with a success of the right shape and records whether anything reached it.
type elsewhere struct {
	*httptest.Server
	requests atomic.Int64
	sawAuth  atomic.Int64
}

func newElsewhere(t *testing.T) *elsewhere {
	t.Helper()
	e := &elsewhere{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		if r.Header.Get("Authorization") != "" {
			e.sawAuth.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","results":{"userUuid":"` + userUUID + `","uuid":"` + groupUUID +
			`","name":"g","role":"admin","memberUuids":[],"members":[],"data":[]}}`))
	}))
	t.Cleanup(e.Close)
	return e
}

// TestRedirectsAreNotFollowed: a Lightdash URL that answers a redirect to
// another host:port gets an error naming the status and the Location; the
// other host receives nothing (so never the token), nothing is retried, and
// a 301/302/303 after a write (which a client following it would turn into
// a GET answered 200) is never taken as success. It holds whatever
// *http.Client the caller injects, including one that follows redirects
// and keeps headers.
func TestRedirectsAreNotFollowed(t *testing.T) {
	other := newElsewhere(t)
	var hits atomic.Int64
	var status atomic.Int64
	ld := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		// User info and query as a hostile server might echo the token.
		loc := strings.Replace(other.URL, "://", "://u:"+hostileToken+"@", 1)
		w.Header().Set("Location", loc+r.URL.Path+"?token="+hostileToken+"#"+hostileToken)
		w.WriteHeader(int(status.Load()))
	}))
	defer ld.Close()

	followAll := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		req.Header = via[0].Header.Clone() // the worst a caller could inject
		return nil
	}}
	clients := map[string]*http.Client{"default": nil, "follows and keeps headers": followAll}
	calls := []call{listGroups, listUsers, whoAmI, create, update, deleteGroup, addMember, removeMember}
	for cname, hc := range clients {
		for _, code := range []int{301, 302, 303, 307, 308} {
			for _, cl := range calls {
				t.Run(cname+"/"+http.StatusText(code)+"/"+cl.name, func(t *testing.T) {
					status.Store(int64(code))
					hits.Store(0)
					c := &lightdash.Client{BaseURL: ld.URL, Token: hostileToken, MaxRetries: 3, Sleep: noSleep, HTTPClient: hc}
					got, err := cl.do(context.Background(), c)
					if err == nil {
						t.Fatalf("got success (%+v), want a redirect error", got)
					}
					var re *lightdash.RedirectError
					if !errors.As(err, &re) || !errors.Is(err, lightdash.ErrRedirect) {
						t.Fatalf("error %q (%T): want a *lightdash.RedirectError matching ErrRedirect", err, err)
					}
					if re.StatusCode != code {
						t.Errorf("StatusCode: got %d, want %d", re.StatusCode, code)
					}
					if !strings.Contains(err.Error(), other.URL) || !strings.Contains(err.Error(), "redirect") {
						t.Errorf("error %q does not name the Location %s", err, other.URL)
					}
					if strings.Contains(err.Error(), hostileToken) {
						t.Errorf("error %q contains the token", err)
					}
					if n := hits.Load(); n != 1 {
						t.Errorf("Lightdash got %d requests, want 1 (a redirect is not retried)", n)
					}
				})
			}
		}
	}
	if n := other.requests.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests (%d with an Authorization header), want none", n, other.sawAuth.Load())
	}
}

// TestOtherRedirectStatusesAreErrors: the 3xx answers no client follows
// (300, 304) are errors too, not empty successes.
func TestOtherRedirectStatusesAreErrors(t *testing.T) {
	for _, code := range []int{300, 304} {
		c := canned(t, code, "", "")
		for _, cl := range []call{listGroups, whoAmI, update} {
			_, err := cl.do(context.Background(), c)
			if !errors.Is(err, lightdash.ErrRedirect) {
				t.Errorf("%d %s: got %v, want ErrRedirect", code, cl.name, err)
			}
		}
	}
}
