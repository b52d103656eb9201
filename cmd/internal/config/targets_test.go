package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestBadTargets(t *testing.T) {
	tests := []struct {
		file string
		key  string
		line int
		msg  string
	}{
		{"both.yaml", "lightdash", 1, "lightdash and targets cannot both be set"},
		{"duplicate-name.yaml", "targets[1].name", 12, `target "prod" is defined twice`},
		{"bad-name.yaml", "targets[0].name", 10, `"Prod_1" is not a valid target name`},
		{"missing-name.yaml", "targets[0].name", 10, `"" is not a valid target name`},
		{"empty.yaml", "targets", 9, "at least one target"},
		{"missing-token.yaml", "targets[1].lightdash.token", 13, "required"},
		{"unknown-key.yaml", "targets[0].schedule", 12, "unknown key"},
		{"bad-override.yaml", "targets[0].sync.policy", 13, `"delete-everything" is not a policy`},
		{"wrong-type.yaml", "targets[0].lightdash.rate_limit", 14, `"fast" is a string, want float64`},
		{"bad-rule-source.yaml", "targets[0].mapping.rules[0].source", 12, `no source is named "crop"`},
		{"no-mapping.yaml", "mapping.rules", 0, "at least one rule"},
		{"token-and-file.yaml", "targets[0].lightdash.token", 13, "give targets[0].lightdash.token or targets[0].lightdash.token_file, not both"},
		{"unreadable-token-file.yaml", "targets[0].lightdash.token_file", 13, "cannot read /nonexistent/lightdash-prod-token"},
		{"null-target.yaml", "targets", 9, "at least one target"},
		{"scalar-target.yaml", "targets[0]", 10, "wrong type"},
		// "lightdash:" with nothing after it (a fuzz find: it panicked).
		{"null-sections.yaml", "targets[1].lightdash.url", 13, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := loadFixture(t, filepath.Join("targets", tt.file))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			if ce.Key != tt.key || ce.Line != tt.line || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got key %q line %d msg %q, want key %q line %d msg containing %q", ce.Key, ce.Line, ce.Msg, tt.key, tt.line, tt.msg)
			}
		})
	}
}

