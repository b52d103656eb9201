package sources

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The fast path for simple DNs gives what parsing and escaping give.
func TestNormalizeSimpleDNMatchesParser(t *testing.T) {
	slow := normalizeParsed
	cases := []string{"uid=Ann,ou=People,dc=example,dc=com", "CN=Sales-EU,OU=Groups,DC=corp", "cn=a.b_c@d,dc=x",
		"cn=x", "cn=,dc=x", "=x", "cn=a=b", "cn=a,", ",cn=a", "cn=a,,dc=x", "1cn=a", "c_n=a", "cn-1=a", "cn=#41",
		"cn=a b", "cn= a", "cn=a+sn=b", `cn=a\,b`, "cn=ä", "cn=a;dc=x", "2.5.4.3=x"}
	r := rand.New(rand.NewPCG(7, 8))
	types := []string{"cn", "OU", "dc", "uid", "c-n", "Cn1", "1cn", "c_n", "2.5.4.3", ""}
	const safe, hostile = "aZz09.-_@", "=,+ #\\;\"<>\xc3\xa4"
	for range 20000 {
		var b strings.Builder
		for i := range 1 + r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(types[r.IntN(len(types))])
			b.WriteByte('=')
			for range r.IntN(7) {
				if r.IntN(20) == 0 {
					b.WriteByte(hostile[r.IntN(len(hostile))])
				} else {
					b.WriteByte(safe[r.IntN(len(safe))])
				}
			}
		}
		cases = append(cases, b.String())
	}
	fast := 0
	for _, dn := range cases {
		got, ok := normalizeSimpleDN(dn)
		if !ok {
			continue
		}
		fast++
		if want := slow(dn); got != want {
			t.Errorf("normalizeSimpleDN(%q) = %q, the parser gives %q", dn, got, want)
		}
	}
	if fast < 1000 {
		t.Errorf("only %d of %d DNs took the fast path: the test checks too little", fast, len(cases))
	}
}

// BenchmarkNormalizeDN is one member DN as the LDAP source normalises
// 500,000 of them per full read: "parsed" is the full path every DN took
// before the fast path.
func BenchmarkNormalizeDN(b *testing.B) {
	const dn = "uid=User12345,ou=People,dc=example,dc=com"
	for _, bb := range []struct {
		name string
		f    func(string) string
	}{{"parsed", normalizeParsed}, {"NormalizeDN", NormalizeDN}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				_ = bb.f(dn)
			}
		})
	}
}
