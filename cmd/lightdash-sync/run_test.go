package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// adminAddrRE finds the address in the "admin listener up" line, JSON or
// console format.
var adminAddrRE = regexp.MustCompile(`admin listener up.*"addr":\s*"([^"]+)"`)

// adminAddr waits for a daemon started with admin.listen 127.0.0.1:0 to
// log the address it bound and returns it. Daemons under test pick their
// own port: one picked free beforehand can be taken by another test
// package's process before the daemon binds it (cmd/internal/chaos once
// read another daemon's status that way).
func adminAddr(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	var addr string
	testutil.Eventually(t, "the admin listener's address in the log", func() bool {
		if m := adminAddrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return addr
}

// testAdminToken is admin.token in the tests' configurations that set one.
const testAdminToken = "admin-secret-value-42"

// httpGet reads an admin page with the test admin token, which the status
// pages need when one is configured (and ignore when none is).
func httpGet(url string) (int, string) {
	return testutil.HTTPDo(context.Background(), http.MethodGet, url, testAdminToken)
}

func httpPost(url, token string) int {
	code, _ := testutil.HTTPDo(context.Background(), http.MethodPost, url, token)
	return code
}

// TestRunDaemonEndToEnd runs `lightdash-sync run` in-process against a real
// embedded NATS server and the fake Lightdash: the admin endpoints answer,
// a published directory event reaches Lightdash, and cancelling (SIGTERM)
// exits 0.
func TestRunDaemonEndToEnd(t *testing.T) {
	e := newCheckEnv(t)
	ada := e.ld.AddUser("ada@example.com", lightdash.RoleViewer)
	cfgPath := e.config(t, e.ld.AdminToken())
	b, _ := os.ReadFile(cfgPath)
	cfg := string(b) + "schedule: {debounce: 10ms, max_delay: 100ms}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	d := runUntilTestEnds(t, cfgPath, daemonOpts{})
	base := "http://" + d.addr
	if code, body := httpGet(base + "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}

	nc, err := natsgo.Connect(e.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	msg := natsgo.NewMsg("directory.groups")
	msg.Header.Set("Nats-Msg-Id", "evt-run-1")
	msg.Data = []byte(`{"specversion":"1.0","id":"evt-run-1","source":"/test","type":"io.lightdash-sync.group.upserted","time":"2026-11-25T10:00:00Z","data":{"id":"grp-1","name":"analysts","members":[{"id":"u-ada","email":"ada@example.com"},{"email":"nobody@example.com"}]}}`)
	if _, err := js.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the event's group in Lightdash", func() bool {
		for _, g := range e.ld.Groups() {
			if g.Name == "analysts" && len(g.MemberUUIDs) == 1 && g.MemberUUIDs[0] == ada.UserUUID {
				return true
			}
		}
		return false
	})

	code, metrics := httpGet(base + "/metrics")
	for _, want := range []string{"lightdash_sync_events_received_total", "lightdash_requests_total", "lightdash_sync_reconcile_runs_total", "lightdash_sync_queue_pending"} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The status pages name users: they need the admin token.
	if resp, err := http.Get(base + "/status.json"); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != 401 {
		t.Errorf("/status.json without the admin token = %d, want 401", resp.StatusCode)
	}
	if code, body := httpGet(base + "/status"); code != 200 || !strings.Contains(body, "events") {
		t.Errorf("/status = %d:\n%s", code, body)
	}

	// POST /reconcile needs the admin token; the requested run then shows
	// the unmatched user on the status page.
	if code := httpPost(base+"/reconcile", ""); code != 401 {
		t.Errorf("POST /reconcile without the token = %d, want 401", code)
	}
	if code := httpPost(base+"/reconcile", "admin-secret-value-42"); code != 202 {
		t.Errorf("POST /reconcile with the token = %d, want 202", code)
	}
	testutil.Eventually(t, "the unmatched user on /status", func() bool {
		_, body := httpGet(base + "/status")
		return strings.Contains(body, "nobody@example.com")
	})

	// NATS goes away: /readyz says so, /healthz stays up.
	natstest.Shutdown(e.nats)
	testutil.Eventually(t, "/readyz to report the lost connection", func() bool {
		code, body := httpGet(base + "/readyz")
		return code == 503 && strings.Contains(body, "source events is")
	})
	if code, _ := httpGet(base + "/healthz"); code != 200 {
		t.Errorf("/healthz = %d with NATS down; the process is alive", code)
	}

	d.stop() // it must exit 0, and have saved its state
	if _, err := os.Stat(filepath.Join(e.dir, "state.json")); err != nil {
		t.Errorf("no state file after the run: %v", err)
	}
}

func TestHealthCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok\n"))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	if code, out, errOut := runMain(t, "health", "--url", srv.URL+"/healthz"); code != exitOK {
		t.Errorf("health against a live /healthz = %d %q %q", code, out, errOut)
	}
	if code, _, _ := runMain(t, "health", "--url", srv.URL+"/nope"); code != exitFailure {
		t.Errorf("health against a 404 = %d, want 1", code)
	}
	if code, _, _ := runMain(t, "health", "--url", "http://"+freeAddr(t)+"/healthz"); code != exitFailure {
		t.Errorf("health against nothing = %d, want 1", code)
	}
}

// TestHealthCommandFollowsNoRedirect: a /healthz URL that redirects (to
// another process answering 200) is not healthy: the probe asks the daemon,
// not whatever the address points on to.
func TestHealthCommandFollowsNoRedirect(t *testing.T) {
	var reached atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Write([]byte("ok\n"))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.RedirectHandler(other.URL+"/healthz", http.StatusFound))
	defer srv.Close()
	code, _, errOut := runMain(t, "health", "--url", srv.URL+"/healthz")
	if code != exitFailure {
		t.Errorf("health against a redirect = %d, want 1", code)
	}
	if !strings.Contains(errOut, "302") || !strings.Contains(errOut, other.URL) {
		t.Errorf("stderr %q does not name the redirect and its Location", errOut)
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

// TestRunDryRunWritesNothing runs the daemon with --dry-run: it reads,
// plans and reports, and Lightdash receives no write.
func TestRunDryRunWritesNothing(t *testing.T) {
	e := newCheckEnv(t)
	e.ld.AddUser("ada@example.com", lightdash.RoleViewer)
	cfgPath := e.config(t, e.ld.AdminToken())
	b, _ := os.ReadFile(cfgPath)
	cfg := string(b) + "schedule: {debounce: 10ms, max_delay: 100ms}\n"
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	addr := runUntilTestEnds(t, cfgPath, daemonOpts{args: []string{"--dry-run"}}).addr

	nc, err := natsgo.Connect(e.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	msg := natsgo.NewMsg("directory.groups")
	msg.Header.Set("Nats-Msg-Id", "evt-dry-1")
	msg.Data = []byte(`{"specversion":"1.0","id":"evt-dry-1","source":"/test","type":"io.lightdash-sync.group.upserted","time":"2026-11-25T10:00:00Z","data":{"id":"grp-1","name":"analysts","members":[{"email":"ada@example.com"}]}}`)
	if _, err := js.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the dry run to plan the event's group", func() bool {
		_, body := httpGet("http://" + addr + "/metrics")
		return strings.Contains(body, `lightdash_sync_group_reconciles_total{result="ok",source="events"} 1`)
	})
	if n := e.ld.WriteCount(); n != 0 {
		t.Errorf("a dry run made %d Lightdash writes", n)
	}
	if _, body := httpGet("http://" + addr + "/status"); !strings.Contains(body, "dry run: nothing is written") {
		t.Error("/status does not say it is a dry run")
	}
}
