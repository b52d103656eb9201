package lightdash

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	for _, j := range []float64{0, 0.5, 0.999} {
		c := &Client{MinBackoff: time.Second, MaxBackoff: 10 * time.Second, Jitter: func() float64 { return j }}
		for attempt, full := range []time.Duration{1, 2, 4, 8, 10, 10, 10} {
			full *= time.Second
			got := c.backoff(attempt)
			if got < full/2 || got > full {
				t.Errorf("jitter %v attempt %d: got %v, want within [%v, %v]", j, attempt, got, full/2, full)
			}
		}
	}
	// Huge attempt numbers must not overflow.
	c := &Client{}
	if got := c.backoff(1000); got <= 0 || got > DefaultMaxBackoff {
		t.Errorf("attempt 1000: got %v", got)
	}
}

func TestParseAPIError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantName   string
		wantMsg    string
		wantInText string
	}{
		{"envelope", 409, `{"status":"error","error":{"statusCode":409,"name":"AlreadyExistsError","message":"Group name already exists","data":{}}}`,
			"AlreadyExistsError", "Group name already exists", "409 AlreadyExistsError: Group name already exists"},
		{"plain 401", 401, "Unauthorized", "", "Unauthorized", "personal access token"},
		{"empty 502", 502, "", "", "Bad Gateway", "502"},
		{"html", 503, "<html>" + strings.Repeat("x", 500) + "</html>", "", "", "503"},
		{"flag off", 403, `{"status":"error","error":{"statusCode":403,"name":"ForbiddenError","message":"Group service is not enabled"}}`,
			"ForbiddenError", "Group service is not enabled", "LIGHTDASH_ENABLE_FEATURE_FLAGS=user-groups-enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseAPIError(tt.status, []byte(tt.body))
			if e.StatusCode != tt.status || e.Name != tt.wantName || (tt.wantMsg != "" && e.Message != tt.wantMsg) {
				t.Errorf("got %+v", e)
			}
			if len(e.Message) > maxErrorExcerpt+len("…") {
				t.Errorf("got a %d-byte message, want it cut", len(e.Message))
			}
			if !strings.Contains(e.Error(), tt.wantInText) {
				t.Errorf("got %q, want it to contain %q", e.Error(), tt.wantInText)
			}
		})
	}
}

func TestValidUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77": true,
		"7D1C0B1E-3F5A-4C55-9A51-0E2F6A1C9B77": true,
		"7d1c0b1e3f5a4c559a510e2f6a1c9b77":     false,
		"7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b7g": false,
		"{d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77": false,
		"":                                     false,
	} {
		if got := ValidUUID(s); got != want {
			t.Errorf("ValidUUID(%q): got %v, want %v", s, got, want)
		}
	}
}

// TestTransportSendsTokenOnlyToBaseURL: the transport refuses a request
// for any other origin before it reaches the wrapped transport, so no
// path (a redirect, a future method building its own URL) can carry the
// token elsewhere.
func TestTransportSendsTokenOnlyToBaseURL(t *testing.T) {
	var sent []string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.String()+" "+r.Header.Get("Authorization"))
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	c := &Client{BaseURL: "https://ld.example.com/prefix", Token: "secret", HTTPClient: &http.Client{Transport: next}}
	if err := c.init(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://evil.example.com/api/v1/user", "http://ld.example.com/api/v1/user", "https://ld.example.com:8443/api/v1/user"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := c.hc.Transport.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: sent, want refused", u)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q contains the token", u, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "https://ld.example.com/prefix/api/v1/user", nil)
	resp, err := c.hc.Transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("request to the base URL: %v", err)
	}
	resp.Body.Close()
	if len(sent) != 1 || !strings.HasSuffix(sent[0], " ApiKey secret") {
		t.Errorf("sent %q, want only the base URL's request, with the token", sent)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
