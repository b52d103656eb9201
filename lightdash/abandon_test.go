package lightdash_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// failAndCancel answers 503 and, meanwhile, ends the caller's context: the
// caller gave up (another read of its run failed) just as the attempt
// failed.
type failAndCancel struct{ cancel context.CancelFunc }

func (f failAndCancel) RoundTrip(r *http.Request) (*http.Response, error) {
	f.cancel()
	return &http.Response{StatusCode: 503, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"status":"error","error":{"statusCode":503,"name":"Unavailable","message":"down"}}`)), Request: r}, nil
}

// A failed attempt whose caller gave up meanwhile is not retried, and not
// dropped silently either: it is logged, and the error names it.
func TestAbandonedAttemptIsLogged(t *testing.T) {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	core, logs := observer.New(zapcore.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &lightdash.Client{BaseURL: srv.URL(), Token: srv.AdminToken(), Logger: zap.New(core),
		HTTPClient: &http.Client{Transport: failAndCancel{cancel}}}
	_, err := c.ListGroups(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "attempt had failed") {
		t.Fatalf("got %v, want the cancellation with the attempt's failure", err)
	}
	got := logs.FilterMessage("lightdash request failed and was not retried: the caller gave up").All()
	if len(got) != 1 || got[0].ContextMap()["method"] != "GET" {
		t.Fatalf("abandoned-attempt log lines: %+v", got)
	}
	if n := logs.FilterMessage("retrying lightdash request").Len(); n != 0 {
		t.Errorf("%d retries logged after the caller gave up", n)
	}
}
