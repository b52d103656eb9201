package lease

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultBucket = "lightdash_sync_leader"
	DefaultTTL    = 10 * time.Second
)

// minTTL is the shortest TTL NATS accepts for a bucket (its duplicate
// window must be at least 100ms and no longer than the TTL).
const minTTL = 100 * time.Millisecond

var (
	validBucket = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	validKey    = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)
)

// Config configures an Elector. Zero values take the documented defaults.
type Config struct {
	// Bucket is the key-value bucket holding the leases; default
	// DefaultBucket. It is created when missing.
	Bucket string
	// Key is the unit's lease: one per Lightdash target, so replicas can
	// share several targets between them. Required; letters, digits and
	// "-/_=." only, not starting or ending with ".".
	Key string
	// Identity names this replica in the lease and on /status; default
	// "hostname-pid". It is for people: safety rests on revisions only.
	Identity string
	// TTL is how long a lease lasts without renewal; default DefaultTTL.
	// A standby takes over within about TTL + RenewEvery of the leader's
	// death.
	TTL time.Duration
	// RenewEvery is how often the leader renews and a standby polls;
	// default TTL/3. It must leave time for a renewal before the leader's
	// cutoff (TTL - TTL/5).
	RenewEvery time.Duration
	// Clock reads the time; default time.Now. Waiting uses real timers.
	Clock func() time.Time
	// AcquireDelay, when set, is asked at every poll that finds the lease
	// free (released or expired): the elector takes it only once it has
	// seen it free for that long. A replica that already leads other units
	// answers a longer delay, so an idle replica gets there first and
	// replicas campaigning for several units spread them out instead of
	// one winning all. Zero means at once; renewals are never delayed.
	AcquireDelay func() time.Duration
}

// withDefaults returns cfg with defaults filled in, or an error naming the
// bad field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Bucket == "" {
		cfg.Bucket = DefaultBucket
	}
	if !validBucket.MatchString(cfg.Bucket) {
		return cfg, fmt.Errorf("lease: bucket %q: only letters, digits, - and _ are allowed", cfg.Bucket)
	}
	if cfg.Key == "" {
		return cfg, fmt.Errorf("lease: key is required (the unit's name)")
	}
	if !validKey.MatchString(cfg.Key) || cfg.Key[0] == '.' || cfg.Key[len(cfg.Key)-1] == '.' {
		return cfg, fmt.Errorf("lease: key %q: only letters, digits and -/_=. are allowed, not at the ends", cfg.Key)
	}
	if cfg.Identity == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "unknown"
		}
		cfg.Identity = host + "-" + strconv.Itoa(os.Getpid())
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < minTTL {
		return cfg, fmt.Errorf("lease: ttl %v is shorter than the %v NATS allows", cfg.TTL, minTTL)
	}
	if cfg.RenewEvery == 0 {
		cfg.RenewEvery = DefaultRenewEvery(cfg.TTL)
	}
	if cfg.RenewEvery <= 0 || cfg.RenewEvery >= cfg.TTL-margin(cfg.TTL) {
		return cfg, fmt.Errorf("lease: renew_every %v must be positive and shorter than ttl - ttl/5 (%v)", cfg.RenewEvery, cfg.TTL-margin(cfg.TTL))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return cfg, nil
}

// margin is how long before its lease could expire a leader stops acting.
func margin(ttl time.Duration) time.Duration { return ttl / 5 }

// DefaultRenewEvery is how often a lease of ttl is renewed, and a standby
// polls it, when Config.RenewEvery is not set.
func DefaultRenewEvery(ttl time.Duration) time.Duration { return ttl / 3 }
