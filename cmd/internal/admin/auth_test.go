package admin

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

const privateEmail = "ada.lovelace@example.com"

func privateHandler(token string, loopback bool) *Handler {
	return &Handler{
		Status: func() Status {
			return Status{Version: "v", LastReconcile: &Reconcile{Result: "ok",
				Unmatched: []worker.UnmatchedUser{{Source: "corp", UserID: "u1", Email: privateEmail}}}}
		},
		Ready:     func() (bool, string) { return true, "" },
		Reconcile: func(string, bool) error { return nil },
		Token:     token,
		Loopback:  loopback,
		Gatherer:  prometheus.NewRegistry(),
	}
}

func basic(password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:"+password))
}

// TestStatusPagesNeedToken holds the status pages, which name directory
// users, behind the admin token, while the probes and metrics stay open.
func TestStatusPagesNeedToken(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		loopback bool
		host     string
		auth     string
		want     int
	}{
		{"token, none sent", "s3cret", true, "", "", 401},
		{"token, wrong one", "s3cret", true, "", "Bearer nope", 401},
		{"token, bearer", "s3cret", false, "", "Bearer s3cret", 200},
		{"token, basic password for browsers", "s3cret", false, "", basic("s3cret"), 200},
		{"token, wrong basic password", "s3cret", false, "", basic("nope"), 401},
		{"no token, listener not on loopback", "", false, "", "", 403},
		{"no token, loopback listener", "", true, "", "", 200},
		{"no token, loopback listener, rebound DNS name", "", true, "evil.example.com", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(privateHandler(tt.token, tt.loopback).ServeMux())
			defer srv.Close()
			for _, path := range []string{"/status", "/status.json"} {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				if tt.host != "" {
					req.Host = tt.host
				}
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				code, body := do(t, req)
				if code != tt.want {
					t.Errorf("GET %s = %d, want %d: %s", path, code, tt.want, body)
				}
				if leaked := strings.Contains(body, privateEmail); leaked != (tt.want == 200) {
					t.Errorf("GET %s: e-mail in the answer = %v with status %d", path, leaked, code)
				}
				if code == 403 && tt.host == "" && !strings.Contains(body, "admin.token") {
					t.Errorf("GET %s: 403 does not say how to configure the token: %s", path, body)
				}
			}
			for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
				if code, _ := get(t, srv, "GET", path, ""); code != 200 {
					t.Errorf("GET %s without a token = %d, want 200", path, code)
				}
			}
		})
	}
}

// TestReconcileRefusesBasic keeps POST /reconcile to a bearer token: a
// browser re-sends Basic credentials on any site's behalf.
func TestReconcileRefusesBasic(t *testing.T) {
	srv := httptest.NewServer(privateHandler("s3cret", true).ServeMux())
	defer srv.Close()
	if code, _ := get(t, srv, "POST", "/reconcile", basic("s3cret")); code != 401 {
		t.Errorf("POST /reconcile with Basic = %d, want 401", code)
	}
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}
