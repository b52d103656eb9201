package daemon

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// harness is the real pipeline in one process: an in-memory directory, the
// real worker, the fake Lightdash over real HTTP, and the daemon.
type harness struct {
	t      *testing.T
	ld     *lightdashtest.Server
	client *lightdash.Client
	dir    *memory.Source
	d      *Daemon
	users  map[string]lightdash.OrgMember
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, cfg Config) *harness {
	return newHarnessWith(t, cfg, nil)
}

// newHarnessWith lets a test wrap the HTTP transport between the worker and
// the fake Lightdash (to slow one group's requests, say).
func newHarnessWith(t *testing.T, cfg Config, wrap func(http.RoundTripper) http.RoundTripper) *harness {
	t.Helper()
	h := &harness{t: t, ld: lightdashtest.NewServer(), dir: memory.New("dir"), users: map[string]lightdash.OrgMember{}}
	t.Cleanup(h.ld.Close)
	for _, name := range []string{"ada", "bob", "cy", "dee"} {
		h.users[name] = h.ld.AddUser(name+"@example.com", lightdash.RoleEditor)
		h.dir.SetUser(sources.DirUser{ID: name, Email: name + "@example.com"})
	}
	h.dir.SetGroup(sources.DirGroup{ID: "g1", Name: "analysts", MemberUsers: []string{"ada"}})
	h.dir.SetGroup(sources.DirGroup{ID: "g2", Name: "engineers", MemberUsers: []string{"bob"}})
	var err error
	hc := h.ld.Client()
	if wrap != nil {
		hc = &http.Client{Transport: wrap(hc.Transport)}
	}
	h.client = &lightdash.Client{BaseURL: h.ld.URL(), Token: h.ld.AdminToken(), HTTPClient: hc}
	if err := h.client.Validate(); err != nil {
		t.Fatal(err)
	}
	w, err := worker.New([]sources.Source{h.dir}, h.client, &worker.MemoryStore{}, worker.Options{
		Mapping: worker.Mapping{Rules: []worker.Rule{{Name: "all"}}},
	}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Schedule == "" {
		cfg.Schedule = "@every 1h"
	}
	h.d, err = New(w, []Watched{{Name: "dir", Watcher: h.dir}}, cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.d.Run(ctx) }()
	t.Cleanup(h.stop)
	h.waitFor("the start-up reconciliation", func() bool { run, _ := h.d.Last(); return run != nil && h.d.Watching("dir") })
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.t.Fatal("daemon did not stop")
	}
}

// waitFor polls cond; the deadline is generous because it bounds a failure,
// not a speed claim (speed is shown by benchmarks).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// members returns the emails in the named Lightdash group, sorted.
func (h *harness) members(name string) []string {
	byUUID := map[string]string{}
	for n, u := range h.users {
		byUUID[u.UserUUID] = n
	}
	for _, g := range h.ld.Groups() {
		if g.Name == name {
			var out []string
			for _, m := range g.MemberUUIDs {
				out = append(out, byUUID[m])
			}
			sort.Strings(out)
			return out
		}
	}
	return nil
}

func TestStartUpReconciliationAndLiveChange(t *testing.T) {
	h := newHarness(t, Config{Debounce: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond})
	if got := strings.Join(h.members("analysts"), ","); got != "ada" {
		t.Fatalf("after start-up, analysts = %q, want ada", got)
	}
	writes := h.ld.WriteCount()
	h.dir.SetGroup(sources.DirGroup{ID: "g1", Name: "analysts", MemberUsers: []string{"ada", "cy"}})
	h.waitFor("cy to join analysts", func() bool { return strings.Join(h.members("analysts"), ",") == "ada,cy" })
	if got := h.ld.WriteCount() - writes; got != 1 {
		t.Errorf("one membership change made %d Lightdash writes, want 1", got)
	}
}

