// Package testutil holds small helpers shared by tests in several packages:
// polling for a condition and calling an HTTP endpoint.
package testutil

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// Timeout bounds every wait in Eventually. It is a safety net against a
// hang, never the thing a test asserts.
const Timeout = 20 * time.Second

// Eventually polls cond until it holds and fails the test, naming what it
// waited for, if it does not within Timeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client bounds each request, so a stuck server fails a test instead of
// hanging it.
var client = &http.Client{Timeout: 5 * time.Second}

// HTTPDo sends a bodyless request, with "Authorization: Bearer bearer" when
// bearer is set, and returns the status code and body. A failed request
// gives status 0 and the error text as body.
func HTTPDo(ctx context.Context, method, url, bearer string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
