package chaos

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// binary builds lightdash-sync once per test process (without -race: the
// subprocess is the thing under test, not this test's own memory).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lightdash-sync-chaos-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "lightdash-sync")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go" // a relocated toolchain: whatever is on PATH
		}
		cmd := exec.Command(goTool, "build", "-o", buildPath,
			"github.com/lightdash-sync/lightdash-sync/cmd/lightdash-sync")
		cmd.Dir = "../../.." // the module root
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build lightdash-sync: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}
