package config

import (
	"errors"
	"strings"
	"testing"
)

// TestLightdashURLRefused: a base URL the client would refuse is refused at
// lightdash.url, with the client's reason and without the URL's password.
func TestLightdashURLRefused(t *testing.T) {
	tests := []struct{ name, url, want string }{
		{"no scheme", "ld.example.com", "scheme"},
		{"ftp", "ftp://ld.example.com", "scheme"},
		{"no host", "https://", "no host"},
		{"credentials", "https://u:secretpw@ld.example.com", "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(`
lightdash: {url: "`+tt.url+`", token: t}
sources: [{name: events, type: nats, nats: {urls: ["nats://127.0.0.1:4222"]}}]
mapping: {rules: [{name: all}]}
`), testEnv)
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != "lightdash.url" {
				t.Fatalf("error %v (key %q), want a *config.Error at lightdash.url", err, keyOf(err))
			}
			if !strings.Contains(ce.Msg, tt.want) || strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error %q: want it to say %q and not show the password", err, tt.want)
			}
		})
	}
}
