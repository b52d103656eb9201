package ident

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckName returns why s cannot be a group name or an id, or "". A name is
// shown to people who decide on it, so it may hold nothing that displays
// as something else or as nothing: control characters (Cc), format
// characters (Cf: zero-width spaces and joiners, bidirectional marks,
// embeddings, overrides and isolates, the byte-order mark, soft hyphens),
// line and paragraph separators, and invalid UTF-8.
func CheckName(s string) string {
	for i, r := range s {
		if r == utf8.RuneError && !validAt(s, i) {
			return "is not valid UTF-8"
		}
		if what := nameRuneClass(r); what != "" {
			return fmt.Sprintf("contains %s %U", what, r)
		}
	}
	return ""
}

// CheckText returns why s cannot be free text shown in reports (a display
// name), or "": it refuses control characters and the bidirectional
// embeddings, overrides and isolates that reorder what follows them, but
// allows the marks and joiners that text in some scripts and emoji need.
func CheckText(s string) string {
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) {
			return fmt.Sprintf("contains control character %U", r)
		}
		if isBidiControl(r) {
			return fmt.Sprintf("contains bidirectional control character %U", r)
		}
	}
	return ""
}

// nameRuneClass names the class of a rune CheckName refuses, or "".
func nameRuneClass(r rune) string {
	switch {
	case unicode.Is(unicode.Cc, r):
		return "control character"
	case isBidiControl(r), r == 0x200e, r == 0x200f, r == 0x061c:
		return "bidirectional control character"
	case (r >= 0x200b && r <= 0x200d) || r == 0x2060 || r == 0xfeff:
		return "zero-width character"
	case unicode.Is(unicode.Cf, r):
		return "format character"
	case r == 0x2028 || r == 0x2029:
		return "line separator"
	}
	return ""
}

// isBidiControl reports the embeddings, overrides and isolates
// (U+202A–U+202E, U+2066–U+2069).
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

func validAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r != utf8.RuneError || size > 1
}

// Printable returns s with each rune CheckName refuses written as a \u or
// \U escape, for quoting a refused name in an error, a log or a report
// without the reader's screen obeying it.
func Printable(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case nameRuneClass(r) == "":
			b.WriteRune(r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	return b.String()
}
