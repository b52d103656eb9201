package admin

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/progress"
)

// TestStatusPagesShowARunInProgress: both pages show the run's reads and
// writes; the JSON shows a source's last event when it had one, and no
// year-1 time for what has not happened (a source's event, a success).
func TestStatusPagesShowARunInProgress(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := &Handler{
		Status: func() Status {
			return Status{Version: "v-test", Now: at, StartedAt: at,
				Sources: []Source{{Name: "corp", Type: "ldap", LastEvent: &at}, {Name: "hr", Type: "nats"}},
				Progress: &progress.Status{Phase: "writing", Started: at,
					Reads:  []progress.Read{{What: "source corp", Done: true, Size: "12 users, 3 groups"}},
					Writes: &progress.Writes{Done: 250, Total: 1000, PerSecond: 25, ETA: "30s"}},
			}
		},
		Ready: func() (bool, string) { return true, "" },
		Token: "admin-secret",
	}
	srv := httptest.NewServer(h.ServeMux())
	defer srv.Close()
	_, page := get(t, srv, "GET", "/status", "Bearer admin-secret")
	for _, want := range []string{"Full reconciliation in progress", "source corp: read, 12 users, 3 groups", "Writes 250 of 1000 · 25.0/s · about 30s left", "03:04:05"} {
		if !strings.Contains(page, want) {
			t.Errorf("/status lacks %q:\n%s", want, page)
		}
	}
	_, js := get(t, srv, "GET", "/status.json", "Bearer admin-secret")
	for _, want := range []string{`"phase": "writing"`, `"total": 1000`, `"eta": "30s"`, `"lastEvent": "2026-01-02T03:04:05Z"`} {
		if !strings.Contains(js, want) {
			t.Errorf("/status.json lacks %s:\n%s", want, js)
		}
	}
	if strings.Count(js, `"lastEvent"`) != 1 || strings.Contains(js, "0001-01-01") {
		t.Errorf("/status.json shows a lastEvent for a source without events:\n%s", js)
	}
}
