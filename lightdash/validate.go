package lightdash

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest group name Lightdash stores (varchar(255));
// a longer one fails with a bare 500.
const MaxNameLength = 255

// ValidUUID reports whether s is a hyphenated hex UUID (any version, either
// case). Lightdash passes uuids to PostgreSQL unchecked and answers 500 for a
// malformed one, so the client checks first.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
				return false
			}
		}
	}
	return true
}

func checkUUID(what, s string) error {
	if !ValidUUID(s) {
		return fmt.Errorf("%s %q: %w", what, s, ErrInvalidUUID)
	}
	return nil
}

// TrimName trims a group name exactly as Lightdash does: JavaScript's
// String.prototype.trim, which differs from strings.TrimSpace in two runes.
// It also strips U+FEFF (byte-order mark) and keeps U+0085 (NEL). A sync that
// plans with strings.TrimSpace would want "\uFEFFSales" while Lightdash
// stores "Sales", and rename it on every run.
func TrimName(name string) string {
	return strings.TrimFunc(name, func(r rune) bool {
		return r == '\uFEFF' || (r != '\u0085' && unicode.IsSpace(r))
	})
}

// NormalizeName trims a group name the way Lightdash does and checks it fits.
// An empty name is refused: Lightdash would store "" on create and silently
// ignore it on rename, neither of which a sync wants.
func NormalizeName(name string) (string, error) {
	n := TrimName(name)
	if n == "" {
		return "", fmt.Errorf("group name %q is empty after trimming: %w", name, ErrInvalidParameter)
	}
	if utf8.RuneCountInString(n) > MaxNameLength {
		return "", fmt.Errorf("group name of %d characters: %w", utf8.RuneCountInString(n), ErrNameTooLong)
	}
	return n, nil
}

// normalizeMembers checks every uuid and drops duplicates (keeping the first
// occurrence): a duplicate makes Lightdash reject a whole PATCH with 400.
// Uuids are compared lowercased, as PostgreSQL compares them.
func normalizeMembers(uuids []string) ([]string, error) {
	out := make([]string, 0, len(uuids))
	seen := make(map[string]struct{}, len(uuids))
	for _, u := range uuids {
		if err := checkUUID("member uuid", u); err != nil {
			return nil, err
		}
		k := strings.ToLower(u)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, k)
	}
	return out, nil
}

type memberRef struct {
	UserUUID string `json:"userUuid"`
}

func memberRefs(uuids []string) []memberRef {
	refs := make([]memberRef, len(uuids))
	for i, u := range uuids {
		refs[i] = memberRef{UserUUID: u}
	}
	return refs
}
