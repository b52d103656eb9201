package nats

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// TestTLSVerifiedByDefault: against a server whose certificate no trusted
// CA signed, the source refuses to connect (and never sends its token);
// with the CA configured it connects, so the refusal is the certificate's.
// A nats:// URL with a CA configured insists on TLS: a server without TLS
// is refused rather than talked to in plain text.
func TestTLSVerifiedByDefault(t *testing.T) {
	files, err := ldaptest.GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const token = "nats-secret-token-value"
	srv := natstest.RunServerWith(t, func(o *server.Options) {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: files.CertFile, KeyFile: files.KeyFile})
		if err != nil {
			t.Fatal(err)
		}
		o.TLSConfig = tc
		o.TLSTimeout = 2
		o.Authorization = token
	})
	tlsURL := strings.Replace(srv.ClientURL(), "nats://", "tls://", 1)
	connect := func(cfg Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		src, err := New(ctx, cfg, nil, nil)
		if err == nil {
			src.Close()
		}
		return err
	}

	cfg := testConfig(srv)
	cfg.URLs = []string{tlsURL}
	cfg.Token = token
	err = connect(cfg)
	if err == nil {
		t.Fatal("connected to a server with an untrusted certificate, want a TLS error")
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not name the certificate problem", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q contains the token", err)
	}

	cfg.CAFile = files.CAFile
	if err := connect(cfg); err != nil {
		t.Fatalf("with the CA trusted: %v", err)
	}

	plain := natstest.RunServer(t)
	cfg = testConfig(plain)
	cfg.CAFile = files.CAFile
	if err := connect(cfg); err == nil {
		t.Fatal("nats:// with ca_file connected to a server without TLS, want a refusal")
	}
}
