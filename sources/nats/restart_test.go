package nats

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// TestServerRestartLosesNoEvent restarts the server (same store) under a
// running consumer: the event in flight and the ones published after the
// restart all arrive and end acknowledged.
//
// An acknowledgement sent while the client has not yet noticed the old
// connection is gone is lost, and the server redelivers the event after
// ack_wait: a short one here, and every change is acknowledged while the
// test waits for the consumer to settle (it failed about one run in eight
// with a 30 s ack_wait, waiting for that redelivery).
func TestServerRestartLosesNoEvent(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.AckWait = time.Second
	h := start(t, srv, cfg)

	before := ev(TypeGroupUpserted, "g1", Data{Name: "G1"})
	h.publish(before)
	inFlight := h.next() // received, not yet acknowledged

	h.srv = natstest.Restart(t, srv, nil)
	inFlight.Done(nil) // may be lost with the old connection: then it is redelivered

	after := []*Event{
		ev(TypeGroupUpserted, "g2", Data{Name: "G2"}),
		ev(TypeMembersAdded, "g1", Data{Members: []Member{{ID: "u1"}}}),
	}
	for _, e := range after {
		h.publish(e)
	}
	want := map[string]bool{after[0].ID: false, after[1].ID: false}
	for missing := len(want); missing > 0; {
		c := h.next()
		for id, seen := range want {
			if !seen && strings.HasSuffix(c.Reason, " "+id) {
				want[id] = true
				missing--
			}
		}
		c.Done(nil)
	}
	h.consumerSettledAcking()
	if !h.src.Connected() || h.src.State() != "CONNECTED" {
		t.Errorf("state after restart = %s", h.src.State())
	}
	snap, err := h.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := group(t, snap, "g1"); !sameSet(g.MemberUsers, []string{"u1"}) {
		t.Errorf("g1 = %+v", g)
	}
	group(t, snap, "g2")
}

// TestViewSurvivesSourceRestart: a new source on the same bucket serves the
// same snapshot, and its rebuilt index still maps users to their groups.
func TestViewSurvivesSourceRestart(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	h := start(t, srv, cfg)
	for _, e := range []*Event{
		ev(TypeUserUpserted, "u-ada", Data{Email: "ada@example.com"}),
		ev(TypeGroupUpserted, "analysts", Data{Name: "Analysts", Members: []Member{{ID: "u-ada"}, {Email: "grace@example.com"}}}),
		ev(TypeGroupUpserted, "all", Data{Name: "All", MemberGroups: []string{"analysts"}}),
	} {
		h.publish(e)
		h.next().Done(nil)
	}
	first, err := h.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.close()

	// The server restarts too, so the view has to come from disk.
	srv = natstest.Restart(t, srv, nil)
	cfg.URLs = []string{srv.ClientURL()}
	h2 := start(t, srv, cfg)
	second, err := h2.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Groups) != 2 || len(second.Users) != 2 || !second.Complete {
		t.Fatalf("snapshot after restart = %+v", second)
	}
	for i := range first.Groups {
		if !sameSet(first.Groups[i].MemberUsers, second.Groups[i].MemberUsers) || first.Groups[i].Name != second.Groups[i].Name {
			t.Errorf("group %d: got %+v, want %+v", i, second.Groups[i], first.Groups[i])
		}
	}
	// grace becomes a known user: the rebuilt index finds her group by email.
	h2.publish(ev(TypeUserUpserted, "u-grace", Data{Email: "grace@example.com"}))
	c := h2.next()
	if !sameSet(c.GroupIDs, []string{"all", "analysts"}) {
		t.Errorf("GroupIDs = %v, want [all analysts]", c.GroupIDs)
	}
	c.Done(nil)
	snap, err := h2.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := group(t, snap, "analysts"); !sameSet(g.MemberUsers, []string{"u-ada", "u-grace"}) {
		t.Errorf("analysts = %v, want the email member resolved to u-grace", g.MemberUsers)
	}
}

// TestEmptyBucketIsCompleteAndEmpty documents the wiped-bucket case: the
// snapshot is complete and empty; the worker's thresholds must guard.
func TestEmptyBucketIsCompleteAndEmpty(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	snap, err := h.src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Complete || len(snap.Groups) != 0 || len(snap.Users) != 0 || snap.ReadAt.IsZero() {
		t.Errorf("snapshot of empty view = %+v", snap)
	}
}
