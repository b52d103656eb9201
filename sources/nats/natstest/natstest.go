// Package natstest runs a real NATS server with JetStream inside the test
// process, on 127.0.0.1 and a random port, storing in a temporary directory.
// The NATS source, the daemon and the demo tests share it.
package natstest

import (
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// RunServer starts a JetStream-enabled server and stops it when the test
// ends. Connect with s.ClientURL().
func RunServer(t testing.TB) *server.Server {
	t.Helper()
	return RunServerWith(t, nil)
}

// RunServerWith is RunServer with a hook to adjust the options (auth, TLS,
// limits) before the server starts.
func RunServerWith(t testing.TB, configure func(*server.Options)) *server.Server {
	t.Helper()
	opts := baseOptions(t.TempDir())
	if configure != nil {
		configure(opts)
	}
	return start(t, opts)
}

// Restart shuts s down (if it is still running) and starts a new server
// with the same options, on the same port and with the same store
// directory, as after a crash or an upgrade: streams, consumers and
// key-value buckets survive, and clients reconnect on their own. configure,
// if not nil, adjusts the options once more.
func Restart(t testing.TB, s *server.Server, configure func(*server.Options)) *server.Server {
	t.Helper()
	v, ok := started.Load(s)
	if !ok {
		t.Fatal("natstest: Restart of a server not started by natstest")
	}
	opts := v.(*server.Options).Clone()
	// ClientURL keeps the actual port even after a Shutdown; Addr does not.
	u, err := url.Parse(s.ClientURL())
	if err != nil {
		t.Fatalf("natstest: client url: %v", err)
	}
	if opts.Port, err = strconv.Atoi(u.Port()); err != nil {
		t.Fatalf("natstest: port of %s: %v", s.ClientURL(), err)
	}
	if configure != nil {
		configure(opts)
	}
	Shutdown(s)
	return start(t, opts)
}

// Connect opens a client on s that reconnects forever and quickly, so it
// survives Restart, and closes it when the test ends. opts are added to
// the client's options.
func Connect(t testing.TB, s *server.Server, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts = append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(10 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return nc, js
}

// Shutdown stops s and waits until it is gone, so that a test can check a
// client's behaviour while the server is away.
func Shutdown(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

// started remembers the options of every server started here, since a
// server does not expose its own after a shutdown. Test-only state.
var started sync.Map // *server.Server → *server.Options

func baseOptions(storeDir string) *server.Options {
	return &server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   storeDir,
	}
}

func start(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	s, err := server.NewServer(opts.Clone())
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("natstest: server not ready for connections")
	}
	started.Store(s, opts)
	t.Cleanup(func() {
		Shutdown(s)
		started.Delete(s)
	})
	return s
}
