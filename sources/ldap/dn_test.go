package ldap

import "testing"

// TestNormDNKeepsEscapes: DNs that differ only in whether a comma, plus or
// equals sign is escaped are different entries and must not be confused,
// neither as members nor when deciding what lies under a base DN.
func TestNormDNKeepsEscapes(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"CN=Alice, OU=People,DC=x", "cn=alice,ou=people,dc=x", true},
		{`cn=a+uid=b,dc=x`, `uid=b+cn=a,dc=x`, true},
		{`cn=alice\,ou=people,dc=x`, "cn=alice,ou=people,dc=x", false},
		{`cn=a\+uid=b,dc=x`, `cn=a+uid=b,dc=x`, false},
		{`cn=a\\,dc=x`, `cn=a\,dc=x`, false},
		{`cn=\ lead,dc=x`, `cn=lead,dc=x`, false},
		{"not a dn", "not a dn", true},
		{"cn=x,dc=x", "not a dn", false},
	}
	for _, tt := range tests {
		if got := normDN(tt.a) == normDN(tt.b); got != tt.same {
			t.Errorf("normDN(%q) = %q, normDN(%q) = %q: equal %v, want %v", tt.a, normDN(tt.a), tt.b, normDN(tt.b), got, tt.same)
		}
	}
	under := []struct {
		dn, base string
		want     bool
	}{
		{"cn=sales,ou=groups,dc=x", "ou=groups,dc=x", true},
		{"ou=groups,dc=x", "ou=groups,dc=x", true},
		{`cn=evil\,ou=groups,dc=x`, "ou=groups,dc=x", false},
		{`cn=evil\\,ou=groups,dc=x`, "ou=groups,dc=x", true}, // the value ends in a backslash
		{"cn=sales,ou=othergroups,dc=x", "ou=groups,dc=x", false},
	}
	for _, tt := range under {
		if got := underDN(normDN(tt.dn), normDN(tt.base)); got != tt.want {
			t.Errorf("underDN(%q, %q) = %v, want %v", normDN(tt.dn), normDN(tt.base), got, tt.want)
		}
	}
}
