package main

import (
	"context"
	"runtime/debug"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/worker"
	"github.com/lightdash-sync/lightdash-sync/worker/daemon"
)

// daemonGCPercent is the garbage collector's target for `run` when the
// environment sets no GOGC. Go's default, 100, lets the heap grow to
// twice what is alive before collecting. A daemon keeps most of its heap
// alive for its whole life (the LDAP watcher's index of every entry, the
// cached Lightdash view), so a lower target cuts its peak memory for no
// measurable latency cost (docs/benchmarks.md). One-shot commands keep
// Go's default: they are short, and CPU is their cost.
const daemonGCPercent = 50

// tuneGC sets the daemon's GC target unless GOGC is set, and logs which
// applies.
func tuneGC(getenv func(string) string, log *zap.Logger) {
	if v := getenv("GOGC"); v != "" {
		log.Info("garbage collector target from the environment", zap.String("GOGC", v))
		return
	}
	debug.SetGCPercent(daemonGCPercent)
	log.Info("garbage collector target set for a long-running daemon; set GOGC to choose another",
		zap.Int("GOGC", daemonGCPercent))
}

// releasing hands the memory a full run freed back to the system when
// the run ends. A full run allocates far more than it keeps (the
// directory and Lightdash lists it reads), and the Go runtime returns
// freed pages only slowly, so each run would start from the last one's
// peak. It costs one forced collection a run, and the next run faults its
// pages in again (docs/benchmarks.md).
type releasing struct{ daemon.Reconciler }

func (r releasing) Reconcile(ctx context.Context) (*worker.Result, error) {
	res, err := r.Reconciler.Reconcile(ctx)
	debug.FreeOSMemory()
	return res, err
}
