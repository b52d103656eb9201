package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"password", "nats://sync:s3cret@nats.example.com:4222", "nats://sync:xxxxx@nats.example.com:4222"},
		{"token", "nats://t0ken@nats.example.com:4222", "nats://xxxxx@nats.example.com:4222"},
		{"escaped password", "ldaps://cn=x:p%40ss@ldap.example.com/dc=x", "ldaps://cn=x:xxxxx@ldap.example.com/dc=x"},
		{"no credentials", "tls://nats.example.com:4222", "tls://nats.example.com:4222"},
		{"unparsable", "nats://sync:s3cret@nats.example.com:bad port", "nats://xxxxx@nats.example.com:bad port"},
		{"no scheme", "sync:s3cret@nats.example.com:4222", "xxxxx@nats.example.com:4222"},
		{"at in path is not userinfo", "ldapi:///run/a@b", "ldapi:///run/a@b"},
		{"password with # not escaped", "nats://user:pa#ss@host:4222", "nats://xxxxx@host:4222"},
		{"password with ? not escaped", "nats://user:pa?ss@host:4222", "nats://xxxxx@host:4222"},
		{"token with / not escaped", "nats://tok/en@host:4222", "nats://xxxxx@host:4222"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.raw); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestErrorMasksEveryForm(t *testing.T) {
	raw := `nats://sync:p%40ss"w0rd@nats.example.com:bad`
	_, perr := url.Parse(raw)
	if perr == nil {
		t.Fatal("want a parse error that quotes the URL")
	}
	for _, err := range []error{
		perr,
		fmt.Errorf("connect: %w", perr),
		fmt.Errorf("bad password %s and %q", `p@ss"w0rd`, `p@ss"w0rd`),
	} {
		got := Error(err, raw)
		for _, secret := range []string{`p%40ss"w0rd`, `p@ss"w0rd`, `p@ss\"w0rd`, `w0rd`} {
			if strings.Contains(got.Error(), secret) {
				t.Errorf("Error(%q) = %q: still holds %q", err, got, secret)
			}
		}
		if !errors.Is(got, err) {
			t.Errorf("errors.Is(Error(err), err) = false")
		}
	}
	if Error(nil, raw) != nil {
		t.Error("Error(nil) is not nil")
	}
	plain := errors.New("no servers available")
	if got := Error(plain, raw); got != plain {
		t.Errorf("an error without the secret changed: %v", got)
	}
}

// A password holding '/', '?' or '#' unescaped makes url.Parse fail, and
// its error quotes the URL: the message must not show the password.
func TestErrorMasksAnUnescapedPassword(t *testing.T) {
	for _, raw := range []string{"nats://user:pa/ss@host:4222", "nats://user:pa#ss@host:4222", "nats://user:pa?ss@host:4222"} {
		_, perr := url.Parse(raw + " ") // a space makes even the forms Go accepts fail
		if perr == nil {
			t.Fatalf("%s: want a parse error", raw)
		}
		if msg := Error(perr, raw).Error(); strings.Contains(msg, "pa") && strings.Contains(msg, "ss@") {
			t.Errorf("%s: %q shows the password", raw, msg)
		}
	}
}
