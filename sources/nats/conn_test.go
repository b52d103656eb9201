package nats

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// TestConnectionStateGauge follows the server going away and coming back.
func TestConnectionStateGauge(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	if got := gaugeValue(t, h.reg, "lightdash_sync_nats_connected"); got != 1 || h.src.State() != "CONNECTED" {
		t.Fatalf("connected gauge = %v, state %s; want 1, CONNECTED", got, h.src.State())
	}
	natstest.Shutdown(srv)
	testutil.Eventually(t, "the connected gauge to drop", func() bool { return gaugeValue(t, h.reg, "lightdash_sync_nats_connected") == 0 })
	if h.src.Connected() || h.src.State() != "RECONNECTING" {
		t.Errorf("state with the server down = %s", h.src.State())
	}
	natstest.Restart(t, srv, nil)
	testutil.Eventually(t, "the connected gauge to rise", func() bool { return gaugeValue(t, h.reg, "lightdash_sync_nats_connected") == 1 })
}

// TestBindToExistingStream: without create_stream the stream must exist;
// the subjects then only filter the consumer.
func TestBindToExistingStream(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.CreateStream = false
	cfg.Subjects = []string{"directory.events"}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := New(ctx, cfg, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "bind to stream") {
		t.Fatalf("New without the stream: %v, want a bind error", err)
	}
	js := producer(t, srv)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: testStream, Subjects: []string{"directory.>"}}); err != nil {
		t.Fatal(err)
	}
	h := start(t, srv, cfg)
	// Another subject of the same stream is not ours: not even poison.
	if _, err := js.Publish(ctx, "directory.audit", []byte("not for us")); err != nil {
		t.Fatal(err)
	}
	e := ev(TypeGroupDeleted, "g", Data{})
	h.publish(e)
	if c := h.next(); !strings.HasSuffix(c.Reason, e.ID) {
		t.Errorf("change %q, want %s", c.Reason, e.ID)
	} else {
		c.Done(nil)
	}
	if got := h.counter(h.src.m.poison, "malformed"); got != 0 {
		t.Errorf("poison = %v: the filter let another subject through", got)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
