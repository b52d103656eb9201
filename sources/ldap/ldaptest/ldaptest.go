// Package ldaptest runs a real, throwaway OpenLDAP slapd for tests,
// benchmarks and demos: back_mdb with the syncprov overlay (session log),
// the core/cosine/inetorgperson/nis schemas, a root DN and a non-root
// reader, on a free loopback port, seeded with slapadd.
//
// StartSlapd is the core and does not need package testing; Start is the
// thin test wrapper that skips (or, with CI=true, fails) when slapd is not
// installed and stops the server at the end of the test.
package ldaptest

import (
	"context"
	"errors"
	"os"
	"sort"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// Server is a slapd owned by one test.
type Server struct {
	*Process
	t testing.TB
}

// Option adjusts the Config used by Start.
type Option func(*Config)

// WithSeed adds LDIF to load after the base entries.
func WithSeed(ldif []byte) Option {
	return func(c *Config) { c.Seed = append(append(c.Seed, '\n'), ldif...) }
}

// WithSeedFile adds an LDIF fixture file to load after the base entries.
// A missing file fails the test when Start runs.
func WithSeedFile(path string) Option {
	return func(c *Config) {
		b, err := os.ReadFile(path)
		if err != nil {
			b = []byte("# ldaptest: cannot read " + path + ": " + err.Error() + "\nthis is not ldif\n")
		}
		c.Seed = append(append(c.Seed, '\n'), b...)
	}
}

// WithSizeLimit caps what non-root binds may read per search.
func WithSizeLimit(n int) Option { return func(c *Config) { c.SizeLimit = n } }

// WithSessionLog sets the syncprov session log size.
func WithSessionLog(n int) Option { return func(c *Config) { c.SessionLog = n } }

// WithNoPresent sets syncprov-nopresent. (slapd 2.5 then still answers a
// stale cookie with a full refresh rather than e-syncRefreshRequired.)
func WithNoPresent() Option { return func(c *Config) { c.NoPresent = true } }

// WithTLS generates a test CA and server certificate and turns on StartTLS
// and an ldaps:// listener. The CA file is Server.TLS().CAFile.
func WithTLS() Option { return func(c *Config) { c.LDAPS = true; c.TLS = &TLSFiles{} } }

// RequireSlapd skips the test when slapd is not installed, or fails it when
// the environment variable CI is "true", where a missing slapd is a broken
// build rather than a developer machine without it.
func RequireSlapd(t testing.TB) {
	t.Helper()
	if Installed() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v; CI=true, so this is a failure", ErrSlapdMissing)
	}
	t.Skipf("%v; skipping (set CI=true to make this a failure)", ErrSlapdMissing)
}

// Start runs a slapd for the test and stops it by PID at cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	RequireSlapd(t)
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	if cfg.TLS != nil && cfg.TLS.CAFile == "" {
		files, err := GenerateTLS(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = files
	}
	p, err := StartSlapd(context.Background(), dir, cfg)
	if errors.Is(err, ErrSlapdMissing) {
		RequireSlapd(t)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return &Server{Process: p, t: t}
}

// BindDN is the root DN; Password its password.
func (s *Server) BindDN() string   { return s.cfg.RootDN }
func (s *Server) Password() string { return s.cfg.RootPassword }

// ReaderDN is a non-root DN that size limits apply to; ReaderPassword its password.
func (s *Server) ReaderDN() string       { return s.cfg.ReaderDN }
func (s *Server) ReaderPassword() string { return s.cfg.ReaderPassword }

// Suffix is the database suffix.
func (s *Server) Suffix() string { return s.cfg.Suffix }

// TLS names the generated CA and server files, or nil.
func (s *Server) TLS() *TLSFiles { return s.cfg.TLS }

// Restart restarts slapd, failing the test when it does not come back.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.Process.Restart(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

// Conn returns a connection bound as root, closed at cleanup.
func (s *Server) Conn() *ldap.Conn {
	s.t.Helper()
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		s.t.Fatalf("dial %s: %v", s.URL(), err)
	}
	s.t.Cleanup(func() { c.Close() })
	if err := c.Bind(s.BindDN(), s.Password()); err != nil {
		s.t.Fatalf("bind as root: %v", err)
	}
	return c
}

func (s *Server) do(what string, f func(*ldap.Conn) error) {
	s.t.Helper()
	c := s.Conn()
	defer c.Close()
	if err := f(c); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

// Add creates an entry; attribute names are sorted for a stable request.
func (s *Server) Add(dn string, attrs map[string][]string) {
	s.t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		req.Attribute(n, attrs[n])
	}
	s.do("add "+dn, func(c *ldap.Conn) error { return c.Add(req) })
}

// Replace sets attributes of an entry to the given values.
func (s *Server) Replace(dn string, attrs map[string][]string) {
	s.t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	for n, v := range attrs {
		req.Replace(n, v)
	}
	s.Modify(req)
}

// Modify applies a modify request.
func (s *Server) Modify(req *ldap.ModifyRequest) {
	s.t.Helper()
	s.do("modify "+req.DN, func(c *ldap.Conn) error { return c.Modify(req) })
}

// Delete removes an entry.
func (s *Server) Delete(dn string) {
	s.t.Helper()
	s.do("delete "+dn, func(c *ldap.Conn) error { return c.Del(ldap.NewDelRequest(dn, nil)) })
}

// Rename gives an entry a new RDN (deleting the old RDN value), optionally
// under a new parent ("" keeps the parent).
func (s *Server) Rename(dn, newRDN, newSuperior string) {
	s.t.Helper()
	s.do("rename "+dn, func(c *ldap.Conn) error {
		return c.ModifyDN(ldap.NewModifyDNRequest(dn, newRDN, true, newSuperior))
	})
}

// EntryUUID reads an entry's entryUUID.
func (s *Server) EntryUUID(dn string) string {
	s.t.Helper()
	var id string
	s.do("read entryUUID of "+dn, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"entryUUID"}, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) != 1 {
			return errors.New("entry not found")
		}
		id = res.Entries[0].GetAttributeValue("entryUUID")
		return nil
	})
	return id
}
