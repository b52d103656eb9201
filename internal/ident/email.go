package ident

import "errors"

// ErrEmailNotASCII is returned for an email that holds a byte outside
// printable ASCII: a non-ASCII local part, an internationalised domain, a
// control character.
var ErrEmailNotASCII = errors.New("email is not plain ASCII")

// NormalizeEmail returns e in the form in which emails are compared: ASCII
// white space trimmed, the letters A–Z lower-cased and nothing else changed.
//
// Unicode case folding is not used: it maps U+212A KELVIN SIGN to "k", so a
// directory entry "\u212Aate@example.com" would match kate@example.com's
// account. An email that is not printable ASCII is refused with
// ErrEmailNotASCII and matches no one. An empty e gives "" and no error.
func NormalizeEmail(e string) (string, error) {
	e = trimASCIISpace(e)
	upper := false
	for i := 0; i < len(e); i++ {
		c := e[i]
		if c < 0x20 || c >= 0x7f {
			return "", ErrEmailNotASCII
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return e, nil
	}
	b := []byte(e)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b), nil
}

// EmailKey is NormalizeEmail for use as a map key. A refused email is
// returned trimmed and otherwise unchanged: it then equals only the same
// bytes, never a normalised email (which is printable ASCII).
func EmailKey(e string) string {
	n, err := NormalizeEmail(e)
	if err != nil {
		return trimASCIISpace(e)
	}
	return n
}

// SameEmail reports whether a and b are one address under NormalizeEmail.
func SameEmail(a, b string) bool { return EmailKey(a) == EmailKey(b) }

func trimASCIISpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// ASCIIKey is the key of a value compared with ASCII case rules, as LDAP
// compares a memberUid (IA5): EmailKey's rule, so a lookalike such as
// U+212A KELVIN SIGN is not folded into an ASCII letter.
func ASCIIKey(s string) string { return EmailKey(s) }
