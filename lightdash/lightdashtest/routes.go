package lightdashtest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
)

// handlerFunc handles an authenticated request. It runs with s.mu held, so
// it sees and changes the state atomically (a Lightdash transaction) and
// must not call the Server's locking methods.
type handlerFunc func(w http.ResponseWriter, r *http.Request, me *user)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, "GET /api/v1/user", s.getUser)
	s.handle(mux, "GET /api/v2/feature-flag/{featureFlagId}", s.getFeatureFlag)
	s.handle(mux, "GET /api/v1/org", s.getOrg)
	s.handle(mux, "GET /api/v1/org/users", s.listUsers)
	s.handle(mux, "GET /api/v1/org/users/{userUuid}", s.getOrgUser)
	s.handle(mux, "GET /api/v1/org/users/email/{email}", s.getOrgUserByEmail)
	s.handle(mux, "GET /api/v1/org/groups", s.listGroups)
	s.handle(mux, "POST /api/v1/org/groups", s.createGroup)
	s.handle(mux, "GET /api/v1/groups/{groupUuid}", s.getGroup)
	s.handle(mux, "PATCH /api/v1/groups/{groupUuid}", s.updateGroup)
	s.handle(mux, "DELETE /api/v1/groups/{groupUuid}", s.deleteGroup)
	s.handle(mux, "GET /api/v1/groups/{groupUuid}/members", s.listGroupMembers)
	s.handle(mux, "PUT /api/v1/groups/{groupUuid}/members/{userUuid}", s.addGroupMember)
	s.handle(mux, "DELETE /api/v1/groups/{groupUuid}/members/{userUuid}", s.removeGroupMember)
	s.handle(mux, "POST /api/v1/invite-links", s.createInviteLink)
	s.accessRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sr := &statusRecorder{ResponseWriter: w}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			apiError(sr, http.StatusNotFound, "NotFoundError", "API endpoint not found", nil)
		} else {
			http.NotFound(sr, r)
		}
		s.record(Request{Method: r.Method, Endpoint: r.URL.Path, Path: r.URL.Path, Query: r.URL.RawQuery, Status: sr.status})
	})
	return mux
}

// handle registers h behind the fake's middleware: latency, fault
// injection, authentication and the request log.
func (s *Server) handle(mux *http.ServeMux, pattern string, h handlerFunc) {
	method, tmpl, _ := strings.Cut(pattern, " ")
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		entry := Request{Method: method, Endpoint: tmpl, Path: r.URL.Path, Query: r.URL.RawQuery}
		s.mu.Lock()
		latency := s.latency
		s.mu.Unlock()
		if !s.wait(r, latency) || !s.spendCall(r) {
			s.record(entry)
			return
		}
		// serve logs the request under the lock that made its change when
		// logNow is set, so whoever sees the change also sees the request.
		serve := func(w http.ResponseWriter, logNow bool) int {
			sr := &statusRecorder{ResponseWriter: w}
			s.mu.Lock()
			defer s.mu.Unlock()
			me, ok := s.authenticate(sr, r)
			if ok {
				entry.UserUUID = me.uuid
				h(sr, r, me)
			}
			if logNow {
				entry.Status = sr.status
				s.recordLocked(entry)
			}
			return sr.status
		}
		run := func(w http.ResponseWriter, logNow bool) int {
			if s.cost.row <= 0 {
				return serve(w, logNow)
			}
			rw := &rowsWriter{ResponseRecorder: httptest.NewRecorder()}
			status := serve(rw, logNow)
			s.spendRows(r, rw.rows)
			rw.send(w)
			return status
		}
		if f, hit := s.pickFault(method, tmpl); hit {
			entry.Fault = f.String()
			recorded := false
			entry.Status = s.applyFault(w, r, f, func(w http.ResponseWriter) { run(w, false) },
				func() { s.record(entry); recorded = true })
			if !recorded {
				s.record(entry)
			}
			return
		}
		run(w, true)
	})
}

// authenticate accepts only "Authorization: ApiKey <token>". Like the real
// server, a missing header or another scheme gets a plain-text 401 from
// passport, a wrong token (or a deactivated user's) a JSON AuthorizationError.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*user, bool) {
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "ApiKey ")
	if !found {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("Unauthorized"))
		return nil, false
	}
	u, ok := s.tokens[strings.TrimSpace(token)]
	if !ok || !u.active {
		apiError(w, http.StatusUnauthorized, "AuthorizationError", "Failed to authorize user", nil)
		return nil, false
	}
	return u, true
}