func TestBurstOnOneGroupIsCoalesced(t *testing.T) {
	h := newHarness(t, Config{Debounce: 50 * time.Millisecond, MaxDelay: time.Second})
	writes := h.ld.WriteCount()
	all := []string{"ada", "bob", "cy", "dee"}
	for i := 0; i < 1000; i++ {
		h.dir.SetGroup(sources.DirGroup{ID: "g2", Name: "engineers", MemberUsers: all[:1+i%4]})
	}
	// The burst ends with i=999: 999%4 = 3, so all four are members.
	h.waitFor("the burst's last state", func() bool { return strings.Join(h.members("engineers"), ",") == "ada,bob,cy,dee" })
	h.waitFor("the queue to drain", func() bool { p, f := h.d.QueueDepth(); return p == 0 && f == 0 })
	if got := h.ld.WriteCount() - writes; got > 5 {
		t.Errorf("a burst of 1000 changes on one group made %d writes, want at most a handful", got)
	}
}

func TestRequestedReconciliationRepairsDrift(t *testing.T) {
	h := newHarness(t, Config{Debounce: 10 * time.Millisecond})
	// Someone edits Lightdash by hand: the directory did not change, so no
	// event comes; only a full reconciliation notices.
	var g1 string
	for _, g := range h.ld.Groups() {
		if g.Name == "analysts" {
			g1 = g.UUID
		}
	}
	empty := []string{}
	if _, err := h.client.UpdateGroup(context.Background(), g1, lightdash.GroupUpdate{Members: &empty}); err != nil {
		t.Fatal(err)
	}
	before, _ := h.d.Last()
	h.d.RequestReconcile()
	h.waitFor("the requested reconciliation", func() bool { run, _ := h.d.Last(); return run != before })
	run, _ := h.d.Last()
	if run.Trigger != "request" || run.Err != nil {
		t.Fatalf("last run = %+v, want a successful requested run", run)
	}
	if got := strings.Join(h.members("analysts"), ","); got != "ada" {
		t.Errorf("after the requested run, analysts = %q, want ada", got)
	}
	if Drift(run.Result.Summary) != 1 {
		t.Errorf("drift = %d, want 1 (the manual edit)", Drift(run.Result.Summary))
	}
}

// chanWatcher is a watcher fed by the test, like a NATS source whose
// Done acknowledges the message.
type chanWatcher struct{ in chan sources.Change }

func (c chanWatcher) Watch(ctx context.Context, out chan<- sources.Change) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ch := <-c.in:
			select {
			case out <- ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

func TestShutdownHandsBackPendingChanges(t *testing.T) {
	h := newHarness(t, Config{Debounce: time.Hour, MaxDelay: time.Hour})
	// A second daemon on the same worker, fed by a watcher whose changes
	// carry Done (as NATS messages do).
	cw := chanWatcher{in: make(chan sources.Change)}
	d2, err := New(h.d.r, []Watched{{Name: "dir", Watcher: cw}}, Config{Debounce: time.Hour, MaxDelay: time.Hour, Schedule: "@every 1h"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d2.Run(ctx) }()
	// The first change to quiet groups is worked on at once; the next
	// waits out the hour-long debounce.
	first := make(chan error, 1)
	cw.in <- sources.Change{Source: "dir", GroupIDs: []string{"g1", "g2"}, Done: func(err error) { first <- err }}
	if err := <-first; err != nil {
		t.Fatalf("first change: %v", err)
	}
	results := make(chan error, 1)
	cw.in <- sources.Change{Source: "dir", GroupIDs: []string{"g1", "g2"}, Done: func(err error) { results <- err }}
	h.waitFor("the change to be queued", func() bool { p, _ := d2.QueueDepth(); return p == 2 })
	cancel()
	<-done
	select {
	case err := <-results:
		if err == nil || !strings.Contains(err.Error(), "redelivered") {
			t.Errorf("Done(%v), want the shutdown error so the source redelivers", err)
		}
	default:
		t.Fatal("a pending change's Done was never called at shutdown: its event would be lost until redelivery times out")
	}
	if p, f := d2.QueueDepth(); p != 0 || f != 0 {
		t.Errorf("after shutdown the queue holds %d pending, %d in flight", p, f)
	}
}

// slowPaths delays requests whose path ends with one of the suffixes.
type slowPaths struct {
	next      http.RoundTripper
	delay     time.Duration
	mu        sync.Mutex
	slow      map[string]bool
	held      int // slowed requests that have started waiting
	cancelled int // requests given up because their context ended
}

func (s *slowPaths) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	slow := false
	for suffix := range s.slow {
		slow = slow || strings.HasSuffix(r.URL.Path, suffix)
	}
	s.mu.Unlock()
	if slow {
		s.mu.Lock()
		s.held++
		s.mu.Unlock()
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
			s.mu.Lock()
			s.cancelled++
			s.mu.Unlock()
			return nil, r.Context().Err()
		}
	}
	return s.next.RoundTrip(r)
}

