package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Validate checks every setting and returns the first problem as an
// *Error naming its key (and line, when the file gave the key).
func (c *Config) Validate() error {
	checks := []func() error{c.validateLog, c.validateTargets, c.validateSources, c.validateUnits, c.validateSchedule, c.validateState, c.validateAdmin}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) errorf(key, format string, args ...any) *Error {
	line := 0
	// Name the closest line the file has: the key itself, or its parent.
	for k := key; k != ""; {
		if l, ok := c.keyLines[k]; ok {
			line = l
			break
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return &Error{Key: key, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (c *Config) validateLog() error {
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		return c.errorf("log.level", "%q is not a level (want debug, info, warn or error)", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "json", "console") {
		return c.errorf("log.format", "%q is not a format (want json or console)", c.Log.Format)
	}
	return nil
}

// validateLightdash checks a lightdash section; prefix is "" or
// "targets[N]." and starts every key named.
func (c *Config) validateLightdash(prefix string, l *Lightdash) error {
	if l.URL == "" {
		return c.errorf(prefix+"lightdash.url", "required: the Lightdash instance's base URL, e.g. https://app.lightdash.cloud")
	}
	var bad *lightdash.URLError
	if errors.As(lightdash.CheckURL(l.URL), &bad) {
		return c.errorf(prefix+"lightdash.url", "%q: %s", bad.URL, bad.Reason)
	}
	u, _ := url.Parse(l.URL) // checked above
	if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) && !l.AllowInsecureHTTP {
		return c.errorf(prefix+"lightdash.url", "plain http:// to %s would send the token unencrypted; use https:// or set lightdash.allow_insecure_http: true", u.Hostname())
	}
	if l.Token == "" {
		return c.errorf(prefix+"lightdash.token", "required: set lightdash.token (e.g. ${LIGHTDASH_TOKEN}) or lightdash.token_file")
	}
	if l.Timeout <= 0 {
		return c.errorf(prefix+"lightdash.timeout", "must be positive")
	}
	if l.RateLimit <= 0 {
		return c.errorf(prefix+"lightdash.rate_limit", "must be positive (requests per second)")
	}
	if l.Burst < 1 {
		return c.errorf(prefix+"lightdash.burst", "must be at least 1")
	}
	if l.MaxRetries < 0 {
		return c.errorf(prefix+"lightdash.max_retries", "must not be negative")
	}
	return nil
}

// IsLoopbackHost reports whether host names this machine, where plain
// text cannot be overheard.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var sourceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// uniqueName checks a source's or target's name against its pattern and
// the names seen so far, and records it.
func (c *Config) uniqueName(key, kind, name string, re *regexp.Regexp, rule string, seen map[string]bool) error {
	if !re.MatchString(name) {
		return c.errorf(key, "%q is not a valid %s name (%s)", name, kind, rule)
	}
	if seen[name] {
		return c.errorf(key, "%s %q is defined twice", kind, name)
	}
	seen[name] = true
	return nil
}

func (c *Config) validateSources() error {
	if len(c.Sources) == 0 {
		return c.errorf("sources", "required: at least one source (ldap or nats)")
	}
	names := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		key := fmt.Sprintf("sources[%d]", i)
		if err := c.uniqueName(key+".name", "source", s.Name, sourceNameRE, "lowercase letters, digits, - and _, at most 63", names); err != nil {
			return err
		}
		switch s.Type {
		case "ldap":
			if s.LDAP == nil || s.NATS != nil {
				return c.errorf(key, "type ldap needs an ldap: section and no nats: section")
			}
			if err := c.validateLDAP(key+".ldap", s); err != nil {
				return err
			}
		case "nats":
			if s.NATS == nil || s.LDAP != nil {
				return c.errorf(key, "type nats needs a nats: section and no ldap: section")
			}
			if err := c.validateNATS(key+".nats", s); err != nil {
				return err
			}
		default:
			return c.errorf(key+".type", "%q is not a source type (want ldap or nats)", s.Type)
		}
	}
	return nil
}

// validateLDAP checks an ldap source with the ldap package's rules, then
// refuses a plain-text bind to another host unless allowed.
func (c *Config) validateLDAP(key string, s *Source) error {
	if err := s.LDAPConfig().Validate(); err != nil {
		return c.libraryError(key, err)
	}
	l := s.LDAP
	for i, raw := range l.URLs {
		u, _ := url.Parse(raw) // the ldap package has parsed it
		if u.Scheme == "ldap" && !l.StartTLS && !IsLoopbackHost(u.Hostname()) && !l.AllowInsecure {
			return c.errorf(fmt.Sprintf("%s.urls[%d]", key, i), "ldap:// to %s without start_tls would send the bind password unencrypted; set start_tls: true, use ldaps://, or set allow_insecure: true", u.Hostname())
		}
	}
	return nil
}

// validateNATS checks a nats source: its URL schemes and encryption and
// its single way to authenticate here, the rest with the nats package's
// rules.
func (c *Config) validateNATS(key string, s *Source) error {
	n := s.NATS
	for i, raw := range n.URLs {
		u, err := url.Parse(raw)
		if err != nil || !oneOf(u.Scheme, "nats", "tls", "ws", "wss") || u.Host == "" {
			return c.errorf(fmt.Sprintf("%s.urls[%d]", key, i), "%q is not a nats:// or tls:// URL", redact.URL(raw))
		}
		if !natsEncrypted(u.Scheme, n) && !IsLoopbackHost(u.Hostname()) && !n.AllowInsecure {
			return c.errorf(fmt.Sprintf("%s.urls[%d]", key, i), "%s:// to %s without TLS would send the credentials and directory events unencrypted; use tls:// (or wss://), set ca_file, or set allow_insecure: true", u.Scheme, u.Hostname())
		}
	}
	auth := 0
	for _, set := range []bool{n.CredsFile != "", n.NKeySeedFile != "", n.Token != "", n.User != ""} {
		if set {
			auth++
		}
	}
	if auth > 1 {
		return c.errorf(key, "give one of creds_file, nkey_seed_file, token or user/password")
	}
	if err := s.NATSConfig().Validate(); err != nil {
		return c.libraryError(key, err)
	}
	return nil
}

// natsEncrypted reports whether a connection with this URL scheme is sure
// to use TLS: tls:// and wss:// always do, and nats.go insists on TLS for
// nats:// once a CA or client certificate is configured. A server that
// merely offers TLS does not count: an attacker in the path can hide it.
func natsEncrypted(scheme string, n *NATSSource) bool {
	switch scheme {
	case "tls", "wss":
		return true
	case "nats":
		return n.CAFile != "" || n.CertFile != ""
	}
	return false
}

// validateMapping checks a mapping section with the worker's rules, and
// that its rules and overrides name configured sources; prefix is "" or
// "targets[N].".
func (c *Config) validateMapping(prefix string, m *Mapping) error {
	if err := m.Worker().Validate(); err != nil {
		return c.libraryError(prefix+"mapping", err)
	}
	sources := map[string]bool{}
	for _, s := range c.Sources {
		sources[s.Name] = true
	}
	for i, r := range m.Rules {
		if r.Source != "" && !sources[r.Source] {
			return c.errorf(prefix+fmt.Sprintf("mapping.rules[%d].source", i), "no source is named %q", r.Source)
		}
	}
	for i, o := range m.Overrides {
		if o.Source != "" && !sources[o.Source] {
			return c.errorf(prefix+fmt.Sprintf("mapping.overrides[%d].source", i), "no source is named %q", o.Source)
		}
	}
	return nil
}

// validatePolicy checks an identity and a sync section, the planning
// choices with the worker's rules; each prefix is "" or "targets[N].".
func (c *Config) validatePolicy(idPrefix string, id *Identity, sPrefix string, s *Sync) error {
	if err := PlanOptions(*id, *s).Validate(); err != nil {
		var ce *sources.ConfigError
		if errors.As(err, &ce) && ce.Key == "unmatched" {
			return c.libraryError(idPrefix+"identity", err)
		}
		return c.libraryError(sPrefix+"sync", err)
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		return c.errorf(sPrefix+"sync.concurrency", "must be between 1 and 64")
	}
	if s.CacheMaxAge <= 0 || s.UserRefreshInterval <= 0 {
		return c.errorf(sPrefix+"sync.cache_max_age", "cache_max_age and user_refresh_interval must be positive")
	}
	return nil
}

func (c *Config) validateSchedule() error {
	if _, err := c.Schedule.Location(); err != nil {
		return c.errorf("schedule.time_zone", "%v", err)
	}
	if _, err := cron.ParseStandard(c.Schedule.Reconcile); err != nil {
		return c.errorf("schedule.reconcile", "%q is not a cron expression or descriptor: %v", c.Schedule.Reconcile, err)
	}
	if c.Schedule.Debounce < 0 {
		return c.errorf("schedule.debounce", "must not be negative")
	}
	if c.Schedule.MaxDelay < c.Schedule.Debounce {
		return c.errorf("schedule.max_delay", "must be at least schedule.debounce")
	}
	return nil
}

// Location is the schedule's time zone.
func (s Schedule) Location() (*time.Location, error) {
	if s.TimeZone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(s.TimeZone)
}

func (c *Config) natsSource(name string) bool {
	for _, s := range c.Sources {
		if s.Name == name && s.Type == "nats" {
			return true
		}
	}
	return false
}

func (c *Config) validateState() error {
	switch c.State.Type {
	case "file":
		if c.State.Path == "" {
			return c.errorf("state.path", "required for a file state store")
		}
	case "nats":
		if !c.natsSource(c.State.Source) {
			return c.errorf("state.source", "must name a nats source (got %q)", c.State.Source)
		}
	default:
		return c.errorf("state.type", "%q is not a state store (want file or nats)", c.State.Type)
	}
	if c.HA.Enabled {
		if !c.natsSource(c.HA.Source) {
			return c.errorf("ha.source", "leader election needs a nats source (got %q)", c.HA.Source)
		}
		if c.State.Type != "nats" {
			return c.errorf("state.type", "with ha.enabled the state must be shared: set state.type: nats")
		}
		if c.HA.LeaseTTL < 3*time.Second {
			return c.errorf("ha.lease_ttl", "must be at least 3s")
		}
	}
	return nil
}

func (c *Config) validateAdmin() error {
	if c.Admin.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			return c.errorf("admin.listen", "%q is not host:port", c.Admin.Listen)
		}
	}
	if c.Admin.ReadyMaxAge <= 0 {
		return c.errorf("admin.ready_max_age", "must be positive")
	}
	return nil
}

