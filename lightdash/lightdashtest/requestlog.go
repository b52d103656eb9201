package lightdashtest

import (
	"strings"
	"time"
)

// Request is one entry of the fake's request log.
type Request struct {
	Method   string
	Endpoint string // path template, e.g. "/api/v1/groups/{groupUuid}"; the path for unknown routes
	Path     string
	Query    string
	Status   int    // 0 when no answer was sent (dropped, hung)
	Fault    string // the injected fault, if any
	UserUUID string // the token's user; empty when unauthenticated
	Time     time.Time
}

// IsWrite reports whether the request could change state.
func (r Request) IsWrite() bool {
	return r.Method != "GET" && r.Method != "HEAD"
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// RequestCount counts logged requests to endpoint, given as a path template
// ("/api/v1/org/groups") or as method and template ("POST /api/v1/org/groups").
// An empty endpoint counts every request.
func (s *Server) RequestCount(endpoint string) int {
	method, tmpl, hasMethod := strings.Cut(endpoint, " ")
	if !hasMethod {
		method, tmpl = "", endpoint
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if (tmpl == "" || r.Endpoint == tmpl) && (method == "" || r.Method == method) {
			n++
		}
	}
	return n
}

// WriteCount counts logged requests that could change state (not GET).
func (s *Server) WriteCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if r.IsWrite() {
			n++
		}
	}
	return n
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordLocked(r)
}

func (s *Server) recordLocked(r Request) {
	r.Time = s.now()
	s.log = append(s.log, r)
}
