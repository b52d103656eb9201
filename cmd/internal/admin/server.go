package admin

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the admin listener's HTTP server. Its timeouts and connection
// cap keep slow or idle clients from holding the port: the kubelet's
// probes must still get through. The handler can be replaced while it
// serves (a configuration reload).
type Server struct {
	// Zero values take the defaults noted.
	ReadHeaderTimeout time.Duration // 5s
	ReadTimeout       time.Duration // 10s; requests have no body to speak of
	WriteTimeout      time.Duration // 30s; /metrics of a large registry
	IdleTimeout       time.Duration // 60s
	MaxHeaderBytes    int           // 16 KiB
	// MaxConns caps open connections (64). At the cap a new connection
	// closes the oldest one not serving a request (idle, or still
	// sending its headers), or is closed itself when every one is.
	MaxConns int

	handler atomic.Pointer[http.Handler]
	limit   connLimit
	srv     *http.Server
	once    sync.Once
}

// SetHandler makes h serve the following requests.
func (s *Server) SetHandler(h http.Handler) { s.handler.Store(&h) }

// Serve serves ln until Shutdown; see http.Server.Serve.
func (s *Server) Serve(ln net.Listener) error {
	return s.server().Serve(ln)
}

// Shutdown stops the server; see http.Server.Shutdown.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.server().Shutdown(ctx)
}

func (s *Server) server() *http.Server {
	s.once.Do(func() {
		s.limit.max = orDefault(s.MaxConns, 64)
		s.srv = &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if h := s.handler.Load(); h != nil {
					(*h).ServeHTTP(w, r)
					return
				}
				http.Error(w, "starting", http.StatusServiceUnavailable)
			}),
			ReadHeaderTimeout: orDefault(s.ReadHeaderTimeout, 5*time.Second),
			ReadTimeout:       orDefault(s.ReadTimeout, 10*time.Second),
			WriteTimeout:      orDefault(s.WriteTimeout, 30*time.Second),
			IdleTimeout:       orDefault(s.IdleTimeout, 60*time.Second),
			MaxHeaderBytes:    orDefault(s.MaxHeaderBytes, 16<<10),
			ConnState:         s.limit.track,
		}
	})
	return s.srv
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// connLimit tracks the server's connections (http.Server.ConnState).
type connLimit struct {
	mu    sync.Mutex
	max   int
	conns map[net.Conn]connEntry
}

type connEntry struct {
	busy  bool      // serving a request
	since time.Time // when it last started waiting
}

func (l *connLimit) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		l.conns = map[net.Conn]connEntry{}
	}
	switch st {
	case http.StateNew:
		l.conns[c] = connEntry{since: time.Now()}
		if len(l.conns) > l.max {
			l.evict(c)
		}
	case http.StateActive:
		l.conns[c] = connEntry{busy: true}
	case http.StateIdle:
		l.conns[c] = connEntry{since: time.Now()}
	case http.StateHijacked, http.StateClosed:
		delete(l.conns, c)
	}
}

// evict closes the connection that has waited longest without a request
// in progress, or the newcomer when all others are busy. The server sees
// the closed connection fail and reports it closed.
func (l *connLimit) evict(newcomer net.Conn) {
	victim := newcomer
	var oldest time.Time
	for c, e := range l.conns {
		if c != newcomer && !e.busy && (oldest.IsZero() || e.since.Before(oldest)) {
			victim, oldest = c, e.since
		}
	}
	delete(l.conns, victim)
	_ = victim.Close()
}
