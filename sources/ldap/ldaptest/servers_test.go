package ldaptest

import (
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestMain(m *testing.M) { Main(m) }

func supportedControls(t *testing.T, c *ldap.Conn) map[string]bool {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"supportedControl"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read root DSE: %v", err)
	}
	out := map[string]bool{}
	for _, v := range res.Entries[0].GetAttributeValues("supportedControl") {
		out[v] = true
	}
	return out
}

// TestSamba checks what the tests of the LDAP source rely on: an AD domain
// controller on loopback that answers over LDAPS, offers DirSync, and
// keeps Samba's default of refusing simple binds over plain LDAP.
func TestSamba(t *testing.T) {
	s := SharedSamba(t)
	c, err := s.Dial()
	if err != nil {
		t.Fatalf("bind over LDAPS: %v", err)
	}
	defer c.Close()
	if !supportedControls(t, c)[ldap.ControlTypeDirSync] {
		t.Error("root DSE does not advertise DirSync")
	}
	plain, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatalf("dial %s: %v", s.URL(), err)
	}
	defer plain.Close()
	err = plain.Bind(SambaAdminDN, SambaPassword)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		t.Errorf("simple bind over plain LDAP: got %v, want strong authentication required", err)
	}
}

// Test389DS checks the instance answers and offers syncrepl (the Content
// Synchronization plugin is on).
func Test389DS(t *testing.T) {
	d := Shared389DS(t)
	c, err := d.Dial()
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	defer c.Close()
	if !supportedControls(t, c)["1.3.6.1.4.1.4203.1.9.1.1"] {
		t.Error("root DSE does not advertise the syncrepl control")
	}
}
