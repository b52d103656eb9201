package config

import (
	"encoding/json"
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
)

// Secret is a configuration value that must never be shown: its String,
// YAML and JSON forms are masked, so printing a Config is safe. Use Reveal
// to pass the value to the one place that needs it.
type Secret string

const masked = "********"

// String masks the secret; an empty secret prints as empty so an operator
// can still see whether one is set.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return masked
}

// GoString masks the secret in %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// MarshalYAML masks the secret when a Config is printed.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText masks the secret in JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// URLs are server URLs that may carry credentials (nats://user:pass@host,
// nats://token@host). Printed, they show the credentials masked; the
// program gets them as written.
type URLs []string

// String lists the URLs with their credentials masked.
func (u URLs) String() string { return fmt.Sprint(redact.URLs(u)) }

// MarshalYAML masks the credentials when a Config is printed.
func (u URLs) MarshalYAML() (any, error) { return redact.URLs(u), nil }

// MarshalJSON masks the credentials in JSON.
func (u URLs) MarshalJSON() ([]byte, error) { return json.Marshal(redact.URLs(u)) }
