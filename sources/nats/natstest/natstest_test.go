package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

func TestRestartKeepsStreams(t *testing.T) {
	s := natstest.RunServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, js := natstest.Connect(t, s)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	url := s.ClientURL()
	s = natstest.Restart(t, s, nil)
	if s.ClientURL() != url {
		t.Fatalf("restarted on %s, want %s", s.ClientURL(), url)
	}
	// The client reconnects on its own; a request sent while it does can
	// be lost, so ask again (each try bounded) until the deadline.
	var (
		st  jetstream.Stream
		err error
	)
	for {
		try, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err = js.Stream(try, "T")
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("messages after restart = %d, want 1", info.State.Msgs)
	}
}

func TestRestartAfterShutdownKeepsPort(t *testing.T) {
	s := natstest.RunServer(t)
	url := s.ClientURL()
	natstest.Shutdown(s)
	s = natstest.Restart(t, s, nil)
	if s.ClientURL() != url {
		t.Errorf("restarted on %s, want %s", s.ClientURL(), url)
	}
}

func TestRestartAfterShutdownKeepsData(t *testing.T) {
	s := natstest.RunServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	natstest.Shutdown(s)
	s = natstest.Restart(t, s, nil)
	nc, err = nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = jetstream.New(nc)
	if _, err := js.Stream(ctx, "T"); err != nil {
		t.Errorf("stream after shutdown and restart: %v", err)
	}
}