// parseTwoTargets loads testdata/targets/two.yaml with the staging token in a file.
func parseTwoTargets(t *testing.T) *Config {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "staging-token")
	if err := os.WriteFile(tokenFile, []byte("staging-secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/targets/two.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(strings.ReplaceAll(string(data), "TOKEN_FILE", tokenFile)), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestTargetsExpandIntoUnits(t *testing.T) {
	cfg := parseTwoTargets(t)
	units := cfg.Units()
	if len(units) != 2 {
		t.Fatalf("got %d units, want 2", len(units))
	}
	prod, staging := units[0], units[1]
	type view struct {
		name, url, token, policy, unmatched, rule, consumer, path string
		concurrency                                               int
		rate                                                      float64
	}
	see := func(u *Config) view {
		return view{u.TargetName, u.Lightdash.URL, u.Lightdash.Token.Reveal(), u.Sync.Policy, u.Identity.Unmatched,
			u.Mapping.Rules[0].Name, u.Sources[0].NATS.Consumer, u.State.Path, u.Sync.Concurrency, u.Lightdash.RateLimit}
	}
	for _, tt := range []struct {
		got, want view
	}{
		// prod shares every section and takes the lightdash defaults.
		{see(prod), view{"prod", "https://prod.example.com", "ldpat_test-token-value", "upsert-only", "skip", "all",
			"lightdash-sync-prod", "/var/lib/lightdash-sync/state.prod.json", 2, 5}},
		// staging's overrides win key by key; the rest is inherited.
		{see(staging), view{"staging", "https://staging.example.com", "staging-secret-token", "upsert-only", "invite", "eng",
			"lightdash-sync-staging", "/var/lib/lightdash-sync/state.staging.json", 8, 2}},
	} {
		if tt.got != tt.want {
			t.Errorf("got %+v,\nwant %+v", tt.got, tt.want)
		}
	}
	if len(units[0].Targets) != 0 || units[0].Lightdash.Timeout == 0 {
		t.Errorf("a unit must be a complete configuration without targets: %+v", units[0])
	}
	if cfg.Sources[0].NATS.Consumer != "lightdash-sync" {
		t.Errorf("Units changed the shared configuration: consumer %q", cfg.Sources[0].NATS.Consumer)
	}
	for _, u := range units {
		if err := u.Validate(); err != nil {
			t.Errorf("unit %s does not validate: %v", u.TargetName, err)
		}
	}
	if got := cfg.Unit("staging"); got == nil || got.Lightdash.URL != "https://staging.example.com" {
		t.Errorf("Unit(staging) = %v", got)
	}
	if cfg.Unit("nope") != nil {
		t.Error("Unit(nope) found a unit")
	}
	if got := fmt.Sprint(cfg.TargetNames()); got != "[prod staging]" {
		t.Errorf("TargetNames = %s", got)
	}
}

// TestForceDryRunReachesEveryTarget: --dry-run makes every unit a dry
// run, staging's own sync section (concurrency 8) included.
func TestForceDryRunReachesEveryTarget(t *testing.T) {
	cfg := parseTwoTargets(t)
	cfg.ForceDryRun()
	for _, u := range cfg.Units() {
		if !u.Sync.DryRun {
			t.Errorf("unit %s is not a dry run after ForceDryRun", u.TargetName)
		}
	}
	if staging := cfg.Unit("staging"); staging.Sync.Concurrency != 8 {
		t.Errorf("staging's own sync section was lost: concurrency %d", staging.Sync.Concurrency)
	}
}

func TestSingleTargetIsOneUnit(t *testing.T) {
	cfg, err := loadFixture(t, "minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	units := cfg.Units()
	if len(units) != 1 || units[0] != cfg || units[0].TargetName != "" {
		t.Fatalf("got %v, want the configuration itself with no name", units)
	}
	if cfg.Unit("") != cfg || cfg.Unit("prod") != nil {
		t.Error(`Unit("") must be the configuration itself, and no other name exists`)
	}
}

func TestTargetSecretsNeverPrinted(t *testing.T) {
	cfg := parseTwoTargets(t)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"staging-secret-token", "ldpat_test-token-value"} {
		for _, s := range []string{string(out), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), fmt.Sprintf("%+v", cfg.Units())} {
			if strings.Contains(s, secret) {
				t.Errorf("a printed configuration shows the secret %q", secret)
			}
		}
	}
	if !strings.Contains(string(out), "name: staging") {
		t.Errorf("the printed configuration lacks the targets:\n%s", out)
	}
}

func TestTargetInlineTokenWarns(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/targets/duplicate-name.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "name: prod\n    lightdash: {url: \"https://b", "name: other\n    lightdash: {url: \"https://b", 1))
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(cfg.Warnings(), "\n")
	if !strings.Contains(w, "targets[0].lightdash.token") || !strings.Contains(w, "targets[1].lightdash.token") {
		t.Errorf("got warnings %q, want both targets' inline tokens named", w)
	}
}

func TestUnitPath(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"state.json", "state.prod.json"},
		{"/var/lib/x/state", "/var/lib/x/state.prod"},
		{"/var/lib/x.d/state", "/var/lib/x.d/state.prod"},
	} {
		if got := unitPath(tt.path, "prod"); got != tt.want {
			t.Errorf("unitPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestNATSMaxAckPending(t *testing.T) {
	doc := func(v string) []byte {
		return []byte(`lightdash: {url: "https://a.example.com", token: x}
sources:
  - name: events
    type: nats
    nats:
      urls: [nats://127.0.0.1:4222]
` + v + `mapping: {rules: [{name: all}]}
`)
	}
	for _, tt := range []struct {
		line string
		want int
		err  string
	}{
		{"", 100000, ""},
		{"      max_ack_pending: 500\n", 500, ""},
		{"      max_ack_pending: -1\n", 0, "sources[0].nats.max_ack_pending: must be at least 1"},
	} {
		cfg, err := Parse(doc(tt.line), testEnv)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: got %v, want an error %q", tt.line, err, tt.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.line, err)
		case cfg.Sources[0].NATS.MaxAckPending != tt.want:
			t.Errorf("%q: got %d, want %d", tt.line, cfg.Sources[0].NATS.MaxAckPending, tt.want)
		}
	}
}
