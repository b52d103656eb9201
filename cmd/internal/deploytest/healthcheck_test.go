package deploytest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/deploytest"
)

// TestDockerHealthcheckCommandWorks runs the Dockerfile's HEALTHCHECK
// command line with the real binary against a /healthz that answers 200,
// then 503: the container must be reported healthy, then unhealthy.
func TestDockerHealthcheckCommandWorks(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deploy, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ins, err := deploytest.ParseDockerfile(string(data))
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for _, in := range ins {
		if in.Cmd == "HEALTHCHECK" {
			_, cmd, _ := strings.Cut(in.Args, "CMD ")
			if err := json.Unmarshal([]byte(cmd), &argv); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(argv) < 2 {
		t.Fatalf("no HEALTHCHECK CMD in the Dockerfile")
	}
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	// The image probes 127.0.0.1:9464; point the same command at the test server.
	args := append([]string(nil), argv[1:]...)
	for i, a := range args {
		args[i] = strings.Replace(a, "http://127.0.0.1:"+deploytest.AdminPort, srv.URL, 1)
	}
	for _, tc := range []struct {
		status int
		ok     bool
	}{{http.StatusOK, true}, {http.StatusServiceUnavailable, false}} {
		status.Store(int32(tc.status))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, exe, args...).CombinedOutput()
		cancel()
		if (err == nil) != tc.ok {
			t.Errorf("/healthz answering %d: %v %v exited with %v, want success=%v\n%s", tc.status, exe, args, err, tc.ok, out)
		}
	}
}
