package ldaptest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

func count(t *testing.T, c *ldap.Conn, base, filter string) int {
	t.Helper()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"dn"}, nil), 100)
	if err != nil {
		t.Fatalf("search %s: %v", filter, err)
	}
	return len(res.Entries)
}

func TestStartSeedRestartAndHelpers(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.WithSeed([]byte(`dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
mail: alice@example.com
`)))
	c := s.Conn()
	if got := count(t, c, s.Suffix(), "(uid=alice)"); got != 1 {
		t.Fatalf("seeded alice: got %d entries, want 1", got)
	}
	id := s.EntryUUID("uid=alice,ou=people,dc=example,dc=com")
	if id == "" {
		t.Fatal("slapadd did not give alice an entryUUID")
	}
	s.Add("cn=g,ou=groups,dc=example,dc=com", map[string][]string{
		"objectClass": {"groupOfNames"}, "cn": {"g"}, "member": {"uid=alice,ou=people,dc=example,dc=com"}})
	s.Rename("uid=alice,ou=people,dc=example,dc=com", "uid=alice2", "")
	if got := s.EntryUUID("uid=alice2,ou=people,dc=example,dc=com"); got != id {
		t.Fatalf("entryUUID after rename: got %s, want %s", got, id)
	}
	pid := s.PID()
	s.Restart()
	if s.PID() == pid || s.PID() == 0 {
		t.Fatalf("restart: pid %d, before %d", s.PID(), pid)
	}
	s.Replace("cn=g,ou=groups,dc=example,dc=com", map[string][]string{"description": {"after restart"}})
	s.Delete("cn=g,ou=groups,dc=example,dc=com")
	if got := count(t, s.Conn(), s.Suffix(), "(cn=g)"); got != 0 {
		t.Fatalf("after delete: got %d entries, want 0", got)
	}
	s.Stop()
	if _, err := ldap.DialURL(s.URL()); err == nil {
		t.Fatal("slapd still answers after Stop")
	}
}

func TestReaderIsSizeLimited(t *testing.T) {
	var ldif strings.Builder
	for i := 0; i < 30; i++ {
		ldif.WriteString("dn: cn=u" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ",ou=people,dc=example,dc=com\nobjectClass: person\ncn: x\nsn: x\n\n")
	}
	s := ldaptest.Start(t, ldaptest.WithSizeLimit(10), ldaptest.WithSeed([]byte(ldif.String())))
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.ReaderDN(), s.ReaderPassword()); err != nil {
		t.Fatal(err)
	}
	_, err = c.SearchWithPaging(ldap.NewSearchRequest("ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree,
		ldap.NeverDerefAliases, 0, 0, false, "(objectClass=person)", []string{"dn"}, nil), 5)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Fatalf("paged search past the limit: got %v, want size limit exceeded", err)
	}
}

func TestTLS(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.WithTLS())
	pem, err := os.ReadFile(s.TLS().CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(cfg); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	c2, err := ldap.DialURL(s.LDAPSURL(), ldap.DialWithTLSConfig(cfg))
	if err != nil {
		t.Fatalf("ldaps: %v", err)
	}
	defer c2.Close()
	if err := c2.Bind(s.BindDN(), s.Password()); err != nil {
		t.Fatalf("bind over ldaps: %v", err)
	}
}

func TestBadConfigIsReadable(t *testing.T) {
	ldaptest.RequireSlapd(t)
	_, err := ldaptest.StartSlapd(context.Background(), t.TempDir(), ldaptest.Config{SchemaDir: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "slaptest") {
		t.Fatalf("got %v, want a slaptest error", err)
	}
}
