package nats

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{URLs: []string{"nats://127.0.0.1:4222"}, Stream: "DIR", Subjects: []string{"dir.>"}, CreateStream: true, DeadLetterSubject: "dead.dir"}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no urls", func(c *Config) { c.URLs = nil }, "urls"},
		{"comma in url", func(c *Config) { c.URLs = []string{"a,b"} }, "urls[0]"},
		{"no stream", func(c *Config) { c.Stream = "" }, "stream: required"},
		{"dotted stream", func(c *Config) { c.Stream = "a.b" }, "stream:"},
		{"create without subjects", func(c *Config) { c.Subjects = nil }, "subjects"},
		{"bind without subjects", func(c *Config) { c.Subjects, c.CreateStream = nil, false }, ""},
		{"dead letter captured by the stream", func(c *Config) { c.DeadLetterSubject = "dir.dead" }, "dead_letter_subject"},
		{"wildcard dead letter", func(c *Config) { c.DeadLetterSubject = "dead.*" }, "literal"},
		{"cert without key", func(c *Config) { c.CertFile = "c.pem" }, "key_file"},
		{"user without password", func(c *Config) { c.User = "u" }, "password"},
		{"creds and seed", func(c *Config) { c.CredsFile, c.NKeySeedFile = "a", "b" }, "creds_file"},
		{"zero backoff", func(c *Config) { c.Backoff = []time.Duration{0} }, "backoff[0]"},
		{"unlimited ack pending", func(c *Config) { c.MaxAckPending = -1 }, "max_ack_pending"},
		{"small ack pending", func(c *Config) { c.MaxAckPending = 1 }, ""},
		{"negative clock skew", func(c *Config) { c.MaxClockSkew = -time.Minute }, "max_clock_skew"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.withDefaults().Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"a.b", "a.b", true}, {"a.*", "a.b", true}, {"a.*", "a.b.c", false}, {"a.>", "a.b.c", true},
		{"a.>", "a", false}, {">", "x", true}, {"a.b", "a.c", false}, {"a.b.c", "a.b", false},
	} {
		if got := subjectMatches(tc.p, tc.s); got != tc.want {
			t.Errorf("subjectMatches(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

// TestSecretsStayOut: String, the errors of a refused connection and the
// logs never show a password or token.
func TestSecretsStayOut(t *testing.T) {
	const secret = "hunter2-s3cr3t"
	srv := natstest.RunServerWith(t, func(o *server.Options) {
		o.Username, o.Password = "sync", "right-password"
	})
	core, logs := observer.New(zap.DebugLevel)
	logger := zap.New(core)

	c := testConfig(srv)
	c.User, c.Password = "sync", secret
	c.URLs = append(c.URLs, "nats://tok"+secret+"@127.0.0.1:1", "nats://sync:"+secret+"@127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := New(ctx, c, logger, prometheus.NewRegistry())
	if err == nil {
		t.Fatal("connected with a wrong password")
	}
	// A URL nats.go cannot parse is quoted whole in its error.
	unparsable := c
	unparsable.URLs = []string{"nats://sync:" + secret + "@127.0.0.1:bad"}
	_, parseErr := New(ctx, unparsable, logger, prometheus.NewRegistry())
	if parseErr == nil {
		t.Fatal("connected with an unparsable URL")
	}
	token := c
	token.User, token.Password, token.Token = "", "", secret
	texts := []string{err.Error(), parseErr.Error(), c.String(), c.withDefaults().String(), token.String()}
	for _, e := range logs.All() {
		texts = append(texts, e.Message)
		for k, v := range e.ContextMap() {
			texts = append(texts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("secret leaked in %q", s)
		}
	}

	// And the right password works, through the same code path.
	c.Password = "right-password"
	c.URLs = []string{srv.ClientURL()}
	src, err := New(ctx, c, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("New with the right password: %v", err)
	}
	src.Close()
}
