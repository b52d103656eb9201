package admin

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startServer serves a Handler's routes with s on a loopback port.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.SetHandler((&Handler{Status: func() Status { return Status{} }, Ready: func() (bool, string) { return true, "" }}).ServeMux())
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })
	return ln.Addr().String()
}

// closedByServer reports whether the server closed c: a read ends with
// EOF or a reset, not with the deadline, which only bounds a failure.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// closedWithin counts the connections the server closes within d.
func closedWithin(cs []net.Conn, d time.Duration) int {
	var n atomic.Int32
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(d))
			if _, err := io.Copy(io.Discard, c); !errors.Is(err, os.ErrDeadlineExceeded) {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return int(n.Load())
}

// trickle writes b one byte at a time until a write fails.
func trickle(c net.Conn, b string) {
	for i := 0; ; i++ {
		if _, err := c.Write([]byte{b[i%len(b)]}); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthz(t *testing.T, addr string) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
}

// TestSlowClientsAreCutOff: a client that sends its headers, or its body,
// a byte at a time is disconnected instead of holding a connection.
func TestSlowClientsAreCutOff(t *testing.T) {
	addr := startServer(t, &Server{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	for name, start := range map[string]string{
		"headers": "GET /healthz HTTP/1.1\r\nHost: localhost\r\n",
		"body":    "POST /reconcile HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte(start)); err != nil {
				t.Fatal(err)
			}
			go trickle(c, "X-Slow: aaaaaaaa\r\n")
			if !closedByServer(c) {
				t.Error("the server still holds the slow connection")
			}
		})
	}
}

// TestIdleConnectionsDoNotStarveProbes fills the connection cap with
// keep-alive connections and with clients that never finish their
// headers: /healthz still answers, by closing the longest waiting.
func TestIdleConnectionsDoNotStarveProbes(t *testing.T) {
	const max = 4
	addr := startServer(t, &Server{MaxConns: max, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute})
	var idle []net.Conn
	for range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// One whole request, so the server has seen the connection and
		// keeps it open, idle.
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		idle = append(idle, c)
	}
	healthz(t, addr)
	// Which one goes depends on when the server saw each turn idle, not on
	// the order of the requests: one of them must.
	if n := closedWithin(idle, 5*time.Second); n != 1 {
		t.Errorf("%d idle connections closed by the server at the cap, want 1", n)
	}

	for range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: local")); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 * max {
		healthz(t, addr)
	}
}

func TestServerWithoutHandlerSaysStarting(t *testing.T) {
	s := &Server{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	defer s.Shutdown(t.Context())
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "starting") {
		t.Errorf("no handler: %d %q, want 503 starting", resp.StatusCode, b)
	}
}
