package main

import (
	"context"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
	"github.com/lightdash-sync/lightdash-sync/worker/lease"
)

// TestReplicaThatSawNoLeaderIsNotReady: between binding the admin port
// and its first campaign, a replica is neither leader nor a standby that
// saw one; it may be about to lead with its start-up reconciliation still
// to run, so /readyz must not say ready (the chaos test saw 14 of 37
// groups after a 200).
func TestReplicaThatSawNoLeaderIsNotReady(t *testing.T) {
	srv := natstest.RunServer(t)
	nc, err := natsgo.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	el, err := lease.New(context.Background(), js, lease.Config{Key: "k", Identity: "replica-1"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{elector: el}
	if ok, why := u.ready(0); ok || why == "" {
		t.Errorf("ready %v (%q), want not ready before any leader is seen", ok, why)
	}
}
