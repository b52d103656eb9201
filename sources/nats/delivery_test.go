package nats

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestNakThenRedelivery: a failed apply naks; the redelivered event makes
// the same Change; success acks it once.
func TestNakThenRedelivery(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "G", Members: []Member{{ID: "u1"}}}))

	c1 := h.next()
	c1.Done(errLightdashDown)
	c2 := h.next()
	if c2.Reason != c1.Reason || !slices.Equal(c2.GroupIDs, c1.GroupIDs) {
		t.Errorf("redelivered change %+v, want the same as %+v", c2, c1)
	}
	c2.Done(nil)
	info := h.consumerSettled()
	if info.NumRedelivered != 0 || info.AckFloor.Stream != 1 {
		t.Errorf("consumer after ack: %+v", info)
	}
	if got := h.counter(h.src.m.naked, "group.upserted"); got != 1 {
		t.Errorf("naked = %v, want 1", got)
	}
	if got := h.counter(h.src.m.applied, "group.upserted"); got != 1 {
		t.Errorf("applied = %v, want 1", got)
	}
}

// TestRedeliveryWarns: a delivery after the first is logged at warn with
// its stream sequence and delivery count, and counted; a first one is not.
func TestRedeliveryWarns(t *testing.T) {
	srv := runServer(t)
	core, logs := observer.New(zap.WarnLevel)
	h := startLogged(t, srv, testConfig(srv), zap.New(core))
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "G"}))
	h.next().Done(errLightdashDown)
	h.next().Done(nil)
	h.consumerSettled()
	got := logs.FilterMessage("event redelivered").AllUntimed()
	if len(got) != 1 {
		t.Fatalf("%d \"event redelivered\" lines, want 1", len(got))
	}
	if f := got[0].ContextMap(); f["stream_seq"] != uint64(1) || f["delivery"] != uint64(2) {
		t.Errorf("redelivery logged with %v, want stream_seq 1, delivery 2", f)
	}
	var m dto.Metric
	if err := h.src.m.redelivered.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("redelivered = %v (%v), want 1", m.GetCounter().GetValue(), err)
	}
}

// TestMaxDeliverDeadLetters: after MaxDeliver failures the event is on the
// dead-letter subject, with the reason, and gone from the consumer.
func TestMaxDeliverDeadLetters(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.MaxDeliver = 2
	h := start(t, srv, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	dlq, err := h.js.CreateStream(ctx, jetstream.StreamConfig{Name: "DEAD", Subjects: []string{cfg.DeadLetterSubject}})
	if err != nil {
		t.Fatal(err)
	}
	e := ev(TypeGroupUpserted, "g", Data{Name: "G"})
	h.publish(e)
	h.next().Done(errLightdashDown)
	h.next().Done(errLightdashDown)
	h.consumerSettled()

	m, err := dlq.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	for k, want := range map[string]string{
		HeaderReason: errLightdashDown.Error(), HeaderEventID: e.ID, HeaderEventType: string(TypeGroupUpserted),
		HeaderDeliveries: "2", HeaderStream: testStream, HeaderStreamSeq: "1", HeaderSubject: testSubject,
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if got, err := Decode(m.Data); err != nil || got.ID != e.ID {
		t.Errorf("dead letter body: %v, %v", got, err)
	}
	if got := h.counter(h.src.m.deadLettered, "group.upserted"); got != 1 {
		t.Errorf("dead_lettered = %v, want 1", got)
	}
}

// TestShutdownDoesNotDeadLetter: a change abandoned because the daemon is
// stopping is handed back, never dead-lettered, even on its last delivery.
func TestShutdownDoesNotDeadLetter(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.MaxDeliver = 1
	h := start(t, srv, cfg)
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "G"}))
	c := h.next()
	h.stop() // the daemon stops; the connection stays up, so a dead letter would succeed
	if err := <-h.watched; err != nil {
		t.Fatalf("Watch: %v", err)
	}
	h.watched <- nil // for the cleanup's check
	c.Done(errLightdashDown)
	if got := h.counter(h.src.m.deadLettered, "group.upserted"); got != 0 {
		t.Errorf("dead_lettered = %v, want 0 at shutdown", got)
	}
}

