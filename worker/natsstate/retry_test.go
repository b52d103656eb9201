package natsstate

import (
	"context"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// TestLostRequestIsSentAgain: a request written to a connection the server
// has already dropped (a NATS restart the client has not noticed yet) gets
// no answer. The store sends it again on the new connection instead of
// waiting until the caller's deadline.
func TestLostRequestIsSentAgain(t *testing.T) {
	srv := natstest.RunServer(t)
	d := &droppingDialer{}
	_, js := natstest.Connect(t, srv, nats.SetCustomDialer(d))
	st := newStore(t, js)
	st.RequestTimeout = 200 * time.Millisecond
	mustLoad(t, st)
	want := sampleState()
	mustSave(t, st, want)

	d.dropNext()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := st.Load(ctx)
	if err != nil {
		t.Fatalf("Load after a lost request: %v", err)
	}
	if !d.dropped() {
		t.Fatal("no request was dropped: the test proved nothing")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant %+v", got, want)
	}
}

// droppingDialer connects to the server; after dropNext, the current
// connection swallows the next bytes the client writes and then closes,
// as a connection does whose server went away a moment ago.
type droppingDialer struct {
	mu   sync.Mutex
	cur  *droppingConn
	lost atomic.Bool
}

func (d *droppingDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	dc := &droppingConn{Conn: c, lost: &d.lost}
	d.mu.Lock()
	d.cur = dc
	d.mu.Unlock()
	return dc, nil
}

func (d *droppingDialer) dropNext() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cur.drop.Store(true)
}

func (d *droppingDialer) dropped() bool { return d.lost.Load() }

type droppingConn struct {
	net.Conn
	drop atomic.Bool
	lost *atomic.Bool
}

func (c *droppingConn) Write(p []byte) (int, error) {
	if !c.drop.Load() {
		return c.Conn.Write(p)
	}
	c.lost.Store(true)
	c.Conn.Close()
	return len(p), nil
}
