package ldap

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Source reads groups and users from an LDAP directory and follows its
// changes. It is safe for concurrent use: every call opens its own
// connection.
type Source struct {
	cfg     Config
	log     *zap.Logger
	metrics *metrics
	dec     decoder
	cookies CookieStore
	// dirSyncOpen opens the DirSync connection; replaced by tests with
	// recorded responses.
	dirSyncOpen func() dirSyncer
	// onRefreshDone, when set by tests, is called each time a syncrepl
	// refresh phase or a DirSync poll ends, so tests change the directory
	// only once the watcher reports every change.
	onRefreshDone func()
	// share hands the watcher's first read to the start-up Snapshot
	// (share.go).
	share handoff
	// ws lets Snapshot take the directory from the syncrepl or DirSync
	// watcher's state (watchstate.go).
	ws watchState
}

func (s *Source) hookRefreshDone() {
	if s.onRefreshDone != nil {
		s.onRefreshDone()
	}
}

var (
	_ sources.Source      = (*Source)(nil)
	_ sources.GroupReader = (*Source)(nil)
	_ sources.Watcher     = (*Source)(nil)
)

// New checks cfg, fills in the schema preset and returns a Source. It does
// not connect. A nil logger logs nothing; a nil registerer registers no
// metrics. cookies persists watch cookies; nil keeps them in memory.
func New(cfg Config, cookies CookieStore, logger *zap.Logger, reg prometheus.Registerer) (*Source, error) {
	full, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("ldap source %q: %w", full.Name, err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("ldap source %q: register metrics: %w", full.Name, err)
	}
	if cookies == nil {
		cookies = NewMemoryCookieStore()
	}
	s := &Source{cfg: full, log: logger.With(zap.String("source", full.Name)), metrics: m, cookies: cookies}
	s.dec = decoder{cfg: &s.cfg}
	if full.InsecureSkipVerify {
		s.log.Warn("ldap TLS certificate verification is turned off by configuration (insecureSkipVerify)")
	}
	return s, nil
}

// Name is the configured source name.
func (s *Source) Name() string { return s.cfg.Name }

// String describes the source without secrets.
func (s *Source) String() string {
	return fmt.Sprintf("ldap source %q (%v, bind %q)", s.cfg.Name, redact.URLs(s.cfg.URLs), s.cfg.BindDN)
}

// errIncomplete marks read problems that leave a usable but partial result.
var errIncomplete = errors.New("incomplete read")
