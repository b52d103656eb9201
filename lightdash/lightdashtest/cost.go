package lightdashtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// DefaultServerCPUs is how many calls' token checks run at once under
// WithCallCost: the 2 cores of the machine Lightdash was measured on.
const DefaultServerCPUs = 2

// The cost model (opt-in; off, calls cost nothing but their work):
//
//   - WithCallCost(d): every call with an "ApiKey" header first spends d on
//     one of WithServerCPUs' CPUs (the bcrypt of the token, ~50 ms on the
//     real server, API-NOTES §8). More calls than CPUs queue for one.
//   - WithRowCost(d): a list answer then spends d per row it holds (a user,
//     a group and each member it carries) on the single event loop of the
//     one node process, so two lists at once take turns, as the real
//     server's did (issue 19: 2.4 s and 4.1 s side by side). A space read
//     (GET /api/v1/projects/{p}/spaces/{s}) spends it for the users whose
//     access it resolves, and for its copying, which grows with their
//     square (spaceReadRows): other lists wait, as they did on the real
//     server. The cost is spent after the answer is built and before it is
//     sent.
//
// Neither holds the fake's state lock while it waits.
type cost struct {
	call time.Duration
	row  time.Duration
	cpus chan struct{}
	loop sync.Mutex
}

// WithCallCost makes every token-authenticated call spend d of server CPU
// before it is handled (see the cost model above).
func WithCallCost(d time.Duration) Option { return func(s *Server) { s.cost.call = d } }

// WithServerCPUs sets how many token checks run at once (default
// DefaultServerCPUs).
func WithServerCPUs(n int) Option {
	return func(s *Server) { s.cost.cpus = make(chan struct{}, max(n, 1)) }
}

// WithRowCost makes list answers spend d per row on the server's one event
// loop (see the cost model above). The real server's users pages of 5,000
// took 0.35 s (about 60 µs a user beyond the call's cost) and its groups
// list 5.3 s for 500,000 memberships (about 10 µs a membership).
func WithRowCost(d time.Duration) Option { return func(s *Server) { s.cost.row = d } }

// spendCall spends the call cost of r on a CPU; false if the request or the
// server ended first.
func (s *Server) spendCall(r *http.Request) bool {
	if s.cost.call <= 0 || !strings.HasPrefix(r.Header.Get("Authorization"), "ApiKey ") {
		return true
	}
	select {
	case s.cost.cpus <- struct{}{}:
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
	defer func() { <-s.cost.cpus }()
	return s.wait(r, s.cost.call)
}

// spendRows spends the row cost of n rows on the event loop.
func (s *Server) spendRows(r *http.Request, n int) {
	if s.cost.row <= 0 || n <= 0 {
		return
	}
	s.cost.loop.Lock()
	defer s.cost.loop.Unlock()
	s.wait(r, time.Duration(n)*s.cost.row)
}

// rowsWriter buffers an answer so that its row cost is spent before it is
// sent; rows is what the handler counted (countRows).
type rowsWriter struct {
	*httptest.ResponseRecorder
	rows int
}

// countRows records that the answer being written holds n rows, when its
// writer charges for rows.
func countRows(w http.ResponseWriter, n int) {
	if sr, ok := w.(*statusRecorder); ok {
		if rw, ok := sr.ResponseWriter.(*rowsWriter); ok {
			rw.rows += n
		}
	}
}

// send copies the buffered answer to w.
func (rw *rowsWriter) send(w http.ResponseWriter) {
	for k, v := range rw.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.Code)
	_, _ = w.Write(rw.Body.Bytes())
}
