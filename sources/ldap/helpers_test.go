package ldap

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

const (
	people = "ou=people,dc=example,dc=com"
	groups = "ou=groups,dc=example,dc=com"
)

func fixture(t testing.TB, name string) string {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "ldap", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return p
}

// startDirectory runs slapd seeded with testdata/ldap/directory.ldif.
func startDirectory(t testing.TB, opts ...ldaptest.Option) *ldaptest.Server {
	t.Helper()
	return ldaptest.Start(t, append([]ldaptest.Option{ldaptest.WithSeedFile(fixture(t, "directory.ldif"))}, opts...)...)
}

// baseConfig reads srv as its non-root reader.
func baseConfig(srv *ldaptest.Server) Config {
	return Config{
		Name:         "corp",
		URLs:         []string{srv.URL()},
		BindDN:       srv.ReaderDN(),
		BindPassword: srv.ReaderPassword(),
		GroupBaseDN:  groups,
		UserBaseDN:   people,
		ReconnectMin: 20_000_000, // 20ms: tests restart slapd under the watcher
		ReconnectMax: 200_000_000,
	}
}

func newSource(t testing.TB, cfg Config) *Source {
	t.Helper()
	var log *zap.Logger
	if os.Getenv("LDAP_TEST_LOG") != "" {
		log, _ = zap.NewDevelopment()
	}
	s, err := New(cfg, nil, log, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func groupByName(snap *sources.Snapshot, name string) *sources.DirGroup {
	for i := range snap.Groups {
		if snap.Groups[i].Name == name {
			return &snap.Groups[i]
		}
	}
	return nil
}

func userIDsByUID(srv *ldaptest.Server, uids ...string) []string {
	var out []string
	for _, u := range uids {
		out = append(out, srv.EntryUUID("uid="+u+","+people))
	}
	return out
}
