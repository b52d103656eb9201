package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// TestURLCredentialsNeverPrinted writes a NATS password (and an LDAP and a
// Lightdash one) into the URLs of the configuration, runs check and the
// commands that fail on it (bad URL, failed connection, wrong password),
// and greps everything printed (output, debug logs, errors) for them.
func TestURLCredentialsNeverPrinted(t *testing.T) {
	const (
		natsPass  = "nats-url-password-77"
		wrongPass = "wrong-url-password-55"
		otherPass = "other-url-password-33"
	)
	srv := natstest.RunServerWith(t, func(o *server.Options) { o.Username, o.Password = "sync", natsPass })
	ld := lightdashtest.NewServer()
	t.Cleanup(ld.Close)
	dir := t.TempDir()
	hostPort := strings.TrimPrefix(srv.ClientURL(), "nats://")
	natsURL := func(userinfo, hostPort string) string { return "nats://" + userinfo + "@" + hostPort }

	tests := []struct {
		name     string
		source   string // the sources: list
		ldURL    string
		wantCode int
	}{
		{"check passes", natsSourceAt(natsURL("sync:"+natsPass, hostPort)), ld.URL(), exitOK},
		{"wrong password", natsSourceAt(natsURL("sync:"+wrongPass, hostPort)), ld.URL(), exitFailure},
		{"token in url, server down", natsSourceAt(natsURL(otherPass, "127.0.0.1:1")), ld.URL(), exitFailure},
		{"unparsable nats url", natsSourceAt(natsURL("sync:"+natsPass, "127.0.0.1:bad")), ld.URL(), exitUsage},
		{"wrong nats scheme", natsSourceAt("http://sync:" + natsPass + "@127.0.0.1:4222"), ld.URL(), exitUsage},
		{"ldap url with password, server down", ldapSourceAt("ldap://cn=sync:" + otherPass + "@127.0.0.1:1"), ld.URL(), exitFailure},
		{"wrong ldap scheme", ldapSourceAt("ftp://cn=sync:" + otherPass + "@127.0.0.1:389"), ld.URL(), exitUsage},
		{"lightdash url with password", natsSourceAt(srv.ClientURL()), strings.Replace(ld.URL(), "://", "://admin:"+otherPass+"@", 1), exitUsage},
		{"wrong lightdash scheme", natsSourceAt(srv.ClientURL()), "ftp://admin:" + otherPass + "@127.0.0.1:1", exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeURLConfig(t, dir, tt.ldURL, ld.AdminToken(), tt.source)
			code, out, errOut := runMain(t, "check", "--config", cfg)
			if code != tt.wantCode {
				t.Fatalf("check exited %d, want %d:\n%s\n%s", code, tt.wantCode, out, errOut)
			}
			if code != exitUsage && !strings.Contains(errOut, `"level":"debug"`) {
				t.Fatalf("no debug logs in the output; the test would prove nothing:\n%s", errOut)
			}
			for _, secret := range []string{natsPass, wrongPass, otherPass} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("a password from a URL (%s) is printed:\n%s\n%s", secret, out, errOut)
				}
			}
		})
	}
}

func natsSourceAt(url string) string {
	return `
  - name: events
    type: nats
    nats:
      urls: ["` + url + `"]
      create_stream: true`
}

func ldapSourceAt(url string) string {
	return `
  - name: corp
    type: ldap
    ldap:
      urls: ["` + url + `"]
      bind_dn: cn=sync
      bind_password: x
      user_base_dn: ou=people
      group_base_dn: ou=groups`
}

func writeURLConfig(t *testing.T, dir, ldURL, token, sources string) string {
	t.Helper()
	cfg := `
log: {level: debug}
lightdash:
  url: ` + ldURL + `
  token: ` + token + `
  max_retries: 1
sources:` + sources + `
mapping:
  rules: [{name: all}]
state:
  path: ` + filepath.Join(dir, "state.json") + `
`
	p := filepath.Join(dir, "lightdash-sync.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
