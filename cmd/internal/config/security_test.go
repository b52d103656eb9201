package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secureBase is a configuration that loads; each case below changes one
// source or the Lightdash URL in it.
func secureDoc(lightdashURL, source string) string {
	return `
lightdash: {url: "` + lightdashURL + `", token: "${LIGHTDASH_TOKEN}"}
sources:
` + source + `
mapping: {rules: [{name: all}]}
`
}

const ldapSource = `
  - name: corp
    type: ldap
    ldap:
      bind_dn: cn=sync
      bind_password: ${LDAP_PASSWORD}
      user_base_dn: ou=people
      group_base_dn: ou=groups
`

func natsSource(extra string) string {
	return `
  - name: events
    type: nats
    nats:
` + extra
}

// TestPlainTextNeedsOptIn: a plain-text connection that would carry a
// secret across the network is refused unless the operator opts in, for
// each of Lightdash, LDAP and NATS; loopback and encrypted URLs need no
// opt-in.
func TestPlainTextNeedsOptIn(t *testing.T) {
	const https = "https://ld.example.com"
	tests := []struct {
		name    string
		doc     string
		wantKey string // "" means it must load
	}{
		{"lightdash http remote", secureDoc("http://ld.example.com", ldapSource+"      urls: [ldaps://ldap.example.com]"), "lightdash.url"},
		{"lightdash http remote opted in", strings.Replace(secureDoc("http://ld.example.com", ldapSource+"      urls: [ldaps://ldap.example.com]"), `token: "${LIGHTDASH_TOKEN}"`, `token: "${LIGHTDASH_TOKEN}", allow_insecure_http: true`, 1), ""},
		{"lightdash http loopback", secureDoc("http://127.0.0.1:8080", ldapSource+"      urls: [ldaps://ldap.example.com]"), ""},
		{"lightdash http localhost", secureDoc("http://localhost:8080", ldapSource+"      urls: [ldaps://ldap.example.com]"), ""},
		{"lightdash http ipv6 loopback", secureDoc("http://[::1]:8080", ldapSource+"      urls: [ldaps://ldap.example.com]"), ""},

		{"ldap remote", secureDoc(https, ldapSource+"      urls: [ldap://ldap.example.com]"), "sources[0].ldap.urls[0]"},
		{"ldap remote second url", secureDoc(https, ldapSource+"      urls: [ldaps://a.example.com, ldap://b.example.com]"), "sources[0].ldap.urls[1]"},
		{"ldap remote opted in", secureDoc(https, ldapSource+"      urls: [ldap://ldap.example.com]\n      allow_insecure: true"), ""},
		{"ldap remote start_tls", secureDoc(https, ldapSource+"      urls: [ldap://ldap.example.com]\n      start_tls: true"), ""},
		{"ldaps remote", secureDoc(https, ldapSource+"      urls: [ldaps://ldap.example.com]"), ""},
		{"ldap loopback", secureDoc(https, ldapSource+"      urls: [ldap://127.0.0.1:389]"), ""},
		{"ldapi socket", secureDoc(https, ldapSource+"      urls: [ldapi:///var/run/slapd/ldapi]"), ""},

		{"nats remote", secureDoc(https, natsSource("      urls: [nats://nats.example.com:4222]")), "sources[0].nats.urls[0]"},
		{"nats remote second url", secureDoc(https, natsSource("      urls: [tls://a.example.com:4222, nats://b.example.com:4222]")), "sources[0].nats.urls[1]"},
		{"nats websocket remote", secureDoc(https, natsSource("      urls: [ws://nats.example.com:8080]")), "sources[0].nats.urls[0]"},
		{"nats websocket remote with ca", secureDoc(https, natsSource("      urls: [ws://nats.example.com:8080]\n      ca_file: /etc/ssl/ca.pem")), "sources[0].nats.urls[0]"},
		{"nats remote opted in", secureDoc(https, natsSource("      urls: [nats://nats.example.com:4222]\n      allow_insecure: true")), ""},
		{"nats remote tls", secureDoc(https, natsSource("      urls: [tls://nats.example.com:4222]")), ""},
		{"nats remote wss", secureDoc(https, natsSource("      urls: [wss://nats.example.com:443]")), ""},
		{"nats remote with ca_file", secureDoc(https, natsSource("      urls: [nats://nats.example.com:4222]\n      ca_file: /etc/ssl/ca.pem")), ""},
		{"nats remote with client cert", secureDoc(https, natsSource("      urls: [nats://nats.example.com:4222]\n      cert_file: c.pem\n      key_file: k.pem")), ""},
		{"nats loopback", secureDoc(https, natsSource("      urls: [nats://127.0.0.1:4222]")), ""},
		{"nats localhost", secureDoc(https, natsSource("      urls: [nats://localhost:4222]")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.doc), testEnv)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Parse: %v, want it to load", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %+v, want an error at %s", cfg, tt.wantKey)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != tt.wantKey {
				t.Fatalf("error %q (key %q), want a *config.Error at %s", err, keyOf(err), tt.wantKey)
			}
			if !strings.Contains(ce.Msg, "allow_insecure") || !strings.Contains(ce.Msg, "unencrypted") {
				t.Errorf("error %q does not say why and how to opt in", err)
			}
		})
	}
}

