package deploytest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/deploytest"
)

// root is the repository root, deploy its deploy directory.
var (
	root   = filepath.Join("..", "..", "..")
	deploy = filepath.Join(root, "deploy")
	bin    *deploytest.Binary
	exe    string // the built binary
)

// TestMain builds the real binary once: the checks compare the artefacts
// with what it says in `help` and `<command> --help`.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "deploytest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	exe = filepath.Join(tmp, "lightdash-sync")
	build := exec.CommandContext(ctx, "go", "build", "-o", exe, deploytest.MainDir)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", deploytest.MainDir, err, out)
		return 1
	}
	bin, err = deploytest.LoadBinary(ctx, root, exe)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// checks are every artefact check, by name.
var checks = map[string]func(deploy string) error{
	"dockerfile": func(d string) error { return deploytest.CheckDockerfile(d, bin) },
	"kubernetes": func(d string) error { return deploytest.CheckKubernetes(d, bin) },
	"helm":       func(d string) error { return deploytest.CheckHelm(d, bin) },
	"systemd":    func(d string) error { return deploytest.CheckSystemd(d, bin) },
	"compose":    func(d string) error { return deploytest.CheckCompose(d, bin) },
	"alerts":     func(d string) error { return deploytest.CheckAlerts(d, bin.Metrics) },
	"dashboard":  func(d string) error { return deploytest.CheckDashboard(d, bin.Metrics) },
}

func TestArtefactsMatchTheBinary(t *testing.T) {
	for name, check := range checks {
		t.Run(name, func(t *testing.T) {
			if err := check(deploy); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBinaryIsRead(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"run": {"config", "dry-run"}, "reconcile": {"config", "allow-deletions"}, "health": {"url"},
	} {
		for _, f := range flags {
			if !bin.Commands[cmd][f] {
				t.Errorf("%s --%s not found; commands read: %v", cmd, f, bin.Commands)
			}
		}
	}
	for _, v := range []string{"version", "commit"} {
		if !bin.LinkVars[v] {
			t.Errorf("link variable main.%s not found; got %v", v, bin.LinkVars)
		}
	}
	// A plain Name, a Namespace+Subsystem one, and one named through a helper.
	for _, m := range []string{"lightdash_requests_total", "lightdash_sync_nats_connected", "lightdash_sync_nats_events_dead_lettered_total"} {
		if !bin.Metrics[m] {
			t.Errorf("metric %s not found; got %v", m, bin.Metrics)
		}
	}
}
