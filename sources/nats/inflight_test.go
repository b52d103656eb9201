package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// memStream creates the test stream in memory, so that the server's own
// copy of the events is on the heap alike before and after they are acked.
func memStream(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: testStream, Subjects: []string{"directory.>"}, Storage: jetstream.MemoryStorage,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bigMembers is a member list of about size bytes of JSON, in few members
// with long ids: the bytes of a large event at a small cost to fold.
func bigMembers(size int) []Member {
	var ms []Member
	for n := 0; n < size; n += 1000 {
		ms = append(ms, Member{ID: fmt.Sprintf("user-%06d-%s", len(ms), strings.Repeat("x", 980))})
	}
	return ms
}

// encodedSize is the size of e as Publish sends it.
func encodedSize(t *testing.T, e *Event) int {
	t.Helper()
	c := *e
	c.SpecVersion, c.DataContentType = SpecVersion, ContentType
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestHeldChangesRetainNoPayload: events handed to the daemon and not yet
// acknowledged keep their ack handle, not their payload or decoded event:
// many large events for one group in flight cost a small fraction of
// their size.
func TestHeldChangesRetainNoPayload(t *testing.T) {
	srv := runServer(t)
	memStream(t, producer(t, srv))
	cfg := testConfig(srv)
	cfg.CreateStream = false
	cfg.MaxInflightBytes = 1 << 30 // the cap is not what this test measures
	h := start(t, srv, cfg)
	const n = 32
	members := bigMembers(256 << 10)
	total := 0
	for i := range n {
		e := ev(TypeGroupUpserted, "big", Data{Name: "Big", Members: members}, seq(uint64(i+1)))
		total += encodedSize(t, e)
		h.publish(e)
	}
	held := make([]sources.Change, 0, n)
	for range n {
		held = append(held, h.next())
	}
	withHeld := heapAlloc()
	for _, c := range held {
		c.Done(nil)
	}
	clear(held) // the daemon drops a change once done
	h.consumerSettled()
	retained := withHeld - heapAlloc()
	t.Logf("%d events of %d bytes in all held: %d bytes of heap", n, total, retained)
	if retained > int64(total/10) {
		t.Errorf("%d events held retain %d bytes of heap; want under a tenth of their %d bytes", n, retained, total)
	}
}

func metricValue(t *testing.T, g interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Gauge != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// TestInflightBytesCapHoldsBackFetching: with the daemon acknowledging
// nothing, the source takes events only up to MaxInflightBytes, and the
// server keeps the rest; acknowledgements let the rest through, none lost.
func TestInflightBytesCapHoldsBackFetching(t *testing.T) {
	srv := runServer(t)
	cfg := testConfig(srv)
	const eventSize, capBytes = 2 << 10, 16 << 10
	const n = 2*pullBufferBytes/eventSize + 100 // more than the pull fetches ahead
	cfg.MaxEventBytes = 4 << 10
	cfg.MaxInflightBytes = capBytes
	h := start(t, srv, cfg)
	members := bigMembers(eventSize - 300)
	size := 0
	for i := range n {
		e := ev(TypeGroupUpserted, fmt.Sprintf("g%d", i), Data{Name: "G", Members: members})
		size = encodedSize(t, e)
		h.publish(e)
	}
	var held []sources.Change
	deadline := time.Now().Add(waitFor)
	for metricValue(t, h.src.m.inflightFull) == 0 && len(held) < n {
		select {
		case c := <-h.changes:
			held = append(held, c)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("fetching never paused; %d changes held", len(held))
		}
	}
	if max := capBytes/size + 1; len(held) > max {
		t.Fatalf("%d changes of %d bytes handed over with none acknowledged; want at most %d (max_inflight_bytes %d)", len(held), size, max, capBytes)
	}
	if got := metricValue(t, h.src.m.inflightBytes); got < capBytes || got > capBytes+float64(size) {
		t.Errorf("inflight_bytes = %v, want [%d, %d]", got, capBytes, capBytes+size)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := h.js.Consumer(ctx, testStream, cfg.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending == 0 {
		t.Errorf("server delivered all %d events (%d ack pending) while %d were held; want fetching held back", n, info.NumAckPending, len(held))
	}
	for got := len(held); got < n; got++ {
		held[0].Done(nil)
		held = append(held[1:], h.next())
	}
	for _, c := range held {
		c.Done(nil)
	}
	if info := h.consumerSettled(); info.NumRedelivered != 0 || info.AckFloor.Stream != uint64(n) {
		t.Errorf("after acks: redelivered %d, ack floor %d, want 0 and %d", info.NumRedelivered, info.AckFloor.Stream, n)
	}
	if got := metricValue(t, h.src.m.inflightBytes); got != 0 {
		t.Errorf("inflight_bytes = %v after every ack, want 0", got)
	}
}

// TestInflightBytesValidated: a cap below one event could never let the
// largest through; it is refused.
func TestInflightBytesValidated(t *testing.T) {
	cfg := Config{URLs: []string{"nats://127.0.0.1:4222"}, Stream: "S", MaxInflightBytes: 1000}.withDefaults()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_inflight_bytes") {
		t.Errorf("Validate = %v, want a max_inflight_bytes error", err)
	}
}
