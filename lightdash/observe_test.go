package lightdash_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// The token never shows in errors, logs or String(), whatever fails.
func TestTokenNeverLeaks(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	core, logs := observer.New(zapcore.DebugLevel)
	token := srv.AdminToken()
	noSleep := func(context.Context, time.Duration) error { return nil }
	c := &lightdash.Client{BaseURL: srv.URL(), Token: token, Logger: zap.New(core),
		MaxRetries: 1, Sleep: noSleep, Timeout: 50 * time.Millisecond}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }

	collect(c.ListUsers(ctx))
	srv.FailNext(lightdashtest.Fault{Status: 503}, lightdashtest.Fault{Status: 503})
	collect(c.ListGroups(ctx))
	srv.FailNext(lightdashtest.Fault{Drop: true}, lightdashtest.Fault{Hang: true})
	collect(c.WhoAmI(ctx))
	collect(c.AddMember(ctx, "7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77", "7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b78"))
	collect(c.CreateGroup(ctx, strings.Repeat("x", 300), nil))
	wrong := &lightdash.Client{BaseURL: srv.URL(), Token: token + "x", Logger: zap.New(core)}
	collect(wrong.Organization(ctx))
	srv.Close()
	collect(c.Organization(ctx))

	var texts []string
	for _, err := range errs {
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
		}
	}
	if len(texts) < 10 {
		t.Fatalf("got %d errors, want the failures above to fail", len(texts)/2)
	}
	for _, e := range logs.All() {
		texts = append(texts, e.Message)
		for k, v := range e.ContextMap() {
			texts = append(texts, k+"="+fmt.Sprint(v))
		}
	}
	if logs.FilterMessage("lightdash request").Len() == 0 || logs.FilterMessage("retrying lightdash request").Len() == 0 {
		t.Errorf("got %d log entries, want request and retry lines", logs.Len())
	}
	texts = append(texts, c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c))
	for _, s := range texts {
		if strings.Contains(s, token) || strings.Contains(s, token[6:]) {
			t.Errorf("token leaked: %s", s)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := lightdash.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, &lightdash.Client{Metrics: m})
	ctx := context.Background()
	f.srv.FailNext(lightdashtest.Fault{Method: "GET", Status: 503})
	if _, err := f.c.ListGroups(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateGroup(ctx, "g", nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"GET 503", counterValue(t, m.Requests.WithLabelValues("GET", "/api/v1/org/groups", "503")), 1},
		{"GET 200", counterValue(t, m.Requests.WithLabelValues("GET", "/api/v1/org/groups", "200")), 1},
		{"POST 201", counterValue(t, m.Requests.WithLabelValues("POST", "/api/v1/org/groups", "201")), 1},
		{"retries", counterValue(t, m.Retries.WithLabelValues("GET", "/api/v1/org/groups", "503")), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if n := seriesCount(t, reg, "lightdash_request_duration_seconds"); n != 2 {
		t.Errorf("got %d latency series, want 2 (GET and POST)", n)
	}
	if _, err := lightdash.NewMetrics(reg); err == nil {
		t.Error("registering twice on one registry: got no error")
	}
	if f.c.RequestCount() != 3 {
		t.Errorf("got RequestCount %d, want 3", f.c.RequestCount())
	}
}

func TestAPIErrorIs(t *testing.T) {
	tests := []struct {
		err  *lightdash.APIError
		want []error
	}{
		{&lightdash.APIError{StatusCode: 404}, []error{lightdash.ErrNotFound}},
		{&lightdash.APIError{StatusCode: 409}, []error{lightdash.ErrAlreadyExists}},
		{&lightdash.APIError{StatusCode: 400}, []error{lightdash.ErrInvalidParameter}},
		{&lightdash.APIError{StatusCode: 422}, []error{lightdash.ErrInvalidParameter}},
		{&lightdash.APIError{StatusCode: 401}, []error{lightdash.ErrUnauthorized}},
		{&lightdash.APIError{StatusCode: 403, Message: "You don't have access to this resource or action"}, []error{lightdash.ErrForbidden}},
		{&lightdash.APIError{StatusCode: 403, Message: "Group service is not enabled"}, []error{lightdash.ErrForbidden, lightdash.ErrFeatureDisabled}},
		{&lightdash.APIError{StatusCode: 429}, []error{lightdash.ErrRateLimited}},
		{&lightdash.APIError{StatusCode: 502}, []error{lightdash.ErrServer}},
	}
	all := []error{lightdash.ErrNotFound, lightdash.ErrAlreadyExists, lightdash.ErrInvalidParameter, lightdash.ErrUnauthorized,
		lightdash.ErrForbidden, lightdash.ErrFeatureDisabled, lightdash.ErrRateLimited, lightdash.ErrServer, lightdash.ErrInvalidUUID}
	for _, tt := range tests {
		wrapped := fmt.Errorf("ctx: %w", tt.err)
		for _, s := range all {
			want := false
			for _, w := range tt.want {
				want = want || w == s
			}
			if got := errors.Is(wrapped, s); got != want {
				t.Errorf("%d %q Is %v: got %v, want %v", tt.err.StatusCode, tt.err.Message, s, got, want)
			}
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func seriesCount(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}
