package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestBurstAckedOnce: every event of a burst that fills the pull buffer
// many times over, over several groups with many events each, is delivered
// once and acknowledged while the daemon holds and acknowledges changes in
// batches. AckWait is far above the test's bound, so an event lost between
// the server's delivery and its change (never acknowledged, never kept
// alive) shows as an ack pending at the end, or as a redelivery.
func TestBurstAckedOnce(t *testing.T) {
	const events, groups = 12000, 12
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.AckWait = 10 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	js := producer(t, srv)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: testStream, Subjects: cfg.Subjects}); err != nil {
		t.Fatal(err)
	}
	publishGroups(ctx, t, js, events, groups)
	h := start(t, srv, cfg)
	stop := holdAndAck(h.changes, 20*time.Millisecond)
	defer stop()
	info := h.consumerSettled()
	if info.NumRedelivered != 0 || info.Delivered.Stream != events || info.Delivered.Consumer != events {
		t.Errorf("consumer after the burst: redelivered %d, delivered %d (stream seq %d), want 0 and %d",
			info.NumRedelivered, info.Delivered.Consumer, info.Delivered.Stream, events)
	}
}

// publishGroups publishes n members_added events over groups groups,
// asynchronously in rounds of 1,000, so that they arrive as a burst.
func publishGroups(ctx context.Context, t *testing.T, js jetstream.JetStream, n, groups int) {
	t.Helper()
	for i := range n {
		sq := uint64(i/groups + 1)
		e := ev(TypeMembersAdded, fmt.Sprintf("g-%d", i%groups), Data{Members: []Member{{ID: fmt.Sprintf("u-%d", i)}}}, seq(sq))
		e.SpecVersion, e.DataContentType = SpecVersion, ContentType
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		msg := nats.NewMsg(testSubject)
		msg.Data = raw
		msg.Header.Set(jetstream.MsgIDHeader, e.ID)
		if _, err := js.PublishMsgAsync(msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
		if (i+1)%1000 == 0 || i == n-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				t.Fatal("publishing did not complete")
			}
		}
	}
}

// holdAndAck receives changes and acknowledges those it holds every hold,
// as the daemon's debounce does, until stop is called.
func holdAndAck(changes <-chan sources.Change, hold time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(hold)
		defer t.Stop()
		var held []sources.Change
		for {
			select {
			case c := <-changes:
				held = append(held, c)
				if len(held)%1500 == 0 {
					time.Sleep(300 * time.Millisecond) // a busy daemon: the pull buffer fills
				}
			case <-t.C:
				for _, c := range held {
					c.Done(nil)
				}
				held = held[:0]
			case <-quit:
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}
