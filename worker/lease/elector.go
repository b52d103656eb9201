package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// ErrRunning is returned by Run while another Run of the same Elector is
// going: one elector campaigns once.
var ErrRunning = errors.New("lease: elector is already running")

// ErrLost is the cause of a leaderCtx cancelled because the lease was lost
// or had to be assumed lost; see context.Cause.
var ErrLost = errors.New("lease: leadership lost")

// Elector campaigns for one unit's lease and runs a callback while it
// holds it. Its methods are safe for concurrent use.
type Elector struct {
	cfg     Config
	kv      jetstream.KeyValue
	stream  jetstream.Stream
	subject string
	log     *zap.Logger
	m       *metrics
	running atomic.Bool

	mu        sync.Mutex
	leaderCtx context.Context // non-nil during a term
	holder    string
	failing   bool // last NATS call failed; logged once until it recovers

	// renewFault, set by tests, runs before each renewal; an error makes
	// the renewal fail as a network error would.
	renewFault func() error
}

// New returns an Elector for cfg.Key, creating the bucket (TTL = cfg.TTL,
// History 1) if it is missing. It refuses an existing bucket whose TTL is
// shorter than the lease TTL: the server would free a lease its holder
// still uses. A nil logger logs nothing; a nil reg registers nothing.
func New(ctx context.Context, js jetstream.JetStream, cfg Config, logger *zap.Logger, reg prometheus.Registerer) (*Elector, error) {
	if js == nil {
		return nil, errors.New("lease: no JetStream context")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("lease: register metrics: %w", err)
	}
	kv, err := openBucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	stream, err := js.Stream(ctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("lease: open bucket %s: %w", cfg.Bucket, err)
	}
	m.leader.WithLabelValues(cfg.Key).Set(0)
	return &Elector{
		cfg:     cfg,
		kv:      kv,
		stream:  stream,
		subject: "$KV." + cfg.Bucket + "." + cfg.Key,
		log:     logger.With(zap.String("unit", cfg.Key), zap.String("identity", cfg.Identity)),
		m:       m,
	}, nil
}

func openBucket(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "lightdash-sync leader leases",
		History:     1,
		TTL:         cfg.TTL,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Made by another replica, possibly with another unit's TTL.
		kv, err = js.KeyValue(ctx, cfg.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("lease: bucket %s: %w", cfg.Bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("lease: bucket %s: %w", cfg.Bucket, err)
	}
	if ttl := st.TTL(); ttl > 0 && ttl < cfg.TTL {
		return nil, fmt.Errorf("lease: bucket %s expires values after %v, shorter than the lease ttl %v: use another bucket or a shorter ttl", cfg.Bucket, ttl, cfg.TTL)
	}
	return kv, nil
}

// IsLeader reports whether this replica holds the lease now, that is
// whether a leaderCtx is live.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leaderCtx != nil && e.leaderCtx.Err() == nil
}

// Holder returns the identity of the replica last seen holding the lease
// (this one's while it leads), or "" when the lease is free or unknown.
func (e *Elector) Holder() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.holder
}

// Identity returns this replica's identity as written in the lease.
func (e *Elector) Identity() string { return e.cfg.Identity }

// Unit returns the lease key.
func (e *Elector) Unit() string { return e.cfg.Key }

func (e *Elector) setHolder(h string) {
	e.mu.Lock()
	e.holder = h
	e.mu.Unlock()
}

// natsError records a failed NATS call: logged once, then quiet until a
// call succeeds again, so an outage does not flood the log.
func (e *Elector) natsError(op string, err error) {
	e.m.errors.WithLabelValues(e.cfg.Key).Inc()
	e.mu.Lock()
	first := !e.failing
	e.failing = true
	e.mu.Unlock()
	if first {
		e.log.Warn("lease: NATS call failed; retrying", zap.String("op", op), zap.Error(err))
	}
}

func (e *Elector) natsOK() {
	e.mu.Lock()
	recovered := e.failing
	e.failing = false
	e.mu.Unlock()
	if recovered {
		e.log.Info("lease: NATS calls succeed again")
	}
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
