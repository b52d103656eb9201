package ldap

import (
	"context"
	"strings"
	"testing"
)

// TestActiveDirectoryTLS reads Samba with a simple bind over StartTLS and
// over LDAPS; Samba's default refuses the bind over plain LDAP, and the
// error says what to change.
func TestActiveDirectoryTLS(t *testing.T) {
	d := newADDir(t)
	d.addUser("ann", "ann@example.com", false)
	for _, c := range []struct {
		name     string
		url      string
		startTLS bool
		wantErr  string
	}{
		{"ldaps", d.srv.LDAPSURL(), false, ""},
		{"starttls", d.srv.URL(), true, ""},
		{"plain", d.srv.URL(), false, "use an ldaps:// URL, or set start_tls: true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := d.config()
			cfg.URLs, cfg.StartTLS = []string{c.url}, c.startTLS
			_, err := newSource(t, cfg).Snapshot(context.Background())
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Snapshot: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Snapshot: got %v, want an error saying %q", err, c.wantErr)
			}
		})
	}
}