func keyOf(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Key
	}
	return ""
}

// TestInlineSecretWarnings: a file readable by others warns when, and only
// when, it holds a secret literally; the warning names the keys, never the
// values.
func TestInlineSecretWarnings(t *testing.T) {
	t.Setenv("LIGHTDASH_SYNC_TEST_TOKEN", "env-token-value")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-token-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := func(lightdash, natsAuth string) string {
		return `
lightdash: {url: "https://ld.example.com", ` + lightdash + `}
sources:
  - name: events
    type: nats
    nats:
      urls: [tls://nats.example.com:4222]
` + natsAuth + `
mapping: {rules: [{name: all}]}
`
	}
	const literal = `token: "literal-token-value"`
	tests := []struct {
		name     string
		doc      string
		mode     os.FileMode
		wantKeys []string // nil: no warning
	}{
		{"literal, world-readable", doc(literal, ""), 0o644, []string{"lightdash.token"}},
		{"literal, group-readable", doc(literal, ""), 0o640, []string{"lightdash.token"}},
		{"two literals", doc(literal, "      user: sync\n      password: literal-password-value"), 0o604, []string{"lightdash.token", "sources[0].nats.password"}},
		{"literal, owner only", doc(literal, ""), 0o600, nil},
		{"literal, read-only owner", doc(literal, ""), 0o400, nil},
		{"env reference, world-readable", doc(`token: "${LIGHTDASH_SYNC_TEST_TOKEN}"`, ""), 0o644, nil},
		{"token_file, world-readable", doc(`token_file: "`+tokenFile+`"`, ""), 0o644, nil},
		{"escaped dollar is a literal", doc(`token: "$${NOT_A_REFERENCE}"`, ""), 0o644, []string{"lightdash.token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(p, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadFile(p)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			w := cfg.Warnings()
			if tt.wantKeys == nil {
				if len(w) != 0 {
					t.Fatalf("warnings = %q, want none", w)
				}
				return
			}
			if len(w) != 1 {
				t.Fatalf("warnings = %q, want one", w)
			}
			for _, k := range tt.wantKeys {
				if !strings.Contains(w[0], k) {
					t.Errorf("warning %q does not name %s", w[0], k)
				}
			}
			for _, secret := range []string{"literal-token-value", "literal-password-value", "env-token-value", "file-token-value"} {
				if strings.Contains(w[0], secret) {
					t.Errorf("warning %q contains the secret %q", w[0], secret)
				}
			}
			if !strings.Contains(w[0], "chmod 600") {
				t.Errorf("warning %q does not say how to fix it", w[0])
			}
		})
	}
}

// TestSecretFileIsBounded: a *_file pointing at something endless (a
// device) is refused instead of read until memory runs out.
func TestSecretFileIsBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero on this system")
	}
	doc := secureDoc("https://ld.example.com", natsSource("      urls: [tls://nats.example.com:4222]\n      token_file: /dev/zero"))
	_, err := Parse([]byte(doc), testEnv)
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "sources[0].nats.token_file" || !strings.Contains(ce.Msg, "larger than 64 KiB") {
		t.Fatalf("err = %v, want a *config.Error at sources[0].nats.token_file saying it is too large", err)
	}
}
