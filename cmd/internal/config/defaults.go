package config

import "time"

// Default returns the configuration used for every key the file leaves
// out. The defaults are the safe choices: delete nothing in a hurry, write
// slowly, expose nothing.
func Default() *Config {
	return &Config{
		Log: Log{Level: "info", Format: "json"},
		Lightdash: Lightdash{
			Timeout:    30 * time.Second,
			RateLimit:  5,
			Burst:      5,
			MaxRetries: 5,
		},
		Mapping:  Mapping{MaxDepth: 10},
		Identity: Identity{Unmatched: "skip", InviteExpiry: 7 * 24 * time.Hour},
		Sync: Sync{
			Policy:              "sync",
			Membership:          "authoritative",
			Concurrency:         4,
			CacheMaxAge:         10 * time.Minute,
			UserRefreshInterval: 30 * time.Second,
			Safety: Safety{
				DeleteGracePeriod:        time.Hour,
				DeleteAfterReads:         2,
				MaxGroupDeletes:          10,
				MaxGroupDeletesPercent:   10,
				MaxMemberRemovals:        500,
				MaxMemberRemovalsPercent: 20,
				LimitWindow:              24 * time.Hour,
			},
		},
		Schedule: Schedule{
			Reconcile: "@hourly",
			Debounce:  500 * time.Millisecond,
			MaxDelay:  10 * time.Second,
		},
		State: State{Type: "file", Path: "lightdash-sync-state.json", Bucket: "lightdash_sync_state"},
		HA:    HA{Bucket: "lightdash_sync_leader", LeaseTTL: 10 * time.Second},
		Admin: Admin{Listen: "127.0.0.1:9464", ReadyMaxAge: 3 * time.Hour},
	}
}

// ldapDefaults fills an LDAP source's unset options.
func ldapDefaults(l *LDAPSource) {
	if l.Schema == "" {
		l.Schema = "openldap"
	}
	if l.PageSize == 0 {
		l.PageSize = 500
	}
	if l.ConnectTimeout == 0 {
		l.ConnectTimeout = 10 * time.Second
	}
	if l.Timeout == 0 {
		l.Timeout = 60 * time.Second
	}
	if l.Watch == "" {
		l.Watch = "auto"
	}
	if l.NestedGroups == "" {
		l.NestedGroups = "walk"
	}
	if l.PollInterval == 0 {
		l.PollInterval = time.Minute
	}
	if l.FullReadInterval == 0 {
		l.FullReadInterval = 10 * time.Minute
	}
}

// natsDefaults fills a NATS source's unset options.
func natsDefaults(n *NATSSource) {
	if n.Stream == "" {
		n.Stream = "DIRECTORY"
	}
	if len(n.Subjects) == 0 {
		n.Subjects = []string{"directory.>"}
	}
	if n.Consumer == "" {
		n.Consumer = "lightdash-sync"
	}
	if n.AckWait == 0 {
		n.AckWait = 60 * time.Second
	}
	if n.MaxAckPending == 0 {
		n.MaxAckPending = 100000
	}
	if n.MaxDeliver == 0 {
		n.MaxDeliver = 10
	}
	if len(n.Backoff) == 0 {
		n.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	}
	if n.DeadLetterSubject == "" {
		n.DeadLetterSubject = "lightdash-sync.dead-letter"
	}
	if n.MaxEventBytes == 0 {
		n.MaxEventBytes = 1 << 20
	}
	if n.ViewBucket == "" {
		n.ViewBucket = "lightdash_sync_directory"
	}
}
