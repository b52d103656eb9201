// Package redact hides credentials written into URLs ("nats://user:secret@host",
// "nats://token@host") before a URL, or an error that may quote one, is
// printed, logged or returned. Every place that shows a configured URL goes
// through it.
package redact

import (
	"net/url"
	"strconv"
	"strings"
)

// Mask replaces a credential.
const Mask = "xxxxx"

// URL returns raw with its userinfo masked: a password becomes Mask, and a
// user without a password (which NATS takes as a token) becomes Mask too.
// A URL that does not parse is masked up to its last '@'.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.User == nil && u.Host == "" && u.Opaque == "" {
		return raw // a path (ldapi:///run/a@b), no authority to hold a credential
	}
	if err != nil || u.User == nil {
		return maskAuthority(raw)
	}
	if _, hasPass := u.User.Password(); hasPass {
		u.User = url.UserPassword(u.User.Username(), Mask)
	} else {
		u.User = url.User(Mask)
	}
	return u.String()
}

// URLs is URL applied to each of raws.
func URLs(raws []string) []string {
	out := make([]string, len(raws))
	for i, raw := range raws {
		out[i] = URL(raw)
	}
	return out
}

// maskAuthority masks the userinfo of raw found by userinfo, for URLs
// that url.Parse rejects or reads as opaque ("user:pass@host").
func maskAuthority(raw string) string {
	start, end, ok := userinfo(raw)
	if !ok {
		return raw
	}
	return raw[:start] + Mask + raw[end:]
}

// userinfo finds raw[start:end], everything after "scheme://" (if there
// is one) up to the last '@'. It does not stop at '/', '?' or '#': a
// password holding one, not percent-encoded, would end the authority
// there and go unmasked; masking too much is the safe mistake.
func userinfo(raw string) (start, end int, ok bool) {
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	auth := raw[start:]
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return 0, 0, false
	}
	return start, start + at, true
}

// Error returns err with the credentials of urls masked in its message, for
// errors from libraries that quote the URL they were given. errors.Is and
// errors.As still see err. A nil err stays nil.
func Error(err error, urls ...string) error {
	if err == nil {
		return nil
	}
	msg := String(err.Error(), urls...)
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}

// String masks in s every credential written into urls, in the forms a
// message may quote it: as written, percent-decoded, and Go-quoted.
func String(s string, urls ...string) string {
	for _, raw := range urls {
		for _, secret := range secrets(raw) {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	return s
}

// secrets lists the credential of raw (the password of its userinfo, or
// the user when there is no password: a token) in the forms a message may
// show it, longest first so a shorter form does not break up a longer one.
func secrets(raw string) []string {
	start, end, ok := userinfo(raw)
	if !ok {
		return nil
	}
	cred := raw[start:end]
	if i := strings.Index(cred, ":"); i >= 0 {
		cred = cred[i+1:]
	}
	if cred == "" {
		return nil
	}
	forms := []string{quoted(cred), cred}
	if dec, err := url.PathUnescape(cred); err == nil && dec != cred {
		forms = append(forms, quoted(dec), dec)
	}
	return forms
}

// quoted is s as %q writes it, without the quotes.
func quoted(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
