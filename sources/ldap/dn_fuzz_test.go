package ldap

import (
	"slices"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// dnSeeds are DNs with everything RFC 4514 lets a value hold.
var dnSeeds = []string{
	"CN=Sales, OU=Groups,DC=corp,DC=example",
	`cn=alice\,ou=people,dc=x`,
	"cn=alice,ou=people,dc=x",
	`cn=a\+b+uid=c,dc=x`,
	`uid=c+cn=a\+b,dc=x`,
	`cn=\#hash\ ,dc=x`,
	`cn=\00nul\0a,dc=x`,
	`cn=*)(uid=*))(|(uid=*,dc=x`,
	"cn=مبيعات,dc=x",
	"cn=Cafe\u0301,dc=x",
	"cn=\u202etxt.exe,dc=x",
	`cn=a\\,dc=x`,
	`cn=x\,ou=groups,dc=x`,
	"ou=groups,dc=x",
	"",
	"not a dn",
}

// lowered is what normDN is meant to preserve of a DN: per RDN, the
// sorted lower-cased type/value pairs.
func lowered(d *goldap.DN) [][]string {
	out := make([][]string, len(d.RDNs))
	for i, r := range d.RDNs {
		for _, a := range r.Attributes {
			out[i] = append(out[i], strings.ToLower(a.Type)+"\x00"+strings.ToLower(a.Value))
		}
		slices.Sort(out[i])
	}
	return out
}

// validTypes reports whether every attribute type of d is one LDAP allows.
func validTypes(d *goldap.DN) bool {
	for _, r := range d.RDNs {
		for _, a := range r.Attributes {
			if !sources.ValidAttributeType(a.Type) {
				return false
			}
		}
	}
	return true
}

func equalRDNs(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// FuzzNormDN: normalising never panics, is idempotent, parses back to the
// same DN, and two DNs normalise alike exactly when they are the same DN
// up to case; underDN holds exactly when one DN's RDNs end the other's.
func FuzzNormDN(f *testing.F) {
	for _, a := range dnSeeds {
		for _, b := range []string{"ou=groups,dc=x", "cn=alice,ou=people,dc=x", a} {
			f.Add(a, b)
		}
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		na, nb := normDN(a), normDN(b)
		pa, errA := goldap.ParseDN(a)
		pb, errB := goldap.ParseDN(b)
		if errA != nil {
			if errB == nil && na == nb {
				t.Fatalf("unparsable %q and DN %q normalise alike: %q", a, b, na)
			}
			return
		}
		if !validTypes(pa) {
			if !strings.HasPrefix(na, "\\invalid:") {
				t.Fatalf("normDN(%q) = %q; a DN with an attribute type that is not a descriptor or OID must normalise as unparsable", a, na)
			}
			return
		}
		back, err := goldap.ParseDN(na)
		if err != nil {
			t.Fatalf("normDN(%q) = %q, which does not parse: %v", a, na, err)
		}
		if !equalRDNs(lowered(back), lowered(pa)) {
			t.Fatalf("normDN(%q) = %q parses to %q, want %q", a, na, lowered(back), lowered(pa))
		}
		if again := normDN(na); again != na {
			t.Fatalf("normDN is not idempotent: %q -> %q -> %q", a, na, again)
		}
		if errB != nil {
			return
		}
		la, lb := lowered(pa), lowered(pb)
		if same := equalRDNs(la, lb); (na == nb) != same {
			t.Fatalf("normDN(%q) = %q, normDN(%q) = %q; equal %v, but the DNs are the same: %v", a, na, b, nb, na == nb, same)
		}
		below := len(la) >= len(lb) && equalRDNs(la[len(la)-len(lb):], lb)
		if got := underDN(na, nb); got != below {
			t.Fatalf("underDN(%q, %q) = %v, want %v", na, nb, got, below)
		}
	})
}

// equalities lists the attribute=value assertions of a compiled filter,
// and whether it holds nothing but "&", "|" and equality matches.
func equalities(p *ber.Packet) (pairs []string, plain bool) {
	switch p.Tag {
	case goldap.FilterAnd, goldap.FilterOr:
		plain = true
		for _, c := range p.Children {
			sub, ok := equalities(c)
			pairs = append(pairs, sub...)
			plain = plain && ok
		}
		return pairs, plain
	case goldap.FilterEqualityMatch:
		return []string{p.Children[0].Data.String() + "=" + p.Children[1].Data.String()}, true
	}
	return nil, false
}

// FuzzFilters: every filter built from directory data or configuration
// compiles, and asserts exactly the values it was built from: no value
// can add a wildcard, an OR or a second condition.
func FuzzFilters(f *testing.F) {
	for _, s := range []string{"*", ")(uid=*", `\`, "\x00", `*)(|(objectClass=*`, "12345678-9abc-def0-0123-456789abcdef", "é\u202e", strings.Repeat("(", 10000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		check := func(what, filter string, want ...string) {
			t.Helper()
			p, err := goldap.CompileFilter(filter)
			if err != nil {
				t.Fatalf("%s: filter %q from %q does not compile: %v", what, filter, v, err)
			}
			got, plain := equalities(p)
			if !plain || !slices.Equal(got, want) {
				t.Fatalf("%s: filter %q asserts %q (plain %v), want exactly %q", what, filter, got, plain, want)
			}
		}
		id, err := decoder{cfg: &Config{IDAttribute: "entryUUID"}}.idFilter(v)
		if err != nil {
			t.Fatalf("entryUUID filter for %q: %v", v, err)
		}
		check("idFilter", id, "entryUUID="+v)

		if guid, err := (decoder{cfg: &Config{IDAttribute: "objectGUID"}}).idFilter(v); err == nil {
			raw, _ := guidBytes(v)
			check("objectGUID idFilter", guid, "objectGUID="+string(raw))
		}

		check("classFilter", classFilter([]string{v, "groupOfNames"}), "objectClass="+v, "objectClass=groupOfNames")

		dn := (&goldap.DN{RDNs: []*goldap.RelativeDN{
			{Attributes: []*goldap.AttributeTypeAndValue{{Type: "cn", Value: v}}},
			{Attributes: []*goldap.AttributeTypeAndValue{{Type: "ou", Value: "groups"}}},
		}}).String()
		rf, ok := rdnFilter(dn)
		if !ok {
			t.Fatalf("rdnFilter: DN %q built from %q does not parse", dn, v)
		}
		p, _ := goldap.ParseDN(dn)
		check("rdnFilter", rf, "cn="+p.RDNs[0].Attributes[0].Value)
	})
}
