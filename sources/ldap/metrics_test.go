package ldap

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

func TestMetricsCountReads(t *testing.T) {
	srv := startDirectory(t)
	reg := prometheus.NewRegistry()
	src, err := New(baseConfig(srv), nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, reg, "lightdash_sync_ldap_entries_read_total", "kind", "users"); got != 5 {
		t.Errorf("users read: got %v, want 5", got)
	}
	if got := gathered(t, reg, "lightdash_sync_ldap_searches_total", "kind", "groups"); got != 1 {
		t.Errorf("group searches: got %v, want 1", got)
	}
}

// gathered sums the counter samples of name whose label has value.
func gathered(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

func BenchmarkSnapshot2000Users(b *testing.B) {
	srv := ldaptest.Start(b, ldaptest.WithSeed(manyUsers(2000)))
	src := newSource(b, baseConfig(srv))
	b.ResetTimer()
	for b.Loop() {
		snap, err := src.Snapshot(context.Background())
		if err != nil || len(snap.Users) != 2000 {
			b.Fatalf("got %v, %v", snap, err)
		}
	}
}
