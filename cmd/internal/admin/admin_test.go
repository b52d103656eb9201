package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

func get(t *testing.T, srv *httptest.Server, method, path, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "lightdash_sync_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	ready := false
	requested := 0
	h := &Handler{
		Status: func() Status {
			return Status{
				Version: "v-test", Now: time.Now(),
				Sources: []Source{{Name: "corp-ldap", Type: "ldap", Connected: true}},
				LastReconcile: &Reconcile{
					Result:    "blocked",
					Blocked:   "12 deletions exceed max_group_deletes 10",
					Unmatched: []worker.UnmatchedUser{{Source: "corp-ldap", UserID: "u1", Email: "<script>alert(1)</script>@example.com", Groups: []string{"data"}, Reason: "no Lightdash user with this email"}},
				},
			}
		},
		Ready:     func() (bool, string) { return ready, "no successful full reconciliation yet" },
		Reconcile: func(string, bool) error { requested++; return nil },
		Token:     "admin-secret",
		Gatherer:  reg,
	}
	srv := httptest.NewServer(h.ServeMux())
	defer srv.Close()

	if code, body := get(t, srv, "GET", "/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, srv, "GET", "/readyz", ""); code != 503 || !strings.Contains(body, "no successful full reconciliation") {
		t.Errorf("/readyz not ready = %d %q, want 503 with the reason", code, body)
	}
	ready = true
	if code, _ := get(t, srv, "GET", "/readyz", ""); code != 200 {
		t.Errorf("/readyz ready = %d, want 200", code)
	}
	if code, body := get(t, srv, "GET", "/metrics", ""); code != 200 || !strings.Contains(body, "lightdash_sync_test_total 1") {
		t.Errorf("/metrics = %d, missing the registered counter:\n%s", code, body)
	}
	code, body := get(t, srv, "GET", "/status", "Bearer admin-secret")
	if code != 200 || !strings.Contains(body, "corp-ldap") || !strings.Contains(body, "12 deletions exceed") {
		t.Errorf("/status = %d, missing the source or the blocked reason:\n%s", code, body)
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("/status did not escape a hostile email:\n%s", body)
	}
	if code, body := get(t, srv, "GET", "/status.json", "Bearer admin-secret"); code != 200 || !strings.Contains(body, `"result": "blocked"`) {
		t.Errorf("/status.json = %d %s", code, body)
	}
}

func TestReconcileNeedsToken(t *testing.T) {
	calls := 0
	tests := []struct {
		name     string
		token    string
		auth     string
		recErr   error
		wantCode int
		wantCall bool
	}{
		{"no token configured refuses", "", "Bearer anything", nil, 403, false},
		{"missing header", "s3cret", "", nil, 401, false},
		{"wrong token", "s3cret", "Bearer nope", nil, 401, false},
		{"wrong scheme", "s3cret", "Basic s3cret", nil, 401, false},
		{"right token", "s3cret", "Bearer s3cret", nil, 202, true},
		{"already running", "s3cret", "Bearer s3cret", errors.New("a reconciliation is already running"), 409, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls
			h := &Handler{
				Status:    func() Status { return Status{} },
				Ready:     func() (bool, string) { return true, "" },
				Reconcile: func(string, bool) error { calls++; return tt.recErr },
				Token:     tt.token,
			}
			srv := httptest.NewServer(h.ServeMux())
			defer srv.Close()
			code, _ := get(t, srv, "POST", "/reconcile", tt.auth)
			if code != tt.wantCode {
				t.Errorf("POST /reconcile = %d, want %d", code, tt.wantCode)
			}
			if got := calls > before; got != tt.wantCall {
				t.Errorf("reconcile called = %v, want %v", got, tt.wantCall)
			}
			if code, _ := get(t, srv, "GET", "/reconcile", "Bearer s3cret"); code != 405 {
				t.Errorf("GET /reconcile = %d, want 405", code)
			}
		})
	}
}

func TestTargetsStatusAndReconcile(t *testing.T) {
	var asked []string
	h := &Handler{
		Status: func() Status {
			return Status{Version: "v", Targets: []Status{
				{Target: "prod", Lightdash: "https://prod.example.com", Leader: Leader{Enabled: true, IsLeader: true, Identity: "r1"}},
				{Target: "staging", Lightdash: "https://staging.example.com", Leader: Leader{Enabled: true, Identity: "r1", Holder: "r2"}},
			}}
		},
		Ready: func() (bool, string) { return true, "" },
		Token: "tok",
		Reconcile: func(target string, _ bool) error {
			if target != "" && target != "prod" && target != "staging" {
				return fmt.Errorf("%w: %q", ErrUnknownTarget, target)
			}
			asked = append(asked, target)
			return nil
		},
	}
	srv := httptest.NewServer(h.ServeMux())
	defer srv.Close()
	_, body := get(t, srv, "GET", "/status", "Bearer tok")
	for _, want := range []string{"Target prod (https://prod.example.com)", "Target staging", "a standby; leader: r2", "the leader"} {
		if !strings.Contains(body, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
	for _, tt := range []struct {
		query string
		want  int
	}{{"", 202}, {"?target=staging", 202}, {"?target=nope", 404}} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/reconcile"+tt.query, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("POST /reconcile%s: got %d, want %d", tt.query, resp.StatusCode, tt.want)
		}
	}
	if fmt.Sprint(asked) != "[ staging]" {
		t.Errorf("reconciliations asked for %q, want every target then staging", asked)
	}
}

// TestReconcileReadFull: POST /reconcile?read=full asks for a full read of
// the directory; without read it does not; another value is refused.
func TestReconcileReadFull(t *testing.T) {
	type call struct {
		target   string
		fullRead bool
	}
	var calls []call
	h := &Handler{
		Status: func() Status { return Status{} },
		Ready:  func() (bool, string) { return true, "" },
		Token:  "tok",
		Reconcile: func(target string, fullRead bool) error {
			calls = append(calls, call{target, fullRead})
			return nil
		},
	}
	srv := httptest.NewServer(h.ServeMux())
	defer srv.Close()
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/reconcile?read=full", 202},
		{"/reconcile", 202},
		{"/reconcile?target=prod&read=full", 202},
		{"/reconcile?read=watcher", 400},
	} {
		if code, body := get(t, srv, "POST", tt.path, "Bearer tok"); code != tt.code {
			t.Errorf("POST %s = %d %q, want %d", tt.path, code, body, tt.code)
		}
	}
	want := []call{{"", true}, {"", false}, {"prod", true}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("reconcile calls = %v, want %v", calls, want)
	}
}
