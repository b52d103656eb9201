package daemon

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// steps records what happened, in order, across goroutines.
type steps struct {
	mu  sync.Mutex
	log []string
}

func (s *steps) add(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, step)
}

func (s *steps) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

type expectingWatcher struct{ s *steps }

func (w expectingWatcher) ExpectWatch() { w.s.add("expect") }

func (w expectingWatcher) Watch(ctx context.Context, _ chan<- sources.Change) error {
	w.s.add("watch")
	<-ctx.Done()
	return nil
}

type recordingReconciler struct{ s *steps }

func (r recordingReconciler) Reconcile(context.Context) (*worker.Result, error) {
	r.s.add("reconcile")
	return &worker.Result{}, nil
}

func (r recordingReconciler) ReconcileGroups(context.Context, string, []string) (*worker.Result, error) {
	return &worker.Result{}, nil
}

// TestWatcherIsToldBeforeTheStartUpRead: a watcher that can share its
// first read with the start-up reconciliation (sources/ldap) hears so
// before either its Watch or that reconciliation starts, so the
// reconciliation's read waits for the watcher's instead of racing it.
func TestWatcherIsToldBeforeTheStartUpRead(t *testing.T) {
	for i := range 20 { // the goroutines' order varies; the rule may not
		s := &steps{}
		d, err := New(recordingReconciler{s}, []Watched{{Name: "dir", Watcher: expectingWatcher{s}}}, Config{Schedule: "@every 1h"}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		deadline := time.Now().Add(5 * time.Second)
		for len(s.get()) < 3 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
		got := s.get()
		if len(got) < 3 || got[0] != "expect" || !slices.Contains(got, "watch") || !slices.Contains(got, "reconcile") {
			t.Fatalf("run %d: steps %v, want expect first, then watch and reconcile in either order", i, got)
		}
		if n := len(slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s != "expect" })); n != 1 {
			t.Fatalf("run %d: ExpectWatch called %d times, want once per Run", i, n)
		}
	}
}
