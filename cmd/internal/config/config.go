// Package config loads lightdash-sync's YAML configuration: defaults, then
// the file (strict: an unknown key or a wrong type is an error naming the key
// and its line), with ${ENV_VAR} expansion in values and *_file secrets, then
// Validate. Only cmd/ imports it; library packages take plain Go values.
package config

import "time"

// Config is the whole configuration file. The YAML keys are snake_case.
type Config struct {
	Log       Log       `yaml:"log"`
	Lightdash Lightdash `yaml:"lightdash"`
	Sources   []Source  `yaml:"sources"`
	Mapping   Mapping   `yaml:"mapping"`
	Identity  Identity  `yaml:"identity"`
	Sync      Sync      `yaml:"sync"`
	Schedule  Schedule  `yaml:"schedule"`
	State     State     `yaml:"state"`
	HA        HA        `yaml:"ha"`
	Admin     Admin     `yaml:"admin"`
	// Targets, instead of Lightdash, lists several Lightdash organizations
	// or instances kept in step with the same sources; see Units.
	Targets []Target `yaml:"targets,omitempty"`

	// TargetName names the unit this Config is, in a Config returned by
	// Units; "" for a configuration without targets.
	TargetName string `yaml:"-"`

	// keyLines maps a dotted key to its line in the file, for errors.
	keyLines map[string]int
	// inline lists the keys of secrets written literally in the file;
	// warnings is what Warnings returns.
	inline   []string
	warnings []string
}

// Log sets the log level and format.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json (the default, for log pipelines) or console (for people).
	Format string `yaml:"format"`
}

// Lightdash is the Lightdash instance and organization to keep in step.
type Lightdash struct {
	// URL is the instance's base URL, e.g. https://app.lightdash.cloud or
	// https://lightdash.example.com/prefix.
	URL string `yaml:"url"`
	// Token is a personal access token of an organization admin.
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `yaml:"timeout"`
	// RateLimit is the most requests per second sent to Lightdash; Burst the
	// most sent at once. Every token-authenticated call costs the server a
	// bcrypt hash (~50 ms of CPU), so keep this modest.
	RateLimit float64 `yaml:"rate_limit"`
	Burst     int     `yaml:"burst"`
	// MaxRetries is how many times a retryable failure is retried.
	MaxRetries int `yaml:"max_retries"`
	// CAFile adds a CA bundle for a self-hosted instance with a private CA.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify turns TLS verification off. Logged loudly.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// AllowInsecureHTTP permits plain http:// to a non-loopback host.
	AllowInsecureHTTP bool `yaml:"allow_insecure_http"`
}

// Source is one directory source. Exactly one of LDAP and NATS is set,
// matching Type.
type Source struct {
	// Name identifies the source in mapping rules, logs, metrics and state.
	Name string `yaml:"name"`
	// Type is ldap or nats.
	Type string      `yaml:"type"`
	LDAP *LDAPSource `yaml:"ldap"`
	NATS *NATSSource `yaml:"nats"`
}

// Identity says how directory users become Lightdash users.
type Identity struct {
	// Unmatched is what happens to a directory user with no Lightdash
	// account: skip (reported, retried every run) or invite (creates a
	// pending Lightdash user; Lightdash emails them).
	Unmatched string `yaml:"unmatched"`
	// InviteExpiry is how long an invite link stays valid.
	InviteExpiry time.Duration `yaml:"invite_expiry"`
}

