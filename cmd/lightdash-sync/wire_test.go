package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
)

// The safety limits' window reaches the worker, by default and as set.
func TestWorkerOptionsLimitWindow(t *testing.T) {
	base, err := os.ReadFile("../internal/config/testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := func(string) (string, bool) { return "x", true }
	for _, tt := range []struct {
		extra string
		want  time.Duration
	}{
		{"", 24 * time.Hour},
		{"sync: {safety: {limit_window: 90m}}\n", 90 * time.Minute},
		{"sync: {safety: {limit_window: 0s}}\n", 0},
	} {
		cfg, err := config.Parse(append(append([]byte(nil), base...), tt.extra...), env)
		if err != nil {
			t.Fatalf("%q: %v", tt.extra, err)
		}
		opts, err := workerOptions(cfg)
		if err != nil {
			t.Fatalf("%q: %v", tt.extra, err)
		}
		if opts.Limits.LimitWindow != tt.want {
			t.Errorf("%q: window %s, want %s", tt.extra, opts.Limits.LimitWindow, tt.want)
		}
	}
	if _, err := config.Parse(append(base, "sync: {safety: {limit_window: -1h}}\n"...), env); err == nil || !strings.Contains(err.Error(), "sync.safety") {
		t.Errorf("negative limit_window: %v, want an error naming sync.safety", err)
	}
}