// group slows the requests to the named Lightdash group's endpoints.
func (s *slowPaths) group(h *harness, name string) {
	for _, g := range h.ld.Groups() {
		if g.Name == name {
			s.mu.Lock()
			s.slow["/groups/"+g.UUID] = true
			s.mu.Unlock()
		}
	}
}

// TestTermEndAbortsInFlightWork: with AbortOnStop (a leadership term), a
// Lightdash write still waiting when the term ends is cancelled at once,
// not finished after it: the next leader may already be writing. Without
// it, the one-hour ShutdownTimeout would keep Run (and the write) going.
func TestTermEndAbortsInFlightWork(t *testing.T) {
	slow := &slowPaths{delay: time.Hour, slow: map[string]bool{}}
	h := newHarnessWith(t, Config{Debounce: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, ShutdownTimeout: time.Hour, AbortOnStop: true},
		func(next http.RoundTripper) http.RoundTripper { slow.next = next; return slow })
	slow.group(h, "analysts")
	h.dir.SetGroup(sources.DirGroup{ID: "g1", Name: "analysts", MemberUsers: []string{"ada", "dee"}})
	// Held in the transport, not just taken from the queue: stopped before
	// its request is made, the work sends nothing and there is nothing to
	// cancel (CI once stopped it in that gap).
	h.waitFor("the write to be held", func() bool { slow.mu.Lock(); defer slow.mu.Unlock(); return slow.held == 1 })
	h.stop() // fails the test if Run has not returned within 30 s
	slow.mu.Lock()
	cancelled := slow.cancelled
	slow.mu.Unlock()
	if cancelled == 0 {
		t.Error("the held write was never cancelled")
	}
	if got := strings.Join(h.members("analysts"), ","); got != "ada" {
		t.Errorf("analysts = %q after the term ended: the write went through", got)
	}
}

// TestSlowGroupDoesNotBlockOthers: while one group's Lightdash write is
// slow, changes to other groups are applied.
func TestSlowGroupDoesNotBlockOthers(t *testing.T) {
	slow := &slowPaths{delay: 3 * time.Second, slow: map[string]bool{}}
	h := newHarnessWith(t, Config{Debounce: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, Concurrency: 4},
		func(next http.RoundTripper) http.RoundTripper { slow.next = next; return slow })
	slow.group(h, "analysts")
	h.dir.SetGroup(sources.DirGroup{ID: "g1", Name: "analysts", MemberUsers: []string{"ada", "dee"}})
	h.waitFor("the slow group's write to start", func() bool { _, f := h.d.QueueDepth(); return f == 1 })
	h.dir.SetGroup(sources.DirGroup{ID: "g2", Name: "engineers", MemberUsers: []string{"bob", "cy"}})
	h.waitFor("engineers to be applied", func() bool { return strings.Join(h.members("engineers"), ",") == "bob,cy" })
	if got := strings.Join(h.members("analysts"), ","); got != "ada" {
		t.Fatalf("analysts = %q while its write is still delayed; the test proves nothing", got)
	}
	h.waitFor("the slow group in the end", func() bool { return strings.Join(h.members("analysts"), ",") == "ada,dee" })
}
