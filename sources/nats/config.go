package nats

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Config configures the NATS source. The cmd layer fills it from YAML and
// reads the *_file secrets; this package never reads files other than the
// ones named here (creds, NKey seed, TLS material), nor the environment.
// Zero values are documented per field; Validate reports the first bad one.
type Config struct {
	// Name is the source's configured name (Change.Source, Snapshot.Source).
	Name string

	// URLs are the servers to connect to; several give failover.
	URLs []string
	// CredsFile is a NATS .creds file (JWT and NKey seed).
	CredsFile string
	// NKeySeedFile is a file holding an NKey user seed.
	NKeySeedFile string
	// Token, User and Password are secrets passed as strings; they never
	// appear in errors, logs or String().
	Token    string
	User     string
	Password string
	// CAFile verifies the server; CertFile and KeyFile are the
	// client certificate, both or neither.
	CAFile   string
	CertFile string
	KeyFile  string
	// ReconnectWait is the first reconnect delay; it doubles up to
	// MaxReconnectWait with jitter. Zero means 250ms and 30s. Reconnection
	// never gives up.
	ReconnectWait    time.Duration
	MaxReconnectWait time.Duration

	// Stream is the JetStream stream holding the events. Required.
	Stream string
	// Subjects are the event subjects. With CreateStream they are the
	// stream's subjects; otherwise they filter the consumer (empty means
	// everything in the stream).
	Subjects []string
	// CreateStream creates the stream (or updates its subjects) when true;
	// when false the source binds to an existing stream and fails if absent.
	CreateStream bool
	// DuplicateWindow is the de-duplication window of a created stream;
	// zero means 2 minutes (the JetStream default).
	DuplicateWindow time.Duration

	// Consumer is the durable pull consumer's name; zero means
	// DefaultConsumer.
	Consumer string
	// AckWait is how long the server waits for an ack before redelivering.
	// While the daemon holds an event's change the source extends it every
	// AckWait/3, so it only bounds how long a crashed consumer keeps an
	// event from the others. Zero means DefaultAckWait.
	AckWait time.Duration
	// MaxAckPending bounds the events delivered and not yet acknowledged.
	// An event is acknowledged only after its group has been reconciled
	// (debounce, Lightdash write, state save), so this is the window a
	// burst flows through: with the JetStream default, 1,000, a burst of
	// 50,000 events went through at ~1,000 per reconciliation cycle. It
	// should hold a realistic burst many times over (then a whole burst is
	// in flight and coalesced into one reconciliation per group) yet stay
	// bounded, since every event in flight is held in memory (a few hundred
	// bytes; MaxInflightBytes bounds their bodies) and kept alive by
	// InProgress signals. A changed
	// value updates the durable consumer at the next start. Zero means
	// DefaultMaxAckPending; negative values (JetStream's "unlimited") are
	// refused.
	MaxAckPending int
	// MaxInflightBytes bounds the payload bytes of the events taken from
	// the stream and not yet settled (acked, naked or terminated): once
	// they reach it, Watch takes no more until acknowledgements free room,
	// so the pull stops fetching and the server keeps the rest. Nothing is
	// dropped or acknowledged to make room. Zero means
	// DefaultMaxInflightBytes; it must be at least MaxEventBytes.
	MaxInflightBytes int
	// MaxDeliver bounds deliveries; on the last failed one the event goes to
	// DeadLetterSubject. Zero means DefaultMaxDeliver.
	MaxDeliver int
	// Backoff is the nak delay after the 1st, 2nd, ... failed delivery; the
	// last value repeats. Empty means DefaultBackoff.
	Backoff []time.Duration
	// DeadLetterSubject receives events that failed MaxDeliver times, with
	// the reason in headers. Empty means DefaultDeadLetterSubject. It must
	// not be one of the event subjects.
	DeadLetterSubject string
	// MaxEventBytes bounds an event; zero means DefaultMaxBytes.
	MaxEventBytes int
	// MaxMembers bounds the members of one event; zero means 10000.
	MaxMembers int
	// MaxClockSkew bounds how far an event's time may be ahead of this
	// host's clock; a later event is poison (future_time), since it would
	// make every event after it for its group stale until that time. Zero
	// means DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// MaxSequenceJump bounds how far an event's sequence may be above the
	// last one applied to its group or user (0 when none was); a larger
	// jump is refused (sequence_jump), since a sequence near 2^53-1 would
	// make every later event stale for ever. Zero means
	// DefaultMaxSequenceJump.
	MaxSequenceJump uint64

	// ViewBucket is the key-value bucket holding the materialised view,
	// created if missing. Zero means DefaultViewBucket.
	ViewBucket string
	// ViewMaxBytes bounds the bucket's size (JetStream reserves it on the
	// server); when full, writes fail and their events are naked, then
	// dead-lettered. It is set on an existing bucket too. Zero means
	// DefaultViewMaxBytes.
	ViewMaxBytes int64
	// TombstoneRetention is how long a deleted group or user stays in the
	// view as a tombstone, refusing older events, before it is removed.
	// An event for an id the view does not know that is no newer than the
	// newest removed tombstone is stale. Zero means
	// DefaultTombstoneRetention.
	TombstoneRetention time.Duration
}