// statusRecorder remembers the status code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// queryInt reads an optional numeric query parameter as tsoa does: absent is
// fine, present but not a number is a 422 ValidateError.
func queryInt(w http.ResponseWriter, r *http.Request, name string) (v int, present, ok bool) {
	raw, present := r.URL.Query()[name]
	if !present || len(raw) == 0 || raw[0] == "" {
		return 0, false, true
	}
	f, err := strconv.ParseFloat(raw[0], 64)
	if err != nil {
		errValidate(w, name, "invalid float number")
		return 0, true, false
	}
	return int(f), true, true
}

// pagination reads page and pageSize. Lightdash pages only when both are
// truthy (non-zero), and then refuses values below 1.
func pagination(w http.ResponseWriter, r *http.Request) (page, size int, paged, ok bool) {
	page, _, ok1 := queryInt(w, r, "page")
	if !ok1 {
		return 0, 0, false, false
	}
	size, _, ok2 := queryInt(w, r, "pageSize")
	if !ok2 {
		return 0, 0, false, false
	}
	if page == 0 || size == 0 {
		return 0, 0, false, true
	}
	if page < 1 {
		apiError(w, http.StatusUnprocessableEntity, "PaginationError", "page should be greater than 0", nil)
		return 0, 0, false, false
	}
	if size < 1 {
		apiError(w, http.StatusUnprocessableEntity, "PaginationError", "pageSize should be greater than 0", nil)
		return 0, 0, false, false
	}
	return page, size, true, true
}

// paginationLocked is pagination, with the page size SetForcedPageSize
// imposes on a request that did not ask for pages.
func (s *Server) paginationLocked(w http.ResponseWriter, r *http.Request) (page, size int, paged, ok bool) {
	page, size, paged, ok = pagination(w, r)
	if ok && !paged && s.forcedPage > 0 {
		return 1, s.forcedPage, true, true
	}
	return page, size, paged, ok
}

type paginationJSON struct {
	Page           int `json:"page"`
	PageSize       int `json:"pageSize"`
	TotalPageCount int `json:"totalPageCount"`
	TotalResults   int `json:"totalResults"`
}

// listResults is a list endpoint's results: rows, cut to one page with its
// pagination when the request asked for pages, each made into its answer
// by conv. Pages come from one row order that holds between requests (as
// the real server's did in every pass measured, API-NOTES §10) unless
// SetPageDrift moved a row; the rows within a page are shuffled.
func listResults[T, V any](s *Server, rows []T, key func(T) string, conv func(T) V, paged bool, page, size int) (map[string]any, []V) {
	results := map[string]any{}
	if paged {
		slices.SortFunc(rows, func(a, b T) int { return strings.Compare(key(a), key(b)) })
		if page == 1 && s.pageDrift > 0 && len(rows) > size {
			s.pageDrift--
			rows[0], rows[len(rows)-1] = rows[len(rows)-1], rows[0]
		}
		var p *paginationJSON
		rows, p = paginate(rows, page, size)
		shuffleLocked(s, rows)
		results["pagination"] = p
	}
	data := make([]V, len(rows))
	for i, r := range rows {
		data[i] = conv(r)
	}
	results["data"] = data
	return results, data
}

// paginate cuts one page out of xs.
func paginate[T any](xs []T, page, size int) ([]T, *paginationJSON) {
	total := len(xs)
	p := &paginationJSON{Page: page, PageSize: size, TotalPageCount: (total + size - 1) / size, TotalResults: total}
	start := min((page-1)*size, total)
	end := min(start+size, total)
	return xs[start:end], p
}

// matchesSearch is Lightdash's searchQuery: a case-insensitive OR over the
// words of the query, matched anywhere in any of the fields.
func matchesSearch(query string, fields ...string) bool {
	words := strings.Fields(strings.ToLower(query))
	if len(words) == 0 {
		return true
	}
	for _, f := range fields {
		lf := strings.ToLower(f)
		for _, w := range words {
			if strings.Contains(lf, w) {
				return true
			}
		}
	}
	return false
}

// validUUID is the check PostgreSQL's uuid type makes (hyphenated form).
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
