package nats

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

const (
	testStream  = "DIRECTORY"
	testSubject = "directory.events"
	testDLQ     = "directory.dead"
)

// waitFor bounds every wait in these tests; it is a safety net against a
// hang, never the thing asserted.
const waitFor = 15 * time.Second

func testConfig(srv *server.Server) Config {
	return Config{
		Name:              "hr",
		URLs:              []string{srv.ClientURL()},
		ReconnectWait:     10 * time.Millisecond,
		MaxReconnectWait:  100 * time.Millisecond,
		Stream:            testStream,
		Subjects:          []string{"directory.>"},
		CreateStream:      true,
		Consumer:          "lightdash-sync-test",
		AckWait:           30 * time.Second,
		MaxDeliver:        3,
		Backoff:           []time.Duration{5 * time.Millisecond},
		DeadLetterSubject: "dead.directory",
	}
}

type harness struct {
	t       *testing.T
	srv     *server.Server
	src     *Source
	reg     *prometheus.Registry
	changes chan sources.Change
	js      jetstream.JetStream // the producer's connection
	stop    context.CancelFunc
	watched chan error
}

// start runs a source against srv and a producer connection, and watches.
func start(t *testing.T, srv *server.Server, cfg Config) *harness {
	t.Helper()
	return startLogged(t, srv, cfg, zaptest.NewLogger(t))
}

// startLogged is start with the source logging to log.
func startLogged(t *testing.T, srv *server.Server, cfg Config, log *zap.Logger) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	reg := prometheus.NewRegistry()
	src, err := New(ctx, cfg, log, reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, srv: srv, src: src, reg: reg, changes: make(chan sources.Change), watched: make(chan error, 1)}
	h.js = producer(t, srv)
	wctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	go func() { h.watched <- src.Watch(wctx, h.changes) }()
	t.Cleanup(h.close)
	return h
}

// close stops Watch, checks it returned nil, and closes the source.
func (h *harness) close() {
	if h.stop == nil {
		return
	}
	h.stop()
	h.stop = nil
	select {
	case err := <-h.watched:
		if err != nil {
			h.t.Errorf("Watch returned %v, want nil after cancel", err)
		}
	case <-time.After(waitFor):
		h.t.Error("Watch did not return after cancel")
	}
	h.src.Close()
}

func producer(t *testing.T, srv *server.Server) jetstream.JetStream {
	t.Helper()
	_, js := natstest.Connect(t, srv)
	return js
}

// publish sends e with Publish, retrying while the server is restarting.
func (h *harness) publish(e *Event) *jetstream.PubAck {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ack, err := Publish(ctx, h.js, testSubject, e)
		cancel()
		if err == nil {
			return ack
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("publish %s: %v", e.ID, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishRaw sends bytes as they are, as a buggy or hostile producer would.
func (h *harness) publishRaw(id string, b []byte) {
	h.t.Helper()
	msg := nats.NewMsg(testSubject)
	msg.Data = b
	msg.Header.Set(jetstream.MsgIDHeader, id)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, msg); err != nil {
		h.t.Fatalf("publish raw: %v", err)
	}
}

func (h *harness) next() sources.Change {
	h.t.Helper()
	select {
	case c := <-h.changes:
		return c
	case <-time.After(waitFor):
		h.t.Fatal("no change arrived")
	}
	return sources.Change{}
}

// consumerSettledAcking is consumerSettled for a test whose events may be
// redelivered meanwhile: it acknowledges every change that arrives.
func (h *harness) consumerSettledAcking() {
	h.t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case c := <-h.changes:
				if c.Done != nil {
					c.Done(nil)
				}
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	h.consumerSettled()
}

// consumerSettled waits until the consumer has nothing pending or unacked,
// then returns its info.
func (h *harness) consumerSettled() *jetstream.ConsumerInfo {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := h.js.Consumer(ctx, testStream, h.src.cfg.Consumer)
		var info *jetstream.ConsumerInfo
		if err == nil {
			info, err = c.Info(ctx)
		}
		cancel()
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return info
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("consumer not settled: info=%+v err=%v", info, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) counter(v *prometheus.CounterVec, label string) float64 {
	h.t.Helper()
	var m dto.Metric
	if err := v.WithLabelValues(label).Write(&m); err != nil {
		h.t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

var evSeq int

// ev builds a valid event; mutate adjusts it.
func ev(t Type, id string, data Data, mutate ...func(*Event)) *Event {
	evSeq++
	data.ID = id
	if t == TypeGroupUpserted && data.Members == nil {
		data.Members = []Member{} // an upsert states its members, if none
	}
	e := &Event{
		ID: fmt.Sprintf("evt-%s-%d", id, evSeq), Source: "/test", Type: t,
		Time: time.Date(2026, 11, 25, 10, 0, evSeq, 0, time.UTC), Data: data,
	}
	for _, m := range mutate {
		m(e)
	}
	return e
}

func seq(n uint64) func(*Event) { return func(e *Event) { e.Sequence = &n } }

var errLightdashDown = errors.New("lightdash: 503 Service Unavailable")

func runServer(t *testing.T) *server.Server { return natstest.RunServer(t) }