// TestHeldChangeIsNotRedelivered: a change the daemon holds for longer than
// AckWait keeps its event, thanks to the in-progress signals.
func TestHeldChangeIsNotRedelivered(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	cfg.AckWait = time.Second
	h := start(t, srv, cfg)
	h.publish(ev(TypeGroupUpserted, "g", Data{Name: "G"}))
	c := h.next()
	select {
	case again := <-h.changes:
		t.Fatalf("redelivered while held: %+v", again)
	case <-time.After(5 * cfg.AckWait / 2): // the daemon is slow
	}
	c.Done(nil)
	if info := h.consumerSettled(); info.NumRedelivered != 0 {
		t.Errorf("redelivered = %d, want 0", info.NumRedelivered)
	}
}

// TestWatchEndsWhenSourceClosed: Close under a running Watch is fatal, not
// retried forever.
func TestWatchEndsWhenSourceClosed(t *testing.T) {
	srv := runServer(t)
	src, err := New(context.Background(), testConfig(srv), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- src.Watch(context.Background(), make(chan sources.Change)) }()
	src.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Watch returned nil after Close, want an error")
		}
	case <-time.After(waitFor):
		t.Fatal("Watch still running after Close")
	}
}

// TestRestartedWatchGetsFetchedAheadEvents: events the pull fetched ahead
// while the daemon was busy are handed back when Watch stops, so the next
// Watch gets them at once, not after AckWait (30s here, beyond waitFor).
func TestRestartedWatchGetsFetchedAheadEvents(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	for _, id := range []string{"a", "b", "c"} {
		h.publish(ev(TypeGroupUpserted, id, Data{Name: id}))
	}
	// Nobody reads the changes: Watch holds "a" and has fetched "b" and "c".
	deadline := time.Now().Add(waitFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := h.js.Consumer(ctx, testStream, h.src.cfg.Consumer)
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = c.Info(ctx)
		}
		cancel()
		if err == nil && info.NumAckPending == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the three events were not all delivered: info=%+v err=%v", info, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.stop()
	if err := <-h.watched; err != nil {
		t.Fatalf("Watch: %v", err)
	}
	wctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	go func() { h.watched <- h.src.Watch(wctx, h.changes) }()

	got := map[string]bool{}
	for len(got) < 3 {
		c := h.next()
		c.Done(nil)
		for _, g := range c.GroupIDs {
			got[g] = true
		}
	}
	h.consumerSettled()
}

// TestMissedDeliveryWarns: a delivery the server makes on the source's
// consumer that never reaches the source (here another reader takes it,
// as a dropped message would vanish) is logged at warn and counted.
func TestMissedDeliveryWarns(t *testing.T) {
	srv := runServer(t)
	core, logs := observer.New(zap.WarnLevel)
	h := startLogged(t, srv, testConfig(srv), zap.New(core))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	waiting := func(n int) jetstream.Consumer {
		for {
			c, err := h.js.Consumer(ctx, testStream, h.src.cfg.Consumer)
			if err == nil {
				if info, err := c.Info(ctx); err == nil && info.NumWaiting >= n {
					return c
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("consumer never had %d pull requests waiting", n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	other := make(chan error, 1)
	go func() {
		batch, err := waiting(1).Fetch(1, jetstream.FetchMaxWait(waitFor))
		if err == nil {
			for m := range batch.Messages() {
				err = m.Ack()
			}
		}
		other <- err
	}()
	waiting(2) // the source's request first, then the other reader's
	for _, g := range []string{"a", "b", "c"} {
		h.publish(ev(TypeGroupUpserted, g, Data{Name: g}))
	}
	h.next().Done(nil)
	h.next().Done(nil)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	h.consumerSettled()
	if got := logs.FilterMessageSnippet("deliveries missed").Len(); got != 1 {
		t.Errorf("%d \"deliveries missed\" lines, want 1", got)
	}
	var m dto.Metric
	if err := h.src.m.missed.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("deliveries missed = %v (%v), want 1", m.GetCounter().GetValue(), err)
	}
}
