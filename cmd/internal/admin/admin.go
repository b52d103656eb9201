// Package admin serves the daemon's operator endpoints: /healthz (the
// process is alive), /readyz (sources connected and a recent successful
// full reconciliation), /metrics (Prometheus), /status and /status.json
// (what an operator opens first when someone asks "why am I not in the
// group?"), /explain and /explain.json (why one person has or lacks their
// groups), and POST /reconcile (a full reconciliation now; ?read=full
// makes its sources read the directory in full). The status
// and explain pages name directory users, so they need the admin token
// (see private); POST /reconcile always does. /healthz, /readyz and
// /metrics stay open.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/progress"
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
	// Progress is the full reconciliation in progress, if one is.
	Progress *progress.Status `json:"progress,omitempty"`
	// LastReconcile is the latest full reconciliation, LastSuccess when one
	// last succeeded (nil before one did).
	LastReconcile *Reconcile `json:"lastReconcile,omitempty"`
	LastSuccess   *time.Time `json:"lastSuccess,omitempty"`
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

// Source is one source's connection state. LastEvent is when its watcher
// last reported a change; nil (left out of the JSON) when none did.
type Source struct {
	Name      string     `json:"name"`
	Type      string     `json:"type"`
	Connected bool       `json:"connected"`
	Detail    string     `json:"detail,omitempty"`
	LastEvent *time.Time `json:"lastEvent,omitempty"`
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
	// Access are the project role and space share changes the run planned.
	Access  []worker.AccessChangeItem `json:"access,omitempty"`
	Blocked string                    `json:"blocked,omitempty"`
	// DirectoryRead is, per source, "full" or "watcher" (worker.Result).
	DirectoryRead map[string]string `json:"directoryRead,omitempty"`
}

// Handler serves the endpoints. Its funcs are called per request.
type Handler struct {
	// Status returns the current status.
	Status func() Status
	// StatusVersion changes whenever Status changes in substance (a full
	// reconciliation ended); the rendered pages are kept until it does,
	// or for StatusMaxAge (DefaultStatusMaxAge when zero). nil renders
	// them per request.
	StatusVersion func() uint64
	StatusMaxAge  time.Duration
	// Ready reports whether the daemon is ready, and why not.
	Ready func() (bool, string)
	// Explain explains the person with address email from the last full
	// reconciliation of the request's ?target= ("" for every target);
	// nil disables /explain.
	Explain func(ctx context.Context, email, target string) ([]Explained, error)
	// Reconcile asks for a full reconciliation now of the request's
	// ?target= ("" for every target); fullRead (?read=full) has the
	// sources read the directory in full rather than take a change
	// watcher's state. nil disables the endpoint.
	Reconcile func(target string, fullRead bool) error
	// Token guards POST /reconcile and the status pages; empty refuses
	// every POST /reconcile.
	Token string
	// Loopback says the listener is on a loopback address: without a
	// Token the status pages are then served to loopback Hosts, and
	// refused otherwise.
	Loopback bool
	// Gatherer serves /metrics; nil means none.
	Gatherer prometheus.Gatherer

	cache statusCache
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
	mux.HandleFunc("GET /status.json", h.private(h.serveStatus("application/json", renderJSON)))
	mux.HandleFunc("GET /status", h.private(h.serveStatus("text/html; charset=utf-8", renderHTML)))
	mux.HandleFunc("GET /explain", h.private(h.serveExplain(false)))
	mux.HandleFunc("GET /explain.json", h.private(h.serveExplain(true)))
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
	if !h.tokenOK(r, false) {
		unauthorized(w, false)
		return
	}
	var fullRead bool
	switch read := r.URL.Query().Get("read"); read {
	case "":
	case "full":
		fullRead = true
	default:
		http.Error(w, "read="+read+": want read=full or no read parameter", http.StatusBadRequest)
		return
	}
	switch err := h.Reconcile(r.URL.Query().Get("target"), fullRead); {
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

// serveStatus serves the status rendered by render, from the cache while
// StatusVersion holds.
func (h *Handler) serveStatus(contentType string, render func(Status) ([]byte, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		page, err := h.renderStatus(contentType, render)
		if err != nil {
			http.Error(w, "status: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(page)
	}
}

func (h *Handler) renderStatus(format string, render func(Status) ([]byte, error)) ([]byte, error) {
	if h.StatusVersion == nil {
		return render(h.Status())
	}
	maxAge := h.StatusMaxAge
	if maxAge <= 0 {
		maxAge = DefaultStatusMaxAge
	}
	// The version is read before Status: a run ending in between leaves
	// the page cached under the older version, which the next request
	// replaces.
	v := h.StatusVersion()
	return h.cache.get(format, v, time.Now(), maxAge, func() ([]byte, error) { return render(h.Status()) })
}

func renderJSON(st Status) ([]byte, error) {
	b, err := json.MarshalIndent(st, "", "  ")
	return append(b, '\n'), err
}

func renderHTML(st Status) ([]byte, error) {
	var b bytes.Buffer
	if err := statusPage.Execute(&b, st); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
