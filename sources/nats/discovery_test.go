package nats

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// runCluster starts two routed servers (no JetStream: only discovery is
// under test) and returns them once a client of a is told about b.
func runCluster(t *testing.T) (a, b *server.Server) {
	t.Helper()
	cluster := func(name string, routes ...string) func(*server.Options) {
		return func(o *server.Options) {
			o.ServerName, o.JetStream = name, false
			o.Cluster = server.ClusterOpts{Name: "natstest", Host: "127.0.0.1", Port: server.RANDOM_PORT}
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
	}
	a = natstest.RunServerWith(t, cluster("a"))
	b = natstest.RunServerWith(t, cluster("b", fmt.Sprintf("nats://%s", a.ClusterAddr())))
	// A client with nats.go's defaults learns b's URL from a: the test can
	// tell discovery happening from discovery ignored.
	plain, err := nats.Connect(a.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	testutil.Eventually(t, "a discovered server", func() bool { return len(plain.DiscoveredServers()) > 0 })
	return a, b
}

// TestDiscoveredServersIgnoredWithoutTLS: a client that does not insist on
// TLS keeps to the configured servers, so it cannot fail over in plain
// text to a server the cluster advertised.
func TestDiscoveredServersIgnoredWithoutTLS(t *testing.T) {
	a, _ := runCluster(t)
	cfg := Config{Name: "hr", URLs: []string{a.ClientURL()}}.withDefaults()
	nc, err := connect(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The INFO that advertises b arrived before this connection was made.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := nc.DiscoveredServers(); len(got) != 0 {
		t.Errorf("discovered servers = %v, want none", got)
	}
	if got := nc.Servers(); len(got) != 1 || got[0] != a.ClientURL() {
		t.Errorf("server pool = %v, want only %s", got, a.ClientURL())
	}
}

// TestDiscoveredServersKeptWithTLS: when TLS is required of every server,
// advertised servers stay usable for failover.
func TestDiscoveredServersKeptWithTLS(t *testing.T) {
	files, err := ldaptest.GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    Config
		ignore bool
	}{
		{"nats url", Config{URLs: []string{"nats://127.0.0.1:4222"}}, true},
		{"tls url", Config{URLs: []string{"tls://127.0.0.1:4222"}}, false},
		{"one tls url of two", Config{URLs: []string{"nats://127.0.0.1:4222", "tls://127.0.0.1:4223"}}, false},
		{"wss url", Config{URLs: []string{"wss://127.0.0.1:443"}}, false},
		{"nats url with ca", Config{URLs: []string{"nats://127.0.0.1:4222"}, CAFile: files.CAFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := connOptions(tt.cfg.withDefaults(), zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			o := nats.GetDefaultOptions()
			for _, opt := range opts {
				if err := opt(&o); err != nil {
					t.Fatal(err)
				}
			}
			if o.IgnoreDiscoveredServers != tt.ignore {
				t.Errorf("IgnoreDiscoveredServers = %t, want %t", o.IgnoreDiscoveredServers, tt.ignore)
			}
		})
	}
}
