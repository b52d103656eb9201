package lease

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// terms records the leaderCtx windows of several electors on one
// monotonic clock (time.Now carries a monotonic reading).
type terms struct {
	mu  sync.Mutex
	all []term
}

type term struct {
	who        string
	start, end time.Time // end is zero while the term is open
}

// onElected returns a callback for elector who: it records when the term
// starts and when its leaderCtx is seen done (at or after the moment it
// was cancelled, which makes the overlap check stricter, not looser).
func (ts *terms) onElected(who string) func(context.Context) {
	return func(ctx context.Context) {
		ts.mu.Lock()
		i := len(ts.all)
		ts.all = append(ts.all, term{who: who, start: time.Now()})
		ts.mu.Unlock()
		<-ctx.Done()
		end := time.Now()
		ts.mu.Lock()
		ts.all[i].end = end
		ts.mu.Unlock()
	}
}

func (ts *terms) snapshot() []term {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]term(nil), ts.all...)
}

// count returns how many terms who has started.
func (ts *terms) count(who string) int {
	n := 0
	for _, x := range ts.snapshot() {
		if x.who == who {
			n++
		}
	}
	return n
}

// assertNoOverlap fails if two terms were open at the same time. An open
// term (no end yet) lasts until now.
func (ts *terms) assertNoOverlap(t *testing.T) {
	t.Helper()
	all := ts.snapshot()
	sort.Slice(all, func(i, j int) bool { return all[i].start.Before(all[j].start) })
	now := time.Now()
	for i := 1; i < len(all); i++ {
		prev, cur := all[i-1], all[i]
		end := prev.end
		if end.IsZero() {
			end = now
		}
		if cur.start.Before(end) {
			t.Errorf("terms overlap: %s [%v, %v) and %s starting %v (%v too early)",
				prev.who, prev.start.Format("15:04:05.000"), end.Format("15:04:05.000"),
				cur.who, cur.start.Format("15:04:05.000"), end.Sub(cur.start))
		}
	}
}

// running is an Elector whose Run goroutine the test can stop.
type running struct {
	*Elector
	nc   *nats.Conn
	stop context.CancelFunc
	done chan struct{}
}

// Stop cancels Run and waits for it to return.
func (r *running) Stop() {
	r.stop()
	<-r.done
}

// start creates an Elector named who on its own connection to s and runs
// it, recording its terms in ts.
func start(t *testing.T, s *server.Server, cfg Config, who string, ts *terms) *running {
	t.Helper()
	return startWithFault(t, s, cfg, who, ts, nil)
}

// startWithFault is start with a renewal fault hook installed before Run.
func startWithFault(t *testing.T, s *server.Server, cfg Config, who string, ts *terms, fault func() error) *running {
	t.Helper()
	nc, js := natstest.Connect(t, s)
	cfg.Identity = who
	if cfg.Key == "" {
		cfg.Key = "unit"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := New(ctx, js, cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("New(%s): %v", who, err)
	}
	e.renewFault = fault
	return runElector(t, e, nc, ts.onElected(who))
}

func runElector(t *testing.T, e *Elector, nc *nats.Conn, onElected func(context.Context)) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Elector: e, nc: nc, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := e.Run(ctx, onElected); err != nil {
			t.Errorf("Run(%s): %v", e.Identity(), err)
		}
	}()
	t.Cleanup(r.Stop)
	return r
}

// waitLeader waits up to max for one of es to lead and returns it.
func waitLeader(t *testing.T, max time.Duration, es ...*running) *running {
	t.Helper()
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		for _, e := range es {
			if e.IsLeader() {
				return e
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no leader within %v", max)
	return nil
}

func names(es ...*running) string {
	s := ""
	for _, e := range es {
		s += fmt.Sprintf("%s(leader=%v) ", e.Identity(), e.IsLeader())
	}
	return s
}

func newServer(t *testing.T) *server.Server {
	t.Helper()
	return natstest.RunServer(t)
}

// metricValue gathers reg and returns the value of the gauge or counter
// name with the given label pairs; it fails the test if there is none.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}
