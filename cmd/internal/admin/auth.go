package admin

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
)

// private guards a page that names directory users (e-mail addresses,
// group membership). With a Token the request must carry it; without one
// the page is served only on a loopback listener and only to a loopback
// Host, which keeps a DNS-rebinding web page from reading it through a
// browser on the same machine.
func (h *Handler) private(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case h.Token != "":
			if !h.tokenOK(r, true) {
				unauthorized(w, true)
				return
			}
		case !h.Loopback:
			http.Error(w, r.URL.Path+" names directory users and is served on a non-loopback listener only with a token: "+
				"set admin.token or admin.token_file and send it as Authorization: Bearer <token>", http.StatusForbidden)
			return
		case !loopbackHost(r.Host):
			http.Error(w, "without admin.token this page answers only to a loopback Host (localhost, 127.0.0.1, [::1])", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// tokenOK checks the request's token in constant time: a bearer token,
// or with basic a Basic password (any user name), which lets a browser
// open the status page. POST endpoints take only a bearer token: a
// browser re-sends Basic credentials by itself, on any site's behalf.
func (h *Handler) tokenOK(r *http.Request, basic bool) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && basic {
		_, got, ok = r.BasicAuth()
	}
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(h.Token)) == 1
}

func unauthorized(w http.ResponseWriter, basic bool) {
	w.Header().Add("WWW-Authenticate", `Bearer realm="lightdash-sync"`)
	if basic {
		w.Header().Add("WWW-Authenticate", `Basic realm="lightdash-sync", charset="UTF-8"`)
	}
	http.Error(w, "unauthorized: send the admin token as Authorization: Bearer <token>", http.StatusUnauthorized)
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