// Sync is the sync policy and its safety limits.
type Sync struct {
	// Policy is sync (create, update and delete owned groups), upsert-only
	// (never delete groups) or create-only.
	Policy string `yaml:"policy"`
	// Membership is authoritative (the directory decides every member of an
	// owned group) or preserve-manual (only members the sync added are
	// ever removed).
	Membership string `yaml:"membership"`
	// Access is authoritative (on the projects and spaces the mapping
	// names, owned groups have exactly the configured grants) or
	// preserve-manual (only grants the sync made are ever revoked).
	Access string `yaml:"access"`
	// Adopt takes over an existing Lightdash group with a wanted name
	// instead of reporting it as a conflict.
	Adopt bool `yaml:"adopt"`
	// DryRun computes and logs plans but writes nothing to Lightdash.
	DryRun bool `yaml:"dry_run"`
	// Concurrency is how many groups are written to Lightdash at once.
	Concurrency int    `yaml:"concurrency"`
	Safety      Safety `yaml:"safety"`
	// CacheMaxAge bounds how old the cached view of Lightdash that live
	// changes are planned against may be; every full reconciliation
	// refreshes it. UserRefreshInterval is the least time between two reads
	// of the Lightdash users caused by directory emails the cache lacks.
	CacheMaxAge         time.Duration `yaml:"cache_max_age"`
	UserRefreshInterval time.Duration `yaml:"user_refresh_interval"`
}

// Safety holds the limits checked before anything is deleted.
type Safety struct {
	// DeleteGracePeriod is how long a group must be absent from the
	// directory before its Lightdash group is deleted; DeleteAfterReads how
	// many consecutive complete reads must miss it. Both must hold.
	DeleteGracePeriod time.Duration `yaml:"delete_grace_period"`
	DeleteAfterReads  int           `yaml:"delete_after_reads"`
	// MaxGroupDeletes and MaxGroupDeletesPercent cap the groups deleted
	// within LimitWindow; above either, deletions are held back and the run
	// is blocked.
	MaxGroupDeletes        int     `yaml:"max_group_deletes"`
	MaxGroupDeletesPercent float64 `yaml:"max_group_deletes_percent"`
	// MaxMemberRemovals and MaxMemberRemovalsPercent do the same for
	// memberships removed within LimitWindow.
	MaxMemberRemovals        int     `yaml:"max_member_removals"`
	MaxMemberRemovalsPercent float64 `yaml:"max_member_removals_percent"`
	// LimitWindow is the rolling period the four limits above cover,
	// across full and live runs; zero makes them per run.
	LimitWindow time.Duration `yaml:"limit_window"`
}

// Schedule is when full reconciliations run and how events are coalesced.
type Schedule struct {
	// Reconcile is a cron expression (5 fields) or descriptor (@hourly,
	// @every 15m) for the full reconciliation.
	Reconcile string `yaml:"reconcile"`
	// TimeZone is an IANA zone name for Reconcile; empty means UTC.
	TimeZone string `yaml:"time_zone"`
	// Debounce: a quiet group's first change is applied at once, the
	// changes that follow are gathered until the group has been quiet this
	// long; MaxDelay bounds the wait for a group that keeps changing.
	Debounce time.Duration `yaml:"debounce"`
	MaxDelay time.Duration `yaml:"max_delay"`
}

// State is where the sync records which Lightdash groups it owns.
type State struct {
	// Type is file (the default) or nats (a JetStream key-value bucket,
	// needed when several replicas run).
	Type string `yaml:"type"`
	// Path is the state file for type file.
	Path string `yaml:"path"`
	// Source names the nats source whose connection holds the bucket.
	Source string `yaml:"source"`
	// Bucket is the key-value bucket for type nats.
	Bucket string `yaml:"bucket"`
}

// HA is leader election between replicas, through a NATS key-value lease.
type HA struct {
	Enabled bool `yaml:"enabled"`
	// Source names the nats source whose connection holds the lease.
	Source string `yaml:"source"`
	Bucket string `yaml:"bucket"`
	// LeaseTTL is how long a lease lasts without renewal; a standby takes
	// over within about this time after the leader dies.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// Admin is the HTTP listener for health, metrics and the status page.
type Admin struct {
	// Listen is host:port; empty disables the listener. Defaults to
	// localhost so nothing is exposed unless asked for.
	Listen string `yaml:"listen"`
	// Token guards state-changing endpoints (POST /reconcile).
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// ReadyMaxAge is how recent the last successful full reconciliation
	// must be for /readyz to answer ready.
	ReadyMaxAge time.Duration `yaml:"ready_max_age"`
	// Explain serves /explain from the daemon's last full reconciliation,
	// which it then keeps in memory between runs.
	Explain bool `yaml:"explain"`
}
