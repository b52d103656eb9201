package sources_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourcesDoNotImportTheEngine: no package under sources/ depends,
// directly or not, on worker or lightdash (or a package below them), and
// package sources itself depends on nothing of this module.
// Sources import only the contract in package sources, as database/sql
// drivers import database/sql/driver and never database/sql.
func TestSourcesDoNotImportTheEngine(t *testing.T) {
	gobin, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Skip("no go binary:", err)
	}
	gomod := run(t, gobin, ".", "env", "GOMOD")
	if gomod == "" || gomod == "/dev/null" {
		t.Fatalf("go env GOMOD = %q, want the module's go.mod", gomod)
	}
	root := filepath.Dir(gomod)
	module := run(t, gobin, root, "list", "-m")
	out := run(t, gobin, root, "list", "-deps", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./sources/...")

	engine := []string{module + "/worker", module + "/lightdash"}
	checked := 0
	var offenders []string
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !within(fields[0], module+"/sources") {
			continue // a dependency, listed by -deps
		}
		checked++
		for _, dep := range fields[1:] {
			if fields[0] == module+"/sources" && within(dep, module) {
				offenders = append(offenders, fields[0]+" -> "+dep+" (the contract is a leaf)")
				continue
			}
			for _, e := range engine {
				if within(dep, e) {
					offenders = append(offenders, fields[0]+" -> "+dep)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatalf("go list -deps ./sources/... listed no sources package:\n%s", out)
	}
	if len(offenders) > 0 {
		t.Errorf("sources packages depend on what they must not (worker, lightdash; for package sources, anything of this module):\n\t%s",
			strings.Join(offenders, "\n\t"))
	}
}

// within reports whether the import path p is pkg or below it.
func within(p, pkg string) bool { return p == pkg || strings.HasPrefix(p, pkg+"/") }

func run(t *testing.T, gobin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(gobin, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}
