package main

import (
	"runtime/debug"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	for _, tc := range []struct {
		name, gogc string
		want       int
	}{
		{"no GOGC: the daemon's target", "", daemonGCPercent},
		{"GOGC set: left alone", "80", 100}, // the runtime read GOGC itself; here it stands at the 100 set above
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			core, logs := observer.New(zap.InfoLevel)
			tuneGC(func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			}, zap.New(core))
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GC percent %d, want %d", got, tc.want)
			}
			if logs.FilterField(zap.Int("GOGC", daemonGCPercent)).Len()+logs.FilterField(zap.String("GOGC", tc.gogc)).Len() != 1 {
				t.Errorf("want one line saying which GC target applies; got %v", logs.All())
			}
		})
	}
}
