package daemon

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// scripted answers full reconciliations from a list of results, the last
// one repeated.
type scripted struct {
	mu  sync.Mutex
	res []*worker.Result
}

func (s *scripted) Reconcile(context.Context) (*worker.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res[0]
	if len(s.res) > 1 {
		s.res = s.res[1:]
	}
	return r, nil
}

func (s *scripted) ReconcileGroups(context.Context, string, []string) (*worker.Result, error) {
	return &worker.Result{}, nil
}

// TestBlockedRunIsNotReady: a full reconciliation held back by a safety
// limit completed, but Lightdash is not in step; /readyz says so and why,
// until a run is not blocked.
func TestBlockedRunIsNotReady(t *testing.T) {
	r := &scripted{res: []*worker.Result{
		{Blocked: true, BlockedReason: "12 deletions exceed max_group_deletes 10"},
		{},
	}}
	d, err := New(r, nil, Config{Schedule: "@every 1h"}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitRuns(t, d, 1)

	ok, why := d.Ready(time.Now(), time.Hour)
	if ok || !strings.Contains(why, "blocked by a safety limit: 12 deletions exceed max_group_deletes 10") {
		t.Errorf("after a blocked run Ready = %v %q, want not ready with the reason", ok, why)
	}
	d.RequestReconcile()
	waitRuns(t, d, 2)
	if ok, why := d.Ready(time.Now(), time.Hour); !ok {
		t.Errorf("after an ok run Ready = false %q", why)
	}
}

func waitRuns(t *testing.T, d *Daemon, n uint64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for d.Runs() < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for full reconciliation %d", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
