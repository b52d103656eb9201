package chaos

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// TestFakeLogsHungRequestWithBody guards a bug the chaos run found in
// lightdashtest (fixed there in 9c239e3). A Hang fault on a request with a
// body (PATCH, POST) never ended when the client gave up: net/http only
// notices a closed connection once the handler has read the body, and the
// hang did not read it. The request then reached the request log only when
// the fake was closed, so the chaos test's accounting missed every hung
// PATCH. The fake now drains the body before hanging.
func TestFakeLogsHungRequestWithBody(t *testing.T) {
	ld := lightdashtest.NewServer()
	defer ld.Close()
	ld.FailNext(lightdashtest.Fault{Method: "PATCH", Hang: true})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "PATCH", ld.URL()+"/api/v1/groups/8d0a3f4e-0000-4000-8000-000000000001", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Authorization", "ApiKey "+ld.AdminToken())
	req.Header.Set("Content-Type", "application/json")
	if resp, err := ld.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a hung PATCH was answered %d", resp.StatusCode)
	}

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range ld.Requests() {
			if r.Fault == "hang" {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the hung PATCH is not in the request log 5s after the client gave up")
}
