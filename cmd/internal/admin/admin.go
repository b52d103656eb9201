// Package admin serves the daemon's operator endpoints: /healthz (the
// process is alive), /readyz (sources connected and a recent successful
// full reconciliation), /metrics (Prometheus), /status and /status.json
// (what an operator opens first when someone asks "why am I not in the
// group?"), and POST /reconcile (a full reconciliation now; needs the
// configured bearer token).
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// Status is a point-in-time view of the daemon for /status.
type Status struct {
	// Target names the Lightdash target this status is for; empty for a
	// configuration without targets. Lightdash is the target's URL.
	Target    string    `json:"target,omitempty"`
	Lightdash string    `json:"lightdash,omitempty"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"startedAt"`
	Now       time.Time `json:"now"`
	DryRun    bool      `json:"dryRun"`
	Leader    Leader    `json:"leader"`
	Sources   []Source  `json:"sources"`
	Queue     Queue     `json:"queue"`
	// LastReconcile is the latest full reconciliation, LastSuccess when one
	// last succeeded.
	LastReconcile *Reconcile `json:"lastReconcile,omitempty"`
	LastSuccess   time.Time  `json:"lastSuccess,omitempty"`
	// Targets, with several Lightdash targets, holds each one's status
	// (leader or standby, sources, last reconciliation); the fields above
	// then only summarise the process.
	Targets []Status `json:"targets,omitempty"`
}

// ErrUnknownTarget is returned by Handler.Reconcile for a target
// name the configuration does not have; POST /reconcile answers 404.
var ErrUnknownTarget = errors.New("no such target")

// Leader is the high-availability state.
type Leader struct {
	// Enabled is false for a single instance (no NATS lease).
	Enabled  bool   `json:"enabled"`
	IsLeader bool   `json:"isLeader"`
	Identity string `json:"identity"`
	Holder   string `json:"holder,omitempty"`
}

// Source is one source's connection state.
type Source struct {
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Connected bool      `json:"connected"`
	Detail    string    `json:"detail,omitempty"`
	LastEvent time.Time `json:"lastEvent,omitempty"`
}

// Queue is the work queue's depth.
type Queue struct {
	Pending  int `json:"pending"`
	InFlight int `json:"inFlight"`
}

// Reconcile is the outcome of one full reconciliation.
type Reconcile struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	// Result is ok, failed or blocked.
	Result    string                 `json:"result"`
	Error     string                 `json:"error,omitempty"`
	Summary   map[string]int         `json:"summary,omitempty"`
	Unmatched []worker.UnmatchedUser `json:"unmatched,omitempty"`
	Conflicts []worker.Conflict      `json:"conflicts,omitempty"`
	HeldBack  []worker.HeldBack      `json:"heldBack,omitempty"`
	Problems  []worker.Problem       `json:"problems,omitempty"`
	Blocked   string                 `json:"blocked,omitempty"`
}

// Handler serves the endpoints. Its funcs are called per request.
type Handler struct {
	// Status returns the current status.
	Status func() Status
	// Ready reports whether the daemon is ready, and why not.
	Ready func() (bool, string)
	// Reconcile asks for a full reconciliation now of the request's
	// ?target= ("" for every target); nil disables the endpoint.
	Reconcile func(target string) error
	// Token guards POST /reconcile; empty refuses every such request.
	Token string
	// Gatherer serves /metrics; nil means none.
	Gatherer prometheus.Gatherer
}

// ServeMux returns the routes.
func (h *Handler) ServeMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ok, why := h.Ready()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + why + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if h.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(h.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(h.Status())
	})
	mux.HandleFunc("GET /status", h.serveStatusPage)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status", http.StatusFound)
	})
	mux.HandleFunc("POST /reconcile", h.serveReconcile)
	return mux
}

func (h *Handler) serveReconcile(w http.ResponseWriter, r *http.Request) {
	if h.Reconcile == nil {
		http.Error(w, "reconcile on demand is not enabled", http.StatusNotFound)
		return
	}
	if h.Token == "" {
		http.Error(w, "POST /reconcile needs admin.token to be configured", http.StatusForbidden)
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lightdash-sync"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch err := h.Reconcile(r.URL.Query().Get("target")); {
	case errors.Is(err, ErrUnknownTarget):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("reconciliation requested\n"))
}
