package config

import (
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap"
	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// Default returns the configuration used for every key the file leaves
// out. The defaults are the safe choices: delete nothing in a hurry, write
// slowly, expose nothing. Settings of a library take its defaults.
func Default() *Config {
	l := worker.DefaultLimits()
	return &Config{
		Log: Log{Level: "info", Format: "json"},
		Lightdash: Lightdash{
			Timeout:    lightdash.DefaultTimeout,
			RateLimit:  lightdash.DefaultRateLimit,
			Burst:      lightdash.DefaultBurst,
			MaxRetries: lightdash.DefaultMaxRetries,
		},
		Mapping:  Mapping{MaxDepth: worker.DefaultMaxDepth},
		Identity: Identity{Unmatched: string(worker.UnmatchedSkip), InviteExpiry: worker.DefaultInviteExpiry},
		Sync: Sync{
			Policy:              string(worker.PolicySync),
			Membership:          string(worker.MembershipAuthoritative),
			Access:              string(worker.AccessAuthoritative),
			Concurrency:         worker.DefaultConcurrency,
			CacheMaxAge:         worker.DefaultCacheMaxAge,
			UserRefreshInterval: worker.DefaultUserRefreshInterval,
			Safety: Safety{
				DeleteGracePeriod:        l.DeleteGracePeriod,
				DeleteAfterReads:         l.DeleteAfterReads,
				MaxGroupDeletes:          l.MaxGroupDeletes,
				MaxGroupDeletesPercent:   l.MaxGroupDeletesPercent,
				MaxMemberRemovals:        l.MaxMemberRemovals,
				MaxMemberRemovalsPercent: l.MaxMemberRemovalsPercent,
				LimitWindow:              l.LimitWindow,
			},
		},
		Schedule: Schedule{
			Reconcile: "@hourly",
			Debounce:  500 * time.Millisecond,
			MaxDelay:  10 * time.Second,
		},
		State: State{Type: "file", Path: "lightdash-sync-state.json", Bucket: "lightdash_sync_state"},
		HA:    HA{Bucket: "lightdash_sync_leader", LeaseTTL: 10 * time.Second},
		Admin: Admin{Listen: "127.0.0.1:9464", ReadyMaxAge: 3 * time.Hour, Explain: true},
	}
}

// ldapDefaults fills an LDAP source's unset options with the ldap
// package's defaults.
func ldapDefaults(l *LDAPSource) {
	orDefault(&l.Schema, ldap.DefaultSchema)
	orDefault(&l.PageSize, ldap.DefaultPageSize)
	orDefault(&l.ConnectTimeout, ldap.DefaultConnectTimeout)
	orDefault(&l.Timeout, ldap.DefaultTimeout)
	orDefault(&l.Watch, ldap.DefaultWatch)
	orDefault(&l.NestedGroups, ldap.DefaultNestedGroups)
	orDefault(&l.PollInterval, ldap.DefaultPollInterval)
	orDefault(&l.FullReadInterval, ldap.DefaultFullReadInterval)
	orDefault(&l.WatchSnapshotMaxAge, ldap.DefaultWatchSnapshotMaxAge)
}

// natsDefaults fills a NATS source's unset options with the nats
// package's defaults.
func natsDefaults(n *NATSSource) {
	orDefault(&n.Stream, natssource.DefaultStream)
	if len(n.Subjects) == 0 {
		n.Subjects = append([]string(nil), natssource.DefaultSubjects...)
	}
	orDefault(&n.Consumer, natssource.DefaultConsumer)
	orDefault(&n.AckWait, natssource.DefaultAckWait)
	orDefault(&n.MaxAckPending, natssource.DefaultMaxAckPending)
	orDefault(&n.MaxDeliver, natssource.DefaultMaxDeliver)
	if len(n.Backoff) == 0 {
		n.Backoff = append([]time.Duration(nil), natssource.DefaultBackoff...)
	}
	orDefault(&n.DeadLetterSubject, natssource.DefaultDeadLetterSubject)
	orDefault(&n.MaxEventBytes, natssource.DefaultMaxBytes)
	orDefault(&n.ViewBucket, natssource.DefaultViewBucket)
}

// orDefault sets *v to def when it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
