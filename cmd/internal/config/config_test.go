package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func testEnv(name string) (string, bool) {
	switch name {
	case "LIGHTDASH_TOKEN":
		return "ldpat_test-token-value", true
	case "LDAP_PASSWORD":
		return "ldap-bind-secret", true
	}
	return "", false
}

func loadFixture(t *testing.T, name string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data, testEnv)
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		file string
		key  string // the key the error must name
		line int    // the line it must name (0: none expected)
		msg  string // a fragment of the message
	}{
		{"unknown-key.yaml", "lightdash.tokne", 3, `unknown key (did you mean "token"?)`},
		{"unknown-nested-key.yaml", "sources[0].ldap.bind_pasword", 10, `did you mean "bind_password"?`},
		{"wrong-type.yaml", "lightdash.rate_limit", 4, `"fast" is a string, want float64`},
		{"wrong-duration.yaml", "lightdash.timeout", 4, "want a duration"},
		{"missing-token.yaml", "lightdash.token", 1, "required"},
		{"unreadable-token-file.yaml", "lightdash.token_file", 3, "cannot read /nonexistent/lightdash-token: no such file or directory"},
		{"token-and-file.yaml", "lightdash.token", 3, "not both"},
		{"unset-env.yaml", "lightdash.token", 3, "environment variable LIGHTDASH_SYNC_TEST_UNSET_VARIABLE is not set"},
		{"bad-policy.yaml", "sync.policy", 13, `"delete-everything" is not a policy`},
		{"plain-http.yaml", "lightdash.url", 2, "unencrypted"},
		{"plain-ldap.yaml", "sources[0].ldap.urls[0]", 8, "start_tls"},
		{"bad-nested-groups.yaml", "sources[0].ldap.nested_groups", 14, `"chain" is not a nested group mode (want walk or in_chain)`},
		{"bad-cron.yaml", "schedule.reconcile", 13, "not a cron expression"},
		{"bad-regex.yaml", "mapping.rules[0].name_regex", 12, "invalid regular expression"},
		{"bad-project-role.yaml", "mapping.rules[0].projects[0].role", 14, `"owner" is not a project role`},
		{"unknown-rule-source.yaml", "mapping.rules[0].source", 12, `no source is named "crop"`},
		{"duplicate-key.yaml", "lightdash.token", 4, "key is given twice"},
		{"not-yaml.yaml", "", 0, "invalid YAML"},
		{"no-sources.yaml", "sources", 0, "at least one source"},
		{"empty.yaml", "", 0, "configuration is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, err := loadFixture(t, tt.file)
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want an error", tt.file, cfg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %q is not a *config.Error", err, err)
			}
			if ce.Key != tt.key {
				t.Errorf("key = %q, want %q (error: %v)", ce.Key, tt.key, err)
			}
			if tt.line != 0 && ce.Line != tt.line {
				t.Errorf("line = %d, want %d (error: %v)", ce.Line, tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestMinimalConfigGetsDefaults(t *testing.T) {
	cfg, err := loadFixture(t, "minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Lightdash.Token.Reveal(); got != "ldpat_test-token-value" {
		t.Errorf("token = %q, want the value of LIGHTDASH_TOKEN", got)
	}
	l := cfg.Sources[0].LDAP
	if l.BindPassword.Reveal() != "ldap-bind-secret" || l.Schema != "openldap" || l.PageSize != 500 || l.Watch != "auto" {
		t.Errorf("ldap source = %+v, want env-expanded password and defaults", l)
	}
	if cfg.Sync.Policy != "sync" || cfg.Schedule.Reconcile != "@hourly" || cfg.Admin.Listen != "127.0.0.1:9464" {
		t.Errorf("defaults not applied: sync=%+v schedule=%+v admin=%+v", cfg.Sync, cfg.Schedule, cfg.Admin)
	}
}

func TestNestedGroups(t *testing.T) {
	const doc = `
lightdash:
  url: https://lightdash.example.com
  token: abc
sources:
  - name: corp
    type: ldap
    ldap:
      urls: [ldaps://ldap.example.com]
      anonymous: true
      user_base_dn: ou=people,dc=example,dc=com
      group_base_dn: ou=groups,dc=example,dc=com
%s
mapping:
  rules:
    - name: all
`
	cases := []struct {
		extra string // more lines under ldap:
		want  string // the mode loaded, or "" for an error
		msg   string // with the error: a fragment of the message
	}{
		{"", "walk", ""},
		{"      nested_groups: walk", "walk", ""},
		{"      schema: activedirectory\n      nested_groups: in_chain", "in_chain", ""},
		{"      nested_groups: IN_CHAIN", "", `"IN_CHAIN" is not a nested group mode`},
		{"      schema: rfc2307\n      nested_groups: in_chain", "", "member_value: dn"},
		{"      member_value: uid\n      nested_groups: in_chain", "", "member_value: dn"},
	}
	for _, tt := range cases {
		cfg, err := Parse([]byte(fmt.Sprintf(doc, tt.extra)), testEnv)
		if tt.want != "" {
			if err != nil {
				t.Errorf("%q: %v", tt.extra, err)
			} else if got := cfg.Sources[0].LDAP.NestedGroups; got != tt.want {
				t.Errorf("%q: nested_groups = %q, want %q", tt.extra, got, tt.want)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != "sources[0].ldap.nested_groups" || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: error %v, want one naming sources[0].ldap.nested_groups with %q", tt.extra, err, tt.msg)
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	doc := `
lightdash:
  url: ${URL}/lightdash
  token: "tok-${SUFFIX}"
  rate_limit: ${RATE}
  timeout: ${TIMEOUT}
sources:
  - name: events
    type: nats
    nats:
      urls: ["nats://127.0.0.1:4222"]
      password: "pa$$word-$${NOT_EXPANDED}"
      user: sync
mapping:
  rules: [{name: all}]
`
	env := map[string]string{"URL": "https://ld.example.com", "SUFFIX": "xyz", "RATE": "2.5", "TIMEOUT": "45s"}
	cfg, err := Parse([]byte(doc), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Lightdash.URL != "https://ld.example.com/lightdash" || cfg.Lightdash.Token.Reveal() != "tok-xyz" {
		t.Errorf("lightdash = %q %q", cfg.Lightdash.URL, cfg.Lightdash.Token.Reveal())
	}
	if cfg.Lightdash.RateLimit != 2.5 || cfg.Lightdash.Timeout != 45*time.Second {
		t.Errorf("rate_limit = %v timeout = %v, want 2.5 and 45s from the environment", cfg.Lightdash.RateLimit, cfg.Lightdash.Timeout)
	}
	if got := cfg.Sources[0].NATS.Password.Reveal(); got != "pa$$word-${NOT_EXPANDED}" {
		t.Errorf("password = %q, want bare $ kept and $${ unescaped", got)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok := write("token", "file-token\n")
	pw := write("pw", "file-password")
	empty := write("empty", "")
	doc := func(tokenFile string) string {
		return `
lightdash: {url: "https://ld.example.com", token_file: "` + tokenFile + `"}
sources:
  - name: corp
    type: ldap
    ldap:
      urls: [ldaps://ldap.example.com]
      bind_dn: cn=sync
      bind_password_file: "` + pw + `"
      user_base_dn: ou=people
      group_base_dn: ou=groups
mapping: {rules: [{name: all}]}
`
	}
	cfg, err := Parse([]byte(doc(tok)), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Lightdash.Token.Reveal() != "file-token" || cfg.Sources[0].LDAP.BindPassword.Reveal() != "file-password" {
		t.Errorf("secrets from files = %q %q", cfg.Lightdash.Token.Reveal(), cfg.Sources[0].LDAP.BindPassword.Reveal())
	}
	if _, err := Parse([]byte(doc(empty)), testEnv); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty token file: err = %v, want 'is empty'", err)
	}
}

// TestSecretsNeverPrinted marshals a loaded configuration the ways the
// program prints it and checks no secret value survives.
func TestSecretsNeverPrinted(t *testing.T) {
	cfg, err := loadFixture(t, "minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ldpat_test-token-value", "ldap-bind-secret"} {
		if strings.Contains(string(out), s) {
			t.Errorf("printed configuration contains the secret %q:\n%s", s, out)
		}
	}
	if !strings.Contains(string(out), "token: '********'") {
		t.Errorf("printed configuration does not show the token as masked:\n%s", out)
	}
}

// TestExampleConfigLoads keeps deploy/config.example.yaml from rotting: it
// must load as shipped, with its secret files pointed at a temp dir.
func TestExampleConfigLoads(t *testing.T) {
	data, err := os.ReadFile("../../../deploy/config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"ldap-bind-password", "nats.creds", "admin-token"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data = []byte(strings.ReplaceAll(string(data), "/run/secrets/", dir+"/"))
	cfg, err := Parse(data, testEnv)
	if err != nil {
		t.Fatalf("deploy/config.example.yaml: %v", err)
	}
	if len(cfg.Sources) != 2 || len(cfg.Mapping.Rules) != 3 || !cfg.HA.Enabled {
		t.Errorf("example config lost its sources, rules or HA section: %+v", cfg)
	}
}
