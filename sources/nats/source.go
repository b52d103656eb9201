package nats

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Source reads directory-change events from a JetStream stream and keeps
// the materialised view they describe in a key-value bucket.
type Source struct {
	cfg  Config
	log  *zap.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	view *view
	dec  Decoder
	m    *metrics
}

var (
	_ sources.Source      = (*Source)(nil)
	_ sources.GroupReader = (*Source)(nil)
	_ sources.Watcher     = (*Source)(nil)
)

// New connects, binds to (or creates) the stream, creates or updates the
// durable consumer, opens the view bucket and rebuilds the in-memory index
// from it. The first connection must succeed; after that the connection
// reconnects forever. logger nil means no logging; reg nil means no metrics
// are registered.
func New(ctx context.Context, cfg Config, logger *zap.Logger, reg prometheus.Registerer) (*Source, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("nats source config: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Source{
		cfg: cfg,
		log: logger.With(zap.String("source", cfg.Name)),
		dec: Decoder{MaxBytes: cfg.MaxEventBytes, MaxMembers: cfg.MaxMembers, MaxClockSkew: cfg.MaxClockSkew},
	}
	var err error
	if s.nc, err = connect(cfg, s.log); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.nc.Close()
		}
	}()
	s.m, err = newMetrics(reg, cfg.Name, func() float64 {
		if s.nc.IsConnected() {
			return 1
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if _, err := s.ensureConsumer(ctx); err != nil {
		return nil, err
	}
	if s.view, err = openView(ctx, s.js, cfg.ViewBucket, cfg.ViewMaxBytes, time.Now); err != nil {
		return nil, err
	}
	s.view.maxSeqJump = cfg.MaxSequenceJump
	s.log.Info("nats source ready", zap.Stringer("config", cfg))
	ok = true
	return s, nil
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.cfg.Name }

// Connected reports whether the connection to NATS is up; health checks
// use it.
func (s *Source) Connected() bool { return s.nc.IsConnected() }

// State is the connection state: "CONNECTED", "RECONNECTING", "CLOSED", ...
func (s *Source) State() string { return s.nc.Status().String() }

// Close closes the connection. Events handed out and not yet acknowledged
// are redelivered to the next consumer.
func (s *Source) Close() { s.nc.Close() }

// Snapshot reads the whole view. Complete is true when every entry was read
// and parsed. An empty bucket (new, or wiped by an operator) gives a
// complete, empty snapshot: the worker's deletion thresholds are what keep
// that from emptying Lightdash.
func (s *Source) Snapshot(ctx context.Context) (*sources.Snapshot, error) {
	recs, bad, err := s.view.readAll(ctx)
	if err != nil {
		s.m.viewErrors.Inc()
		return nil, fmt.Errorf("nats source %s: %w", s.cfg.Name, err)
	}
	snap := &sources.Snapshot{Source: s.cfg.Name, Complete: bad == 0, ReadAt: time.Now()}
	snap.Groups, snap.Users = fullSnapshot(recs)
	if bad > 0 {
		s.m.viewErrors.Add(float64(bad))
		snap.IncompleteReason = fmt.Sprintf("%d view entries in bucket %s could not be parsed", bad, s.cfg.ViewBucket)
	}
	return snap, nil
}

// ReadGroups reads the named groups, the groups nested below them and their
// member users from the view. Unknown and deleted groups are absent.
func (s *Source) ReadGroups(ctx context.Context, groupIDs []string) (*sources.Snapshot, error) {
	groups, users, err := s.view.readGroups(ctx, groupIDs)
	if err != nil {
		s.m.viewErrors.Inc()
		return nil, fmt.Errorf("nats source %s: %w", s.cfg.Name, err)
	}
	return &sources.Snapshot{Source: s.cfg.Name, Groups: groups, Users: users, Complete: true, ReadAt: time.Now()}, nil
}

// ensureConsumer binds to or creates the stream and creates or updates the
// durable pull consumer.
func (s *Source) ensureConsumer(ctx context.Context) (jetstream.Consumer, error) {
	c := s.cfg
	stream, err := s.js.Stream(ctx, c.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) && c.CreateStream {
		stream, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        c.Stream,
			Description: "lightdash-sync directory-change events",
			Subjects:    c.Subjects,
			Storage:     jetstream.FileStorage,
			Duplicates:  c.DuplicateWindow,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			stream, err = s.js.Stream(ctx, c.Stream)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bind to stream %q: %w", c.Stream, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:        c.Consumer,
		Description:    "lightdash-sync",
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.AckWait,
		MaxAckPending:  c.MaxAckPending,
		MaxDeliver:     c.MaxDeliver,
		FilterSubjects: c.Subjects,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %q on stream %q: %w", c.Consumer, c.Stream, err)
	}
	return cons, nil
}

// connect opens the one kind of connection the binary makes to NATS: the
// source's, which the state store and the leader lease share. Errors never
// show credentials written into the URLs.
func connect(cfg Config, log *zap.Logger) (*nats.Conn, error) {
	opts, err := connOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats: %w", redact.Error(err, cfg.URLs...))
	}
	return nc, nil
}

func connOptions(c Config, log *zap.Logger) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name("lightdash-sync/" + c.Name),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			return backoffDelay(c.ReconnectWait, c.MaxReconnectWait, attempts)
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return // our own Close: nothing to reconnect to
			}
			log.Warn("nats disconnected; reconnecting", zap.Error(err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", zap.String("server", nc.ConnectedServerId()))
		}),
		nats.ClosedHandler(func(*nats.Conn) { log.Info("nats connection closed") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats async error", zap.Error(err))
		}),
	}
	if !c.tlsRequired() {
		// Servers a cluster advertises are not the ones configured, and
		// without TLS required the client would fail over to them in
		// plain text.
		opts = append(opts, nats.IgnoreDiscoveredServers())
	}
	auth, err := authOptions(c)
	if err != nil {
		return nil, err
	}
	return append(opts, auth...), nil
}

// authOptions are the credentials and TLS material of c.
func authOptions(c Config) ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.CAFile != "" {
		opts = append(opts, nats.RootCAs(c.CAFile))
	}
	if c.CertFile != "" {
		opts = append(opts, nats.ClientCert(c.CertFile, c.KeyFile))
	}
	return opts, nil
}

// backoffDelay doubles from first up to max, with up to 20% jitter so that
// many clients do not reconnect in step.
func backoffDelay(first, max time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// JetStream returns the source's JetStream context, so that the daemon can
// keep its ownership state and leader lease on the same connection.
func (s *Source) JetStream() jetstream.JetStream { return s.js }
