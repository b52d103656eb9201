package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/worker"
	"github.com/lightdash-sync/lightdash-sync/worker/daemon"
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

// allocating is a Reconciler whose full run holds size bytes while it
// runs and keeps none of them, as a full run keeps little of what it
// reads.
type allocating struct{ size int }

func (a allocating) Reconcile(context.Context) (*worker.Result, error) {
	held := make([][]byte, 0, a.size>>20)
	for range a.size >> 20 {
		held = append(held, make([]byte, 1<<20))
	}
	for _, b := range held {
		b[0] = 1
	}
	return &worker.Result{}, nil
}

func (allocating) ReconcileGroups(context.Context, string, []string) (*worker.Result, error) {
	return &worker.Result{}, nil
}

// heapHeld is the heap memory the runtime holds from the system: in use,
// garbage not yet collected, or free but not returned.
func heapHeld() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64() + s[2].Value.Uint64()
}

// TestReleasingReturnsAFullRunsMemory: what a full run held and let go is
// handed back to the system when it ends, not kept by the runtime for the
// next run; without releasing, the runtime keeps it.
func TestReleasingReturnsAFullRunsMemory(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	for _, c := range []struct {
		name string
		r    daemon.Reconciler
		want bool
	}{{"releasing", releasing{allocating{256 << 20}}, true}, {"not releasing", allocating{256 << 20}, false}} {
		debug.FreeOSMemory()
		if _, err := c.r.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		if held := heapHeld(); (held < 64<<20) != c.want {
			t.Errorf("%s: after a run the runtime holds %d MB of heap; released: want %v", c.name, held>>20, c.want)
		}
	}
}