// Defaults returned by withDefaults.
const (
	// DefaultStream and DefaultSubjects are where a deployment keeps its
	// events; Stream has no default of its own and empty Subjects mean the
	// whole stream, so callers set them from these.
	DefaultStream            = "DIRECTORY"
	DefaultConsumer          = "lightdash-sync"
	DefaultAckWait           = 60 * time.Second
	DefaultMaxDeliver        = 10
	DefaultDeadLetterSubject = "lightdash-sync.dead-letter"
	DefaultViewBucket        = "lightdash_sync_directory"
	// DefaultMaxAckPending lets a burst of 100,000 events (a reorganisation,
	// an HR import) flow in one window rather than one window per debounce
	// and apply cycle (figures in docs/benchmarks.md). Memory follows the
	// burst actually in flight, not the window.
	DefaultMaxAckPending = 100000
	// DefaultMaxSequenceJump allows a per-entity counter to skip numbers
	// freely, while pushing a group to 2^53-1 would take billions of events.
	DefaultMaxSequenceJump = 1000000
	// DefaultMaxInflightBytes holds a burst of 100,000 typical events
	// (a few hundred bytes each) and 64 of the largest.
	DefaultMaxInflightBytes = 64 << 20
	// DefaultViewMaxBytes holds a directory of 100,000 users and 10,000
	// groups of 100 members several times over.
	DefaultViewMaxBytes = 256 << 20
	// DefaultTombstoneRetention is far longer than any redelivery
	// (max_deliver × backoff) or producer retry.
	DefaultTombstoneRetention = 7 * 24 * time.Hour
)

// DefaultSubjects are the event subjects a deployment starts from (see
// DefaultStream).
var DefaultSubjects = []string{"directory.>"}

