package daemon

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// fullReads records, for each full reconciliation, whether its context
// asked the sources for a full read.
type fullReads struct {
	mu   sync.Mutex
	runs []bool
}

func (f *fullReads) Reconcile(ctx context.Context) (*worker.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, sources.FullReadWanted(ctx))
	return &worker.Result{}, nil
}

func (f *fullReads) ReconcileGroups(context.Context, string, []string) (*worker.Result, error) {
	return &worker.Result{}, nil
}

// TestRequestFullReadReachesTheSources: the run RequestFullRead asks for
// tells the sources to read in full; runs before and after do not.
func TestRequestFullReadReachesTheSources(t *testing.T) {
	r := &fullReads{}
	d, err := New(r, nil, Config{Schedule: "@every 1h"}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitRuns(t, d, 1)
	d.RequestFullRead()
	waitRuns(t, d, 2)
	d.RequestReconcile()
	waitRuns(t, d, 3)
	r.mu.Lock()
	defer r.mu.Unlock()
	if want := []bool{false, true, false}; !reflect.DeepEqual(r.runs, want) {
		t.Errorf("full reads asked for by runs = %v, want %v", r.runs, want)
	}
}
