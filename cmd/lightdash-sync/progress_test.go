package main

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
)

// TestReconcileShowsProgressOnlyOnATerminal: on a terminal, reconcile's
// stderr carries a progress line (reads, then writes done/total) redrawn
// under the log lines; elsewhere stderr is JSON lines and nothing else.
func TestReconcileShowsProgressOnlyOnATerminal(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		t.Run(map[bool]string{false: "not a terminal", true: "terminal"}[terminal], func(t *testing.T) {
			old := isTerminal
			isTerminal = func(io.Writer) bool { return terminal }
			t.Cleanup(func() { isTerminal = old })
			e := newLDAPEnv(t)
			cfg := e.config(t, "")
			b, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "format: console", "format: json", 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runMain(t, "reconcile", "--config", cfg)
			if code != exitOK {
				t.Fatalf("reconcile exited %d:\n%s\n%s", code, out, errOut)
			}
			if strings.Contains(out, "\x1b") || strings.Contains(out, "\r") {
				t.Errorf("stdout holds terminal controls: %q", out)
			}
			if !terminal {
				for _, l := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
					if !json.Valid([]byte(l)) {
						t.Errorf("stderr line is not JSON: %q", l)
					}
				}
				if strings.ContainsAny(errOut, "\r\x1b") || strings.Contains(errOut, "writing: ") {
					t.Errorf("stderr carries a progress line:\n%q", errOut)
				}
				return
			}
			for _, want := range []string{clearLineForTest, "reading: ", "Lightdash users ✓", "source corp ✓", "writing: 3/3 (100%)"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("terminal stderr lacks %q:\n%q", want, errOut)
				}
			}
			if !strings.HasSuffix(errOut, "\n") && !strings.HasSuffix(errOut, clearLineForTest) {
				t.Errorf("the progress line was left on the terminal: %q", errOut[max(0, len(errOut)-80):])
			}
			// plan shows its reads the same way, and its plan after the line is gone.
			code, out, errOut = runMain(t, "plan", "--config", cfg)
			if code != exitOK || !strings.Contains(errOut, "reading: ") || !strings.Contains(errOut, "planning") {
				t.Errorf("plan exited %d; terminal stderr lacks its progress:\n%q", code, errOut)
			}
			if strings.ContainsAny(out, "\r\x1b") {
				t.Errorf("plan's stdout holds terminal controls: %q", out)
			}
		})
	}
}

const clearLineForTest = "\r\x1b[K"
