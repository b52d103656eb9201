package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// Explained is one target's answer to /explain: the explanation, or why
// there is none (no full reconciliation yet, a standby replica, a
// Lightdash lookup that failed).
type Explained struct {
	Target      string              `json:"target,omitempty"`
	Explanation *worker.Explanation `json:"explanation,omitempty"`
	Error       string              `json:"error,omitempty"`
}

// explainTimeout bounds one /explain: it makes a Lightdash lookup per
// address of the person and maps the last directory read again.
const explainTimeout = 20 * time.Second

// serveExplain serves /explain (HTML, with the search form) or
// /explain.json: the answer of h.Explain for ?email= (and ?target=).
func (h *Handler) serveExplain(asJSON bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.Explain == nil {
			http.Error(w, "explain is not enabled on this daemon (admin.explain: false): run `lightdash-sync explain EMAIL`", http.StatusNotFound)
			return
		}
		email := r.URL.Query().Get("email")
		page := explainPageData{Email: email}
		if email == "" {
			status := http.StatusOK // the search form alone
			if asJSON {
				page.Error, status = "missing ?email=", http.StatusBadRequest
			}
			h.writeExplain(w, page, asJSON, status)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), explainTimeout)
		defer cancel()
		got, err := h.Explain(ctx, email, r.URL.Query().Get("target"))
		status := http.StatusOK
		switch {
		case errors.Is(err, ErrUnknownTarget):
			status = http.StatusNotFound
		case errors.Is(err, worker.ErrBadEmail):
			status = http.StatusBadRequest
		case err != nil:
			status = http.StatusInternalServerError
		}
		if err != nil {
			page.Error = err.Error()
		}
		page.Answers = got
		h.writeExplain(w, page, asJSON, status)
	}
}

func (h *Handler) writeExplain(w http.ResponseWriter, page explainPageData, asJSON bool, status int) {
	var b bytes.Buffer
	var err error
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		err = enc.Encode(page)
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err = explainPage.Execute(&b, page)
	}
	if err != nil {
		http.Error(w, "explain: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// explainPageData is what /explain renders, and /explain.json's body.
type explainPageData struct {
	Email   string      `json:"email"`
	Error   string      `json:"error,omitempty"`
	Answers []Explained `json:"answers"`
}
