package ldap

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// readFunc is one read path: the snapshot it made, or an error.
type readFunc func(src *Source) (*sources.Snapshot, error)

// cutEverywhere reads once through p to learn how many messages the
// server sends, then once per cut point: cleanly after each message and
// in the middle of each. A read cut before the server's last message
// lacks part of the answer, so it must fail or say it is incomplete; one
// cut after it must equal the uncut read.
func cutEverywhere(t *testing.T, p *ldaptest.CutProxy, cfg Config, read readFunc) {
	t.Helper()
	p.Reset()
	want, err := read(newSource(t, cfg))
	if err != nil || !want.Complete {
		t.Fatalf("uncut read: err %v, complete %v (%s)", err, want != nil && want.Complete, reason(want))
	}
	msgs := p.Messages()
	if len(msgs) != 1 || msgs[0] < 4 {
		t.Fatalf("uncut read: server messages per connection %v, want one connection with several", msgs)
	}
	last := msgs[0]
	for n := 1; n <= last; n++ {
		for _, mid := range []bool{false, true} {
			cut := ldaptest.Cut{After: n, Mid: mid}
			p.Arm(cut)
			got, err := read(newSource(t, cfg))
			if p.Cuts() != 1 {
				t.Fatalf("%v: %d connections cut, want 1", cut, p.Cuts())
			}
			switch {
			case n < last || mid:
				if err == nil && got.Complete {
					t.Fatalf("%v: read taken as complete (%d users, %d groups; uncut %d, %d)",
						cut, len(got.Users), len(got.Groups), len(want.Users), len(want.Groups))
				}
			case err != nil:
				t.Fatalf("%v (after the server's last message): %v", cut, err)
			default:
				sameSnapshot(t, got, want)
			}
		}
	}
}

func reason(s *sources.Snapshot) string {
	if s == nil {
		return ""
	}
	return s.IncompleteReason
}

// TestCutConnectionNeverCompletesARead cuts the connection of each read
// path at every message boundary and inside every message of a read in
// pages of two: before the fix, a clean close between two pages ended the
// read early and the snapshot said Complete.
func TestCutConnectionNeverCompletesARead(t *testing.T) {
	srv := startDirectory(t)
	p := ldaptest.NewCutProxy(t, srv.URL())
	cfg := baseConfig(srv)
	cfg.URLs = []string{p.URL()}
	cfg.PageSize = 2
	all := read(t, baseConfig(srv))
	var ids []string
	for _, g := range all.Groups {
		ids = append(ids, g.ID)
	}
	paths := map[string]readFunc{
		"Snapshot": func(s *Source) (*sources.Snapshot, error) { return s.Snapshot(context.Background()) },
		"ReadGroups": func(s *Source) (*sources.Snapshot, error) {
			return s.ReadGroups(context.Background(), ids)
		},
		// The read a resumed syncrepl or DirSync session and the poller's
		// full read make before they can name changes.
		"readRecords": func(s *Source) (*sources.Snapshot, error) {
			users, groups, err := s.readRecords(context.Background(), readOpts{})
			if err != nil {
				return nil, err
			}
			return s.build(users, groups, nil), nil
		},
	}
	for name, rd := range paths {
		t.Run(name, func(t *testing.T) { cutEverywhere(t, p, cfg, rd) })
	}
}

// TestCutPollNeverInfersDeletions: a poller whose full read is cut must
// not take the entries it did not get as deleted.
func TestCutPollNeverInfersDeletions(t *testing.T) {
	srv := startDirectory(t)
	p := ldaptest.NewCutProxy(t, srv.URL())
	cfg := baseConfig(srv)
	cfg.URLs = []string{p.URL()}
	cfg.PageSize = 2
	src := newSource(t, cfg)
	changes := make(chan sources.Change, 1000)
	poll := &poller{s: src, changes: changes, tr: newTracker(false)}
	p.Reset()
	if err := poll.round(context.Background()); err != nil {
		t.Fatalf("first round: %v", err)
	}
	last := p.Messages()[0]
	for n := 1; n <= last; n++ {
		for _, mid := range []bool{false, true} {
			p.Arm(ldaptest.Cut{After: n, Mid: mid})
			poll.lastAll = time.Time{} // a full read is due
			err := poll.round(context.Background())
			if (n < last || mid) && err == nil {
				t.Errorf("cut %d (mid %v): round succeeded", n, mid)
			}
			select {
			case ch := <-changes:
				t.Fatalf("cut %d (mid %v): the unchanged directory gave a change: %+v", n, mid, ch)
			default:
			}
		}
	}
}

// TestCutSyncreplRefreshIsNotShared cuts the watcher's first session at
// every point of its refresh: the start-up snapshot must then be the
// watcher's later refresh or a read of its own, equal to the directory,
// never the part of the refresh that arrived.
func TestCutSyncreplRefreshIsNotShared(t *testing.T) {
	srv := startDirectory(t)
	p := ldaptest.NewCutProxy(t, srv.URL())
	cfg := baseConfig(srv)
	cfg.URLs = []string{p.URL()}
	want := read(t, baseConfig(srv))
	p.Reset()
	sharedRefresh(t, cfg)
	last := p.Messages()[0]
	for n := 1; n <= last; n++ {
		for _, mid := range []bool{false, true} {
			p.Arm(ldaptest.Cut{After: n, Mid: mid, Conn: 1})
			src := newSource(t, cfg)
			src.ExpectWatch()
			got := snapshotAsync(src)
			w := startWatch(t, src)
			select {
			case r := <-got:
				if r.err != nil && !errors.Is(r.err, context.Canceled) {
					t.Fatalf("cut %d (mid %v): %v", n, mid, r.err)
				}
				if r.err == nil && r.snap.Complete {
					sameSnapshot(t, r.snap, want)
				}
			case <-time.After(eventTimeout):
				t.Fatalf("cut %d (mid %v): Snapshot did not return", n, mid)
			}
			w.stop()
		}
	}
}
