package worker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// A warm full run, even in a new process (a one-shot reconcile with no
// cached view), makes exactly the two list calls: Lightdash listing groups
// proves what the preflight would check.
func TestWarmReconcileMakesOnlyTheTwoListReads(t *testing.T) {
	e := newEnv(t)
	e.reconcile(e.worker(e.options()))
	for _, name := range []string{"same worker", "new worker"} {
		t.Run(name, func(t *testing.T) {
			w := e.worker(e.options())
			if name == "same worker" {
				e.reconcile(w)
			}
			e.ld.ResetRequests()
			res := e.reconcile(w)
			e.wantRequests(reqUsers, reqGroups)
			if res.Summary.APICalls != 2 {
				t.Errorf("APICalls %d, want 2", res.Summary.APICalls)
			}
		})
	}
}

// Once Lightdash holds the worker's groups, a flag turned off or a token
// demoted makes the groups list empty again: the preflight runs then and
// refuses, and nothing is written or forgotten.
func TestPreflightRefusesWhenOwnedGroupsVanish(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *env) worker.Lightdash
		want   error
	}{
		{"groups flag turned off", func(e *env) worker.Lightdash {
			e.ld.SetGroupsFlag(false)
			return e.client(e.ld.AdminToken(), 0)
		}, lightdash.ErrFeatureDisabled},
		{"non-admin token", func(e *env) worker.Lightdash {
			return e.client(e.ld.AddToken(e.uuid["ann"]), 0)
		}, worker.ErrNotAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.reconcile(e.worker(e.options()))
			before := e.state()
			e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-ann"}})
			e.ld.ResetRequests()
			_, err := e.workerWith(tt.change(e), e.options()).Reconcile(context.Background())
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
			if e.ld.WriteCount() != 0 {
				t.Errorf("wrote to Lightdash: %q", e.requests())
			}
			if got := e.state(); len(got.Groups) != len(before.Groups) {
				t.Errorf("state owns %d groups, want %d", len(got.Groups), len(before.Groups))
			}
		})
	}
}

// gate is a Lightdash whose group list waits for the directory read to
// have started (and the source waits for it: only reads made at once
// finish), or blocks until its context is cancelled.
type gate struct {
	worker.Lightdash
	sourceStarted, listStarted chan struct{}
	cancelled                  chan struct{}
	block                      bool
}

func (g *gate) ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error) {
	close(g.listStarted)
	if g.block {
		select {
		case <-ctx.Done():
			close(g.cancelled)
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return nil, errors.New("not cancelled")
		}
	}
	select {
	case <-g.sourceStarted:
	case <-time.After(10 * time.Second):
		return nil, errors.New("the directory was not read while Lightdash was")
	}
	return g.Lightdash.ListGroups(ctx)
}

// signalSource tells when its Snapshot starts, then fails, or reads once
// the Lightdash groups list has started.
type signalSource struct {
	sources.Source
	started, listStarted chan struct{}
	fail                 error
}

func (s *signalSource) Snapshot(ctx context.Context) (*sources.Snapshot, error) {
	close(s.started)
	if s.fail != nil {
		return nil, s.fail
	}
	select {
	case <-s.listStarted:
	case <-time.After(10 * time.Second):
		return nil, errors.New("Lightdash was not read while the directory was")
	}
	return s.Source.Snapshot(ctx)
}

// The directory and Lightdash are read at once; the first failure
// cancels the other reads and is the error returned.
func TestFullReadIsConcurrent(t *testing.T) {
	boom := errors.New("directory down")
	for _, fail := range []bool{false, true} {
		name := map[bool]string{false: "both read", true: "source fails"}[fail]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			list := make(chan struct{})
			src := &signalSource{Source: e.dir, started: make(chan struct{}), listStarted: list}
			ld := &gate{Lightdash: e.client(e.ld.AdminToken(), 0), sourceStarted: src.started, listStarted: list, cancelled: make(chan struct{}), block: fail}
			if fail {
				src.fail = boom
			}
			w, err := worker.New([]sources.Source{src}, ld, e.store, e.options(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := w.Reconcile(context.Background())
			if fail {
				if !errors.Is(err, boom) {
					t.Fatalf("err %v, want the source's error", err)
				}
				select {
				case <-ld.cancelled:
				default:
					t.Error("the Lightdash read was not cancelled")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Summary.Created != 3 {
				t.Errorf("summary %+v, want 3 groups created", res.Summary)
			}
		})
	}
}

// fullReadSource says whether its Snapshot reads in full
// (sources.FullReadPredictor), records whether the Lightdash groups list
// started while it read (waiting up to wait for it), and may fail.
type fullReadSource struct {
	sources.Source
	inFull      bool
	wait        time.Duration
	listStarted chan struct{}
	beside      bool
	fail        error
}

func (s *fullReadSource) WillReadInFull(context.Context) bool { return s.inFull }

func (s *fullReadSource) Snapshot(ctx context.Context) (*sources.Snapshot, error) {
	select {
	case <-s.listStarted:
		s.beside = true
	case <-time.After(s.wait):
	}
	if s.fail != nil {
		return nil, s.fail
	}
	return s.Source.Snapshot(ctx)
}

// listSignal closes started when the groups list is first asked for.
type listSignal struct {
	worker.Lightdash
	once    sync.Once
	started chan struct{}
}

func (l *listSignal) ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error) {
	l.once.Do(func() { close(l.started) })
	return l.Lightdash.ListGroups(ctx)
}

// With LightdashAfterFullReads (the daemon), Lightdash is read after a
// source that reads its directory in full, and not at all when that read
// fails; beside one that does not; without the option, always beside.
func TestLightdashAfterFullReads(t *testing.T) {
	boom := errors.New("directory down")
	tests := []struct {
		name          string
		after, inFull bool
		fail          error
		wantBeside    bool
	}{
		{"daemon, directory read in full", true, true, nil, false},
		{"daemon, directory read in full fails", true, true, boom, false},
		{"daemon, directory from a watcher", true, false, nil, true},
		{"one-shot, directory read in full", false, true, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ld := &listSignal{Lightdash: e.client(e.ld.AdminToken(), 0), started: make(chan struct{})}
			// Read beside, the list starts at once: a long wait costs
			// nothing; read after, it never starts, so the wait is short.
			wait := map[bool]time.Duration{true: 10 * time.Second, false: 200 * time.Millisecond}[tt.wantBeside]
			src := &fullReadSource{Source: e.dir, inFull: tt.inFull, wait: wait, listStarted: ld.started, fail: tt.fail}
			opts := e.options()
			opts.LightdashAfterFullReads = tt.after
			core, logs := observer.New(zap.InfoLevel)
			w, err := worker.New([]sources.Source{src}, ld, e.store, opts, zap.New(core), nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := w.Reconcile(context.Background())
			if src.beside != tt.wantBeside {
				t.Errorf("Lightdash read beside the directory: %v, want %v", src.beside, tt.wantBeside)
			}
			if said := logs.FilterMessageSnippet("Lightdash is read after them").FilterField(zap.Strings("sources", []string{e.dir.Name()})).Len() == 1; said == tt.wantBeside {
				t.Errorf("logged reading Lightdash after the directory: %v, want %v", said, !tt.wantBeside)
			}
			if tt.fail != nil {
				if !errors.Is(err, tt.fail) {
					t.Errorf("err %v, want the source's", err)
				}
				if n := e.ld.RequestCount(""); n != 0 {
					t.Errorf("%d Lightdash calls after the directory read failed, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Summary.Created != 3 {
				t.Errorf("summary %+v, want 3 groups created", res.Summary)
			}
		})
	}
}
