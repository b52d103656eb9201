package admin

import (
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestStatusCache: /status.json and /status are rendered once per status
// version, and a run that ends (a new version) shows at once, however
// long the pages may otherwise be kept.
func TestStatusCache(t *testing.T) {
	var version atomic.Uint64
	var calls atomic.Int32
	result := atomic.Value{}
	result.Store("ok")
	h := &Handler{
		Status: func() Status {
			calls.Add(1)
			return Status{Version: "v", LastReconcile: &Reconcile{Result: result.Load().(string)}}
		},
		StatusVersion: version.Load,
		StatusMaxAge:  time.Hour,
		Ready:         func() (bool, string) { return true, "" },
		Loopback:      true,
	}
	srv := httptest.NewServer(h.ServeMux())
	defer srv.Close()
	for range 3 {
		for _, path := range []string{"/status.json", "/status"} {
			if code, body := get(t, srv, "GET", path, ""); code != 200 || !strings.Contains(body, "ok") {
				t.Fatalf("GET %s = %d %s", path, code, body)
			}
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("Status computed %d times for 6 requests of one version, want once per page", n)
	}

	result.Store("blocked")
	version.Add(1)
	if _, body := get(t, srv, "GET", "/status.json", ""); !strings.Contains(body, `"result": "blocked"`) {
		t.Errorf("after a run ended /status.json still shows the old one:\n%s", body)
	}
	if _, body := get(t, srv, "GET", "/status", ""); !strings.Contains(body, "blocked") {
		t.Errorf("after a run ended /status still shows the old one:\n%s", body)
	}
}

func TestStatusCacheExpires(t *testing.T) {
	var c statusCache
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	render := func() ([]byte, error) { n++; return []byte{byte(n)}, nil }
	for _, step := range []struct {
		at   time.Duration
		want byte
	}{{0, 1}, {500 * time.Millisecond, 1}, {time.Second, 2}, {1500 * time.Millisecond, 2}} {
		p, _ := c.get("json", 7, t0.Add(step.at), time.Second, render)
		if p[0] != step.want {
			t.Errorf("at %v: rendering %d, want %d", step.at, p[0], step.want)
		}
	}
}
