package admin

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

func TestExplainEndpoints(t *testing.T) {
	asked := 0
	h := &Handler{
		Status: func() Status { return Status{} },
		Ready:  func() (bool, string) { return true, "" },
		Token:  "admin-secret",
		Explain: func(_ context.Context, email, target string) ([]Explained, error) {
			asked++
			switch {
			case target == "nope":
				return nil, fmt.Errorf("%w: %q", ErrUnknownTarget, target)
			case email == "bad":
				return nil, fmt.Errorf("explain: %w", worker.ErrBadEmail)
			}
			x := &worker.Explanation{Email: email, Account: worker.ExplainAccount{Status: worker.AccountNone},
				Groups: []worker.ExplainGroup{{Source: "corp", Group: worker.ExplainRef{Name: "<script>x</script>"}, Direct: true,
					Mapping: worker.MappingVerdict{Verdict: worker.VerdictNoRule, Reason: "no mapping rule or override selects this group"}}}}
			return []Explained{{Target: target, Explanation: x}}, nil
		},
	}
	srv := httptest.NewServer(h.ServeMux())
	defer srv.Close()

	for _, p := range []string{"/explain?email=a@example.com", "/explain.json?email=a@example.com"} {
		if code, _ := get(t, srv, "GET", p, ""); code != 401 {
			t.Errorf("%s without the token = %d, want 401", p, code)
		}
	}
	if asked != 0 {
		t.Fatalf("Explain called %d times without the token", asked)
	}
	code, body := get(t, srv, "GET", "/explain?email=a@example.com", "Bearer admin-secret")
	if code != 200 || !strings.Contains(body, "not synced: no-rule") || strings.Contains(body, "<script>x") || !strings.Contains(body, `value="a@example.com"`) {
		t.Errorf("/explain = %d:\n%s", code, body)
	}
	if code, body := get(t, srv, "GET", "/explain.json?email=a@example.com", "Bearer admin-secret"); code != 200 || !strings.Contains(body, `"verdict": "no-rule"`) {
		t.Errorf("/explain.json = %d:\n%s", code, body)
	}
	tests := []struct {
		path string
		want int
	}{
		{"/explain", 200}, // the search form alone
		{"/explain.json", 400},
		{"/explain.json?email=bad", 400},
		{"/explain.json?email=a@example.com&target=nope", 404},
	}
	for _, tt := range tests {
		if code, body := get(t, srv, "GET", tt.path, "Bearer admin-secret"); code != tt.want {
			t.Errorf("%s = %d, want %d:\n%s", tt.path, code, tt.want, body)
		}
	}
	if code, body := get(t, srv, "GET", "/status", "Bearer admin-secret"); code != 200 || !strings.Contains(body, `<form action="/explain" method="get">`) {
		t.Errorf("/status = %d, want the search box:\n%s", code, body)
	}

	h.Explain = nil
	if code, _ := get(t, srv, "GET", "/explain.json?email=a@example.com", "Bearer admin-secret"); code != 404 {
		t.Errorf("/explain without Explain = %d, want 404", code)
	}
}
