package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// runMain runs the command line in-process and returns its exit code and output.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := Main(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// syncBuffer is a bytes.Buffer safe for the late log lines that a NATS
// connection's callbacks write while it closes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEverySubcommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runMain(t, c.name, "--help")
			if code != exitOK {
				t.Errorf("%s --help exited %d, want 0", c.name, code)
			}
			if !strings.Contains(out, "Usage: lightdash-sync "+c.name) || len(out) < 120 {
				t.Errorf("%s --help printed too little:\n%s", c.name, out)
			}
			if n := strings.Count(out, "Usage:"); n != 1 || errOut != "" {
				t.Errorf("%s --help printed the usage %d times on stdout and this on stderr, want once on stdout only:\n%s", c.name, n, errOut)
			}
		})
	}
	code, out, _ := runMain(t, "--help")
	if code != exitOK || !strings.Contains(out, "Exit codes") {
		t.Errorf("--help = %d:\n%s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := [][]string{
		{},
		{"frobnicate"},
		{"plan", "--no-such-flag"},
		{"plan", "extra-argument"},
		{"plan", "--output", "yaml", "--config", "../internal/config/testdata/minimal.yaml"},
	}
	for _, args := range tests {
		if code, _, _ := runMain(t, args...); code != exitUsage {
			t.Errorf("lightdash-sync %q exited %d, want 2", args, code)
		}
	}
}

// TestBadConfigsExit2 runs every bad fixture through each command that
// reads the configuration: each must exit 2 with one line naming the problem.
func TestBadConfigsExit2(t *testing.T) {
	fixtures, err := filepath.Glob("../internal/config/testdata/*.yaml")
	if err != nil || len(fixtures) < 10 {
		t.Fatalf("fixtures: %v %v", fixtures, err)
	}
	t.Setenv("LIGHTDASH_TOKEN", "x")
	t.Setenv("LDAP_PASSWORD", "x")
	for _, f := range fixtures {
		if filepath.Base(f) == "minimal.yaml" {
			continue
		}
		for _, cmd := range []string{"plan", "reconcile", "check", "run"} {
			t.Run(filepath.Base(f)+"/"+cmd, func(t *testing.T) {
				code, stdout, stderr := runMain(t, cmd, "--config", f)
				if code != exitUsage {
					t.Fatalf("exit %d, want 2; stdout %q stderr %q", code, stdout, stderr)
				}
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], filepath.Base(f)) {
					t.Errorf("want one error line naming the file, got %q", stderr)
				}
			})
		}
	}
	code, _, stderr := runMain(t, "plan", "--config", "/nonexistent/lightdash-sync.yaml")
	if code != exitUsage || !strings.Contains(stderr, "no such file or directory") {
		t.Errorf("missing config: exit %d, %q", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runMain(t, "version")
	if code != 0 || !strings.HasPrefix(out, "lightdash-sync ") || !strings.Contains(out, "go1.") {
		t.Errorf("version = %d %q", code, out)
	}
}

// checkEnv is a working setup for check: the fake Lightdash and a real
// embedded NATS server with JetStream.
type checkEnv struct {
	ld    *lightdashtest.Server
	nats  *server.Server
	dir   string
	admin string // admin.listen: a port the daemon picks (read it with adminAddr), never the default
}

func newCheckEnv(t *testing.T) *checkEnv {
	e := &checkEnv{ld: lightdashtest.NewServer(), nats: natstest.RunServer(t), dir: t.TempDir(), admin: "127.0.0.1:0"}
	t.Cleanup(e.ld.Close)
	return e
}

// config writes a configuration with the token in a file, the way
// production does, and returns its path.
func (e *checkEnv) config(t *testing.T, token string) string {
	t.Helper()
	tokenFile := filepath.Join(e.dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `
log: {level: debug}
lightdash:
  url: ` + e.ld.URL() + `
  token_file: ` + tokenFile + `
  max_retries: 1
sources:
  - name: events
    type: nats
    nats:
      urls: ["` + e.nats.ClientURL() + `"]
      create_stream: true
mapping:
  rules: [{name: all}]
state:
  path: ` + filepath.Join(e.dir, "state.json") + `
admin:
  token: admin-secret-value-42
  listen: ` + e.admin + `
`
	p := filepath.Join(e.dir, "lightdash-sync.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	e := newCheckEnv(t)
	t.Run("all OK", func(t *testing.T) {
		code, out, stderr := runMain(t, "check", "--config", e.config(t, e.ld.AdminToken()))
		if code != exitOK {
			t.Fatalf("check exited %d:\n%s\n%s", code, out, stderr)
		}
		for _, want := range []string{"OK    lightdash token", `in organization "Example" (`, "OK    lightdash role", "OK    lightdash groups feature", "OK    source events (nats)", "Effective configuration"} {
			if !strings.Contains(out, want) {
				t.Errorf("check output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("non-admin token", func(t *testing.T) {
		viewer := e.ld.AddUser("viewer@example.com", lightdash.RoleViewer)
		code, out, _ := runMain(t, "check", "--config", e.config(t, e.ld.AddToken(viewer.UserUUID)))
		if code != exitFailure || !strings.Contains(out, `FAIL  lightdash role`) || !strings.Contains(out, "organization admin") {
			t.Errorf("check with a viewer token = %d:\n%s", code, out)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		code, out, _ := runMain(t, "check", "--config", e.config(t, "ldpat_wrong"))
		if code != exitFailure || !strings.Contains(out, "FAIL  lightdash token") {
			t.Errorf("check with a wrong token = %d:\n%s", code, out)
		}
	})
	t.Run("groups flag off", func(t *testing.T) {
		e.ld.SetGroupsFlag(false)
		defer e.ld.SetGroupsFlag(true)
		code, out, _ := runMain(t, "check", "--config", e.config(t, e.ld.AdminToken()))
		if code != exitFailure || !strings.Contains(out, "LIGHTDASH_ENABLE_FEATURE_FLAGS=user-groups-enabled") {
			t.Errorf("check with the flag off = %d:\n%s", code, out)
		}
	})
}

// TestSecretsNeverPrinted runs the commands at debug level and greps
// everything they print for the secrets they were given.
func TestSecretsNeverPrinted(t *testing.T) {
	e := newCheckEnv(t)
	token := e.ld.AdminToken()
	cfg := e.config(t, token)
	var all strings.Builder
	for _, args := range [][]string{{"check", "--config", cfg}, {"plan", "--config", cfg}, {"plan", "--output", "json", "--config", cfg}, {"reconcile", "--config", cfg}} {
		code, out, errOut := runMain(t, args...)
		if code != exitOK {
			t.Fatalf("%v exited %d:\n%s\n%s", args, code, out, errOut)
		}
		all.WriteString(out + errOut)
	}
	if !strings.Contains(all.String(), `"level":"debug"`) {
		t.Fatal("expected debug logs in the output; the test would prove nothing")
	}
	for _, secret := range []string{token, "admin-secret-value-42"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("a secret (%.6s…) appears in the output", secret)
		}
	}
}
