package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: any document gives a configuration that validates or a
// *config.Error on one line, never a panic, and never an error that quotes
// a secret from the environment.
func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	targets, _ := filepath.Glob("testdata/targets/*.yaml")
	for _, name := range targets {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile("../../../deploy/config.example.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("lightdash: &a {url: x}\nsources: *a\n"))
	f.Add([]byte("<<: {log: {level: debug}}\n"))
	f.Add([]byte("lightdash:\n  url: ${URL\n"))
	f.Add([]byte("sources: [{name: a, type: nats, nats: {urls: ['nats://[::1]:4222'], backoff: [-1s]}}]\n"))
	f.Add([]byte("\x00\xff: [\n"))
	const secret = "fuzz-secret-value"
	lookup := func(name string) (string, bool) {
		switch name {
		case "LIGHTDASH_TOKEN", "LDAP_PASSWORD", "SECRET":
			return secret, true
		case "EMPTY":
			return "", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, lookup)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %q is not a *config.Error", err, err)
			}
			if cfg != nil {
				t.Fatal("Parse returned a configuration and an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q quotes a secret", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a configuration that does not validate: %v", err)
		}
	})
}
