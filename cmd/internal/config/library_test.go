package config

import (
	"testing"
	"time"

	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
)

// TestNATSConfigWiring: settings reach the NATS source as configured.
func TestNATSConfigWiring(t *testing.T) {
	got := Source{Name: "events", NATS: &NATSSource{Consumer: "lightdash-sync-prod", MaxAckPending: 500, MaxDeliver: 3, MaxInflightBytes: 8 << 20,
		ViewMaxBytes: 1 << 30, TombstoneRetention: 48 * time.Hour, MaxClockSkew: time.Hour, MaxSequenceJump: 7}}.NATSConfig()
	if got.Consumer != "lightdash-sync-prod" || got.MaxAckPending != 500 || got.MaxDeliver != 3 || got.MaxInflightBytes != 8<<20 {
		t.Errorf("got durable %q, max ack pending %d, max deliver %d, max inflight bytes %d; want lightdash-sync-prod, 500, 3, %d",
			got.Consumer, got.MaxAckPending, got.MaxDeliver, got.MaxInflightBytes, 8<<20)
	}
	if got.ViewMaxBytes != 1<<30 || got.TombstoneRetention != 48*time.Hour {
		t.Errorf("got view max bytes %d, tombstone retention %s; want %d, 48h", got.ViewMaxBytes, got.TombstoneRetention, 1<<30)
	}
	if got.MaxClockSkew != time.Hour || got.MaxSequenceJump != 7 {
		t.Errorf("got max clock skew %v, max sequence jump %d; want 1h, 7", got.MaxClockSkew, got.MaxSequenceJump)
	}
	// The configuration's default is the source's.
	cfg, err := Parse([]byte(`
lightdash: {url: "https://ld.example.com", token: t}
sources: [{name: events, type: nats, nats: {urls: ["nats://127.0.0.1:4222"]}}]
mapping: {rules: [{name: all}]}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Sources[0].NATS.MaxAckPending; got != natssource.DefaultMaxAckPending {
		t.Errorf("config's max_ack_pending default %d, the NATS source's %d", got, natssource.DefaultMaxAckPending)
	}
}
