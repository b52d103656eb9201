package sourcetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// watching is a running Watch.
type watching struct {
	t       *testing.T
	src     sources.Source
	changes chan sources.Change
}

// startWatch starts Watch and waits until it listens; it is stopped when
// the test ends, and must then return.
func startWatch(t *testing.T, env Env) *watching {
	t.Helper()
	src := env.Source()
	wt, ok := src.(sources.Watcher)
	if !ok {
		t.Skipf("%T is not a sources.Watcher", src)
	}
	ready, ok := env.(WatchReadier)
	if !ok {
		t.Fatalf("%T's source is a sources.Watcher, so the Env must implement sourcetest.WatchReadier", env)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{t: t, src: src, changes: make(chan sources.Change)}
	done := make(chan error, 1)
	go func() { done <- wt.Watch(ctx, w.changes) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(Timeout):
			t.Errorf("Watch did not return within %s of its context ending", Timeout)
		}
	})
	rctx, rcancel := context.WithTimeout(ctx, Timeout)
	defer rcancel()
	if err := ready.WatchReady(rctx); err != nil {
		t.Fatalf("WatchReady: %v", err)
	}
	return w
}

// waitFor receives changes (calling Done on each) until the groups named
// by them include every id in ids; what describes the change for the
// failure message.
func (w *watching) waitFor(what string, ids ...string) {
	w.t.Helper()
	left := map[string]bool{}
	for _, id := range ids {
		left[id] = true
	}
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	var got [][]string
	for len(left) > 0 {
		select {
		case c := <-w.changes:
			if c.Source != w.src.Name() {
				w.t.Errorf("Change.Source %q, want %q", c.Source, w.src.Name())
			}
			if c.Done != nil {
				c.Done(nil)
			}
			got = append(got, c.GroupIDs)
			for _, id := range c.GroupIDs {
				delete(left, id)
			}
		case <-timer.C:
			w.t.Fatalf("after %s: no Change named groups %q within %s; changes seen: %q", what, sortedKeys(left), Timeout, got)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The watch cases use groups made after Watch listens, so no change left
// over from seeding can answer for them. Platform nests Ops: a change to
// Ops changes Platform's flattened members too, and must name both.
func watchSetup(t *testing.T, env Env) (w *watching, d *directory, ops, platform string) {
	t.Helper()
	d = seed(t, env)
	w = startWatch(t, env)
	ctx := ctxT(t)
	var err error
	ops, err = env.AddGroup(ctx, sources.DirGroup{Name: "Ops", MemberUsers: d.ids(d.users, "Ann")})
	must(t, "AddGroup(Ops)", err)
	w.waitFor("adding group Ops", ops)
	platform, err = env.AddGroup(ctx, sources.DirGroup{Name: "Platform", MemberGroups: []string{ops}})
	must(t, "AddGroup(Platform)", err)
	w.waitFor("adding group Platform", platform)
	return w, d, ops, platform
}

func testWatchMembership(t *testing.T, env Env) {
	w, d, ops, platform := watchSetup(t, env)
	must(t, "SetMembers(Ops)", env.SetMembers(ctxT(t), ops, d.ids(d.users, "Ann", "Dan"), nil))
	w.waitFor("a membership change of Ops (nested in Platform)", ops, platform)
}

func testWatchUser(t *testing.T, env Env) {
	w, _, ops, platform := watchSetup(t, env)
	ctx := ctxT(t)
	eve, err := env.AddUser(ctx, sources.DirUser{DisplayName: "Eve", Email: "eve@example.com"})
	must(t, "AddUser(Eve)", err)
	must(t, "SetMembers(Ops)", env.SetMembers(ctx, ops, []string{eve}, nil))
	w.waitFor("adding Eve to Ops", ops, platform)
	must(t, "UpdateUser(Eve)", env.UpdateUser(ctx, sources.DirUser{ID: eve, DisplayName: "Eve", Email: "eve.new@example.com"}))
	w.waitFor("changing Eve's email (a member of Ops, nested in Platform)", ops, platform)
	must(t, "UpdateUser(Eve)", env.UpdateUser(ctx, sources.DirUser{ID: eve, DisplayName: "Eve", Email: "eve.new@example.com", Disabled: true}))
	w.waitFor("disabling Eve", ops, platform)
}