// readSecretFiles loads every *_file secret. Giving both a value and a
// file is an error, so it is never unclear which one is in force.
func (c *Config) readSecretFiles() error {
	type pair struct {
		key    string
		secret *Secret
		file   string
	}
	pairs := []pair{
		{"lightdash.token", &c.Lightdash.Token, c.Lightdash.TokenFile},
		{"admin.token", &c.Admin.Token, c.Admin.TokenFile},
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		pairs = append(pairs, pair{fmt.Sprintf("targets[%d].lightdash.token", i), &t.Lightdash.Token, t.Lightdash.TokenFile})
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		key := fmt.Sprintf("sources[%d]", i)
		if s.LDAP != nil {
			pairs = append(pairs, pair{key + ".ldap.bind_password", &s.LDAP.BindPassword, s.LDAP.BindPasswordFile})
		}
		if s.NATS != nil {
			pairs = append(pairs,
				pair{key + ".nats.token", &s.NATS.Token, s.NATS.TokenFile},
				pair{key + ".nats.password", &s.NATS.Password, s.NATS.PasswordFile})
		}
	}
	for _, p := range pairs {
		if p.file == "" {
			continue
		}
		if *p.secret != "" {
			return c.errorf(p.key, "give %s or %s_file, not both", p.key, p.key)
		}
		v, err := readSecretFile(p.file)
		if err != nil {
			return c.errorf(p.key+"_file", "%v", err)
		}
		*p.secret = Secret(v)
	}
	return nil
}

// maxSecretFile bounds a *_file secret: no token or password is this big.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret, dropping one trailing newline as editors
// and `kubectl create secret --from-file` leave them.
func readSecretFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, unwrapPathError(err))
	}
	if st.Size() > maxSecretFile {
		return "", fmt.Errorf("%s is larger than 64 KiB; is it the right file?", path)
	}
	// Read through a limit too: a device or a file still growing reports
	// a size that does not bound what it yields.
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, unwrapPathError(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, unwrapPathError(err))
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than 64 KiB; is it the right file?", path)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}
