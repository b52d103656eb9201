package sources

import (
	"errors"
	"sort"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// NormalizeDN makes distinguished names comparable: parsed (RFC 4514),
// attribute types and values lower cased, the values of a multi-valued RDN
// sorted, no spaces between RDNs, and every value escaped again. The
// escaping matters: without it "cn=alice\,ou=people,dc=x" (one RDN whose
// value holds a comma) and "cn=alice,ou=people,dc=x" would compare equal,
// and an entry someone can name could stand in for another. An
// unparsable DN is only lower cased and marked so that it equals no
// parsable one. The worker only parses DNs here (for mapping rules); the
// LDAP source uses the same function so both sides agree.
func NormalizeDN(dn string) string {
	if n, ok := normalizeSimpleDN(dn); ok {
		return n
	}
	return normalizeParsed(dn)
}

// normalizeParsed is NormalizeDN by the RFC 4514 parser, for any DN.
func normalizeParsed(dn string) string {
	p, err := goldap.ParseDN(dn)
	if err == nil {
		for _, r := range p.RDNs {
			for _, a := range r.Attributes {
				if !ValidAttributeType(a.Type) {
					err = errInvalidType
				}
			}
		}
	}
	if err != nil {
		return "\\invalid:" + strings.ToLower(strings.TrimSpace(dn))
	}
	rdns := make([]string, len(p.RDNs))
	for i, r := range p.RDNs {
		parts := make([]string, len(r.Attributes))
		for j, a := range r.Attributes {
			parts[j] = (&goldap.AttributeTypeAndValue{Type: strings.ToLower(a.Type), Value: strings.ToLower(a.Value)}).String()
		}
		sort.Strings(parts)
		rdns[i] = strings.Join(parts, "+")
	}
	return strings.Join(rdns, ",")
}

// normalizeSimpleDN is NormalizeDN for the DNs directories are made of:
// single-valued RDNs whose type is a descriptor and whose value holds only
// letters, digits and ".-_@", with no spaces. For those, parsing and
// escaping again change nothing but case, so the lower-cased DN is the
// answer. ok is false for anything else, which takes the full path. The
// LDAP source normalises every member DN (500,000 at directory scale), and
// the parser cost most of its decode. TestNormalizeSimpleDNMatchesParser
// holds it to the full path.
func normalizeSimpleDN(dn string) (string, bool) {
	if dn == "" {
		return "", false
	}
	start, eq := 0, -1
	for i := 0; i <= len(dn); i++ {
		if i == len(dn) || dn[i] == ',' {
			// The RDN dn[start:i]: type dn[start:eq], value dn[eq+1:i].
			if eq <= start || eq == i-1 || !isAlpha(dn[start]) {
				return "", false
			}
			for j := start + 1; j < eq; j++ {
				if c := dn[j]; !isAlpha(c) && !isDigit(c) && c != '-' {
					return "", false
				}
			}
			start, eq = i+1, -1
			continue
		}
		switch c := dn[i]; {
		case c == '=':
			if eq >= 0 {
				return "", false
			}
			eq = i
		case isAlpha(c), isDigit(c), c == '.', c == '-', c == '_', c == '@':
		default:
			return "", false
		}
	}
	return strings.ToLower(dn), true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// WithinDN reports whether the normalised DN n is nbase or below it (both
// from NormalizeDN). A plain suffix test is not enough: in
// "cn=x\,ou=groups,dc=x" the text ",ou=groups,dc=x" follows an escaped
// comma, inside a value.
func WithinDN(n, nbase string) bool {
	if nbase == "" || n == nbase {
		return true
	}
	if !strings.HasSuffix(n, ","+nbase) {
		return false
	}
	backslashes := 0
	for i := len(n) - len(nbase) - 2; i >= 0 && n[i] == '\\'; i-- {
		backslashes++
	}
	return backslashes%2 == 0
}

var errInvalidType = errors.New("attribute type is not a descriptor or OID")

// ValidAttributeType reports whether t is an LDAP attribute type as RFC
// 4512 spells one: a descriptor (ASCII letters, digits and hyphens) or a
// numeric OID. go-ldap parses others but cannot write them back, so a DN
// with one is treated as unparsable.
func ValidAttributeType(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
