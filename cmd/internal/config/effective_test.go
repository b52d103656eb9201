package config

import (
	"strings"
	"testing"
)

// TestEffective: check's view of the configuration shows what the file
// set, the defaults of what it left out (marked), a flag's override
// unmarked, and no empty keys.
func TestEffective(t *testing.T) {
	cfg, err := Parse([]byte(`
lightdash:
  url: https://lightdash.example.com
  token: ldpat_secret_value
  ca_file: ""
sources:
  - name: corp
    type: ldap
    ldap:
      urls: [ldaps://ldap.example.com]
      bind_dn: cn=sync,dc=example,dc=com
      bind_password: ldap-secret-value
      user_base_dn: ou=people,dc=example,dc=com
      group_base_dn: ou=groups,dc=example,dc=com
      page_size: 200
  - name: hr
    type: nats
    nats: {urls: [tls://nats.example.com:4222], create_stream: false}
mapping:
  rules: [{name: all}]
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Log.Level = "debug" // as --log-level does
	b, err := cfg.Effective()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		"  url: https://lightdash.example.com\n",
		"  ca_file: \"\"\n", // set in the file, if empty
		"      page_size: 200\n",
		"  level: debug\n",
		"  timeout: 30s # default\n",
		"  delete_grace_period: 1h0m0s # default\n",
		"      watch: auto # default\n",
		"  token: '********'\n",
		"      create_stream: false\n", // set in the file, if false
	} {
		if !strings.Contains(out, want) {
			t.Errorf("effective configuration lacks %q:\n%s", want, out)
		}
	}
	// nats: null under the LDAP source; a NATS option a library fills in.
	for _, bad := range []string{"token_file", "nats: null", "user_filter", "dry_run", "max_clock_skew", "max_inflight_bytes", "ldpat_secret_value", "ldap-secret-value"} {
		if strings.Contains(out, bad) {
			t.Errorf("effective configuration shows %q, which the file left out or is secret:\n%s", bad, out)
		}
	}
	if n := strings.Count(out, `: ""`); n != 1 {
		t.Errorf("effective configuration has %d empty values, want only the one the file set:\n%s", n, out)
	}
}
