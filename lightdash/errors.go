package lightdash

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors for errors.Is. Errors returned by the server are
// *APIError values whose Is method maps them onto these; ErrInvalidUUID and
// ErrNameTooLong are found by the client before anything is sent, because the
// server answers a bare 500 for both (the value reaches PostgreSQL unchecked).
var (
	ErrNotFound         = errors.New("not found")
	ErrAlreadyExists    = errors.New("already exists")
	ErrInvalidParameter = errors.New("invalid parameter")
	ErrForbidden        = errors.New("forbidden")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrFeatureDisabled  = errors.New("lightdash user groups feature is disabled")
	ErrRateLimited      = errors.New("rate limited")
	ErrServer           = errors.New("lightdash server error")
	ErrInvalidUUID      = errors.New("invalid uuid")
	ErrNameTooLong      = errors.New("group name longer than 255 characters")
)

// featureDisabledMessage is what Lightdash says when the user-groups feature
// flag is off (GroupService.isGroupServiceEnabled).
const featureDisabledMessage = "Group service is not enabled"

// FeatureDisabledHint tells an operator how to turn groups on. It is part of
// the error text of every ErrFeatureDisabled error.
const FeatureDisabledHint = "enable groups on the Lightdash instance: set LIGHTDASH_ENABLE_FEATURE_FLAGS=user-groups-enabled (or GROUPS_ENABLED=true on older self-hosted releases)"

// APIError is an error answer from Lightdash, parsed from its envelope
// {"status":"error","error":{"statusCode","name","message","data"}}. Bodies
// that are not the envelope (a plain-text 401, a proxy's HTML 502) still give
// an APIError with the status code and a short excerpt as Message.
type APIError struct {
	StatusCode int
	Name       string
	Message    string
	Data       json.RawMessage
}

// Error implements error. It never contains request headers, so it never
// contains the token.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lightdash: %d", e.StatusCode)
	if e.Name != "" {
		b.WriteString(" " + e.Name)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	switch {
	case e.isFeatureDisabled():
		b.WriteString(" (" + FeatureDisabledHint + ")")
	case e.StatusCode == http.StatusUnauthorized:
		b.WriteString(" (check the personal access token: it may be wrong, expired or belong to a deactivated user)")
	}
	return b.String()
}

func (e *APIError) isFeatureDisabled() bool {
	return e.StatusCode == http.StatusForbidden && strings.Contains(e.Message, featureDisabledMessage)
}

// Is maps the server's answer onto the package sentinels, so callers write
// errors.Is(err, lightdash.ErrNotFound) instead of comparing status codes.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrAlreadyExists:
		return e.StatusCode == http.StatusConflict
	case ErrInvalidParameter:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrFeatureDisabled:
		return e.isFeatureDisabled()
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500
	}
	return false
}

// maxErrorExcerpt bounds how much of a non-JSON error body ends up in
// Message; maxErrorMessage bounds the message of an error envelope.
const (
	maxErrorExcerpt = 200
	maxErrorMessage = 1000
)

// printable replaces control characters and invalid UTF-8 with spaces or
// U+FFFD, so a hostile or broken server cannot forge log lines or terminal
// escapes through an error message.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\ufffd"))
}

// errorObject is the "error" member of Lightdash's error envelope.
type errorObject struct {
	StatusCode int             `json:"statusCode"`
	Name       string          `json:"name"`
	Message    string          `json:"message"`
	Data       json.RawMessage `json:"data"`
}

func (e *errorObject) apiError(status int) *APIError {
	return &APIError{StatusCode: status, Name: printable(clip(e.Name, 100)),
		Message: printable(clip(e.Message, maxErrorMessage)), Data: e.Data}
}

// parseAPIError turns a non-2xx answer into an *APIError. It never fails:
// whatever the body is, the caller gets the status code and something readable.
func parseAPIError(status int, body []byte) *APIError {
	var env struct {
		Status string       `json:"status"`
		Error  *errorObject `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err == nil && env.Error != nil {
		return env.Error.apiError(status)
	}
	msg := printable(strings.TrimSpace(string(body)))
	if len(msg) > maxErrorExcerpt {
		msg = msg[:maxErrorExcerpt]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
		msg += "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{StatusCode: status, Message: msg}
}

// ErrRedirect matches a *RedirectError.
var ErrRedirect = errors.New("lightdash answered a redirect")

// RedirectError is a 3xx answer. The client follows no redirect: the token
// goes only to BaseURL, and a write redirected and replayed as a GET cannot
// pass for success. It is permanent; the operator fixes the URL.
type RedirectError struct {
	StatusCode int
	// Location is where the server pointed, resolved against the request
	// and without user info, query or fragment (they may carry secrets);
	// empty when the answer had none.
	Location string
}

// Error implements error.
func (e *RedirectError) Error() string {
	to := "with no Location"
	if e.Location != "" {
		to = "to " + e.Location
	}
	return fmt.Sprintf("lightdash: %d %s redirect %s: redirects are not followed; set the Lightdash URL to the address it answers on",
		e.StatusCode, http.StatusText(e.StatusCode), to)
}

// Is lets errors.Is(err, ErrRedirect) match.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// redirectError builds the error for a 3xx answer to resp.
func redirectError(resp *http.Response) *RedirectError {
	e := &RedirectError{StatusCode: resp.StatusCode}
	loc, err := resp.Location()
	switch {
	case errors.Is(err, http.ErrNoLocation):
	case err != nil:
		e.Location = "(an unparseable Location)"
	default:
		loc.User, loc.RawQuery, loc.ForceQuery, loc.Fragment, loc.RawFragment = nil, "", false, "", ""
		e.Location = printable(clip(loc.String(), 300))
	}
	return e
}
