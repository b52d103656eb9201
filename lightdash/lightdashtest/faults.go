package lightdashtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// Fault is one injected failure. Method and Endpoint (a path template such
// as "/api/v1/org/groups") restrict which requests it hits; empty means any.
// Exactly one of Status, Drop, Hang or Cut should be set.
type Fault struct {
	Method   string
	Endpoint string
	// Status answers with this code instead of handling the request: 429
	// and 500 get Lightdash's JSON error envelope, other codes a proxy's
	// plain-text body. Zero (with neither Drop nor Hang) means 500.
	Status int
	// RetryAfter, when positive, is sent as a Retry-After header (seconds,
	// rounded up).
	RetryAfter time.Duration
	// Drop hijacks the connection and closes it without an answer.
	Drop bool
	// Hang never answers; the request ends when the client gives up or the
	// server closes.
	Hang bool
	// After lets the request take effect first and then fails it: the
	// "create succeeded but the answer was lost" case.
	After bool
	// Cut handles the request, sends the answer's status line, headers and
	// the first half of its body, then closes the connection: a body lost
	// mid-way, which a client reading from the stream sees only after it
	// has started decoding.
	Cut bool
}

func (f Fault) matches(method, endpoint string) bool {
	return (f.Method == "" || f.Method == method) && (f.Endpoint == "" || f.Endpoint == endpoint)
}

func (f Fault) String() string {
	var s string
	switch {
	case f.Hang:
		s = "hang"
	case f.Drop:
		s = "drop"
	case f.Cut:
		s = "cut"
	default:
		s = strconv.Itoa(f.Status)
	}
	if f.After {
		s += " after handling"
	}
	return s
}

// FailNext queues faults: each one hits the next request it matches, in
// order, once.
func (s *Server) FailNext(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// SetFailureRate makes a fraction (0..1) of matching requests fail with f,
// chosen at random (reproducible with WithSeed). Zero turns it off.
func (s *Server) SetFailureRate(rate float64, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultRate, s.rateFault = rate, f
}

// ClearFaults drops queued faults and the failure rate.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.faultRate = nil, 0
}

// SetLatency delays every request by d before it is handled.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// pickFault returns the fault for this request, if any.
func (s *Server) pickFault(method, endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.matches(method, endpoint) {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			return f, true
		}
	}
	if s.faultRate > 0 && s.rateFault.matches(method, endpoint) && s.rng.Float64() < s.faultRate {
		return s.rateFault, true
	}
	return Fault{}, false
}

// wait sleeps d unless the request or the server ends first.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// applyFault carries out f on the response and returns the status sent (0
// when nothing was sent). beforeDrop runs just before a dropped connection
// is closed, or a hang starts: the client reacts to the close (or its own
// timeout) at once, so anything the test later reads (the request log)
// must be written first. (A hang's entry, written when the hang ended,
// once came after a test had already counted the requests.)
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault, handle func(http.ResponseWriter), beforeDrop func()) int {
	var rec *httptest.ResponseRecorder
	if f.After || f.Cut {
		rec = httptest.NewRecorder()
		handle(rec) // takes effect, answer discarded (or cut)
	}
	switch {
	case f.Cut:
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		beforeDrop()
		panic(http.ErrAbortHandler) // net/http closes the connection

	case f.Hang:
		// Read the body first: net/http notices that the client gave up
		// only once the handler has consumed the request body, so an unread
		// PATCH or POST body would keep the hang (and its log entry) alive
		// until the fake closes.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		beforeDrop()
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return 0
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				beforeDrop()
				_ = conn.Close()
				return 0
			}
		}
		beforeDrop()
		panic(http.ErrAbortHandler) // fallback: net/http aborts the response silently
	}
	if f.Status < 100 || f.Status > 999 {
		f.Status = http.StatusInternalServerError
	}
	if f.RetryAfter > 0 {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	switch f.Status {
	case http.StatusTooManyRequests:
		apiError(w, f.Status, "TooManyRequestsError", "Too many requests, please try again later.", nil)
	case http.StatusInternalServerError:
		errUnexpected(w)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.Status)
		fmt.Fprintln(w, http.StatusText(f.Status))
	}
	return f.Status
}