// DefaultBackoff is the nak delay schedule when Config.Backoff is empty.
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "nats"
	}
	if c.ReconnectWait <= 0 {
		c.ReconnectWait = 250 * time.Millisecond
	}
	if c.MaxReconnectWait <= 0 {
		c.MaxReconnectWait = 30 * time.Second
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.Consumer == "" {
		c.Consumer = DefaultConsumer
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.DeadLetterSubject == "" {
		c.DeadLetterSubject = DefaultDeadLetterSubject
	}
	if len(c.Backoff) == 0 {
		c.Backoff = append([]time.Duration(nil), DefaultBackoff...)
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = DefaultMaxBytes
	}
	if c.MaxMembers <= 0 {
		c.MaxMembers = DefaultMaxMembers
	}
	if c.MaxClockSkew == 0 {
		c.MaxClockSkew = DefaultMaxClockSkew
	}
	if c.MaxSequenceJump == 0 {
		c.MaxSequenceJump = DefaultMaxSequenceJump
	}
	if c.ViewBucket == "" {
		c.ViewBucket = DefaultViewBucket
	}
	if c.ViewMaxBytes == 0 {
		c.ViewMaxBytes = DefaultViewMaxBytes
	}
	if c.TombstoneRetention == 0 {
		c.TombstoneRetention = DefaultTombstoneRetention
	}
	return c
}

// Validate checks c with its defaults filled in, as New uses it. Each
// problem is a *sources.ConfigError naming the option's configuration key.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &sources.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if len(c.URLs) == 0 {
		bad("urls", "required: at least one nats:// or tls:// URL")
	}
	for i, raw := range c.URLs {
		if strings.TrimSpace(raw) == "" || strings.Contains(raw, ",") {
			bad(fmt.Sprintf("urls[%d]", i), "empty or contains a comma")
		} else if _, err := parseServerURL(raw); err != nil {
			bad(fmt.Sprintf("urls[%d]", i), "%q is not a URL", redact.URL(raw))
		}
	}
	if c.Stream == "" {
		bad("stream", "required")
	} else if strings.ContainsAny(c.Stream, " \t.*>/\\") {
		bad("stream", "must not contain whitespace, '.', '*', '>', '/' or '\\\\'")
	}
	if c.CreateStream && len(c.Subjects) == 0 {
		bad("subjects", "required when create_stream is true")
	}
	if strings.ContainsAny(c.Consumer, " \t.*>/\\") {
		bad("consumer", "must not contain whitespace, '.', '*', '>', '/' or '\\\\'")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("cert_file", "cert_file and key_file go together")
	}
	if c.User != "" && c.Password == "" {
		bad("password", "required with user: set password or password_file")
	}
	if c.CredsFile != "" && c.NKeySeedFile != "" {
		bad("creds_file", "creds_file and nkey_seed_file: set one, not both")
	}
	if c.MaxAckPending < 1 {
		bad("max_ack_pending", "must be at least 1 (unlimited is not allowed: every event in flight is held in memory)")
	}
	if c.MaxInflightBytes < c.MaxEventBytes {
		bad("max_inflight_bytes", "must be at least max_event_bytes (%d)", c.MaxEventBytes)
	}
	if c.ViewMaxBytes < 1 {
		bad("view_max_bytes", "must be positive")
	}
	if c.TombstoneRetention < time.Hour {
		bad("tombstone_retention", "must be at least 1h (a shorter one lets redelivered events revive deleted groups)")
	}
	if c.MaxDeliver < 1 {
		bad("max_deliver", "must be at least 1")
	}
	if c.AckWait < time.Second {
		bad("ack_wait", "must be at least 1s")
	}
	if c.MaxClockSkew < 0 {
		bad("max_clock_skew", "must not be negative")
	}
	for i, d := range c.Backoff {
		if d <= 0 {
			bad(fmt.Sprintf("backoff[%d]", i), "must be positive")
		}
	}
	if strings.ContainsAny(c.DeadLetterSubject, "*> \t") {
		bad("dead_letter_subject", "must be a literal subject")
	}
	for _, s := range c.Subjects {
		if subjectMatches(s, c.DeadLetterSubject) {
			bad("dead_letter_subject", "%q would be consumed again as an event (matches subject %q)", c.DeadLetterSubject, s)
		}
	}
	return errors.Join(errs...)
}

// String describes c without secrets, for logs.
func (c Config) String() string {
	auth := "none"
	switch {
	case c.CredsFile != "":
		auth = "creds file " + c.CredsFile
	case c.NKeySeedFile != "":
		auth = "nkey seed file " + c.NKeySeedFile
	case c.Token != "":
		auth = "token"
	case c.User != "":
		auth = "user " + c.User + " with password"
	}
	return fmt.Sprintf("nats source %q: urls=%v auth=%s tls=%t stream=%s subjects=%v create=%t consumer=%s max_ack_pending=%d max_inflight_bytes=%d view_bucket=%s dead_letter=%q",
		c.Name, redact.URLs(c.URLs), auth, c.tlsRequired(), c.Stream, c.Subjects, c.CreateStream,
		c.Consumer, c.MaxAckPending, c.MaxInflightBytes, c.ViewBucket, c.DeadLetterSubject)
}

// tlsRequired reports whether the client insists on TLS with every server
// it connects to: nats.go does once a CA or client certificate is set, or
// once any URL is tls:// or wss://.
func (c Config) tlsRequired() bool {
	if c.CAFile != "" || c.CertFile != "" {
		return true
	}
	for _, raw := range c.URLs {
		if u, err := parseServerURL(raw); err == nil && (u.Scheme == "tls" || u.Scheme == "wss") {
			return true
		}
	}
	return false
}

// parseServerURL parses a server URL the way nats.go does: without a
// scheme it is nats://.
func parseServerURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		raw = "nats://" + raw
	}
	return url.Parse(raw)
}

// subjectMatches reports whether the literal subject s matches the pattern
// p, with NATS wildcards ('*' one token, '>' the rest).
func subjectMatches(p, s string) bool {
	pt, st := strings.Split(p, "."), strings.Split(s, ".")
	for i, tok := range pt {
		if tok == ">" {
			return len(st) > i
		}
		if i >= len(st) || (tok != "*" && tok != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}
