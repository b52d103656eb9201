package config

import "time"

// LDAPSource configures an LDAP directory (OpenLDAP, 389-DS, Active Directory).
type LDAPSource struct {
	// URLs are tried in order (failover): ldap://, ldaps:// or ldapi://.
	URLs URLs `yaml:"urls"`
	// StartTLS upgrades an ldap:// connection before binding.
	StartTLS bool `yaml:"start_tls"`
	// CAFile, CertFile/KeyFile (client certificate) and ServerName set TLS.
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns certificate verification off. Logged loudly.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// AllowInsecure permits ldap:// without StartTLS to a non-loopback host.
	AllowInsecure bool `yaml:"allow_insecure"`
	// BindDN and BindPassword (or BindPasswordFile) authenticate; an empty
	// BindDN is an anonymous bind, allowed only with Anonymous set.
	BindDN           string `yaml:"bind_dn"`
	BindPassword     Secret `yaml:"bind_password"`
	BindPasswordFile string `yaml:"bind_password_file"`
	Anonymous        bool   `yaml:"anonymous"`
	// Schema is a preset: openldap, rfc2307bis, rfc2307, 389ds or
	// activedirectory. The attribute settings below override it.
	Schema string `yaml:"schema"`

	UserBaseDN  string `yaml:"user_base_dn"`
	UserScope   string `yaml:"user_scope"`
	UserFilter  string `yaml:"user_filter"`
	GroupBaseDN string `yaml:"group_base_dn"`
	GroupScope  string `yaml:"group_scope"`
	GroupFilter string `yaml:"group_filter"`

	// The attributes below override the schema preset.
	//
	// GroupObjectClasses and UserObjectClasses select the entries read.
	GroupObjectClasses []string `yaml:"group_object_classes"`
	UserObjectClasses  []string `yaml:"user_object_classes"`
	// MemberAttributes hold a group's members (member, uniqueMember,
	// memberUid); MemberValue says whether they are DNs (dn) or user names
	// (uid, for posixGroup's memberUid, matched against UserNameAttribute).
	MemberAttributes  []string `yaml:"member_attributes"`
	MemberValue       string   `yaml:"member_value"`
	UserNameAttribute string   `yaml:"user_name_attribute"`
	// IDAttribute is the stable id: entryUUID, objectGUID or nsUniqueId.
	IDAttribute string `yaml:"id_attribute"`
	// EmailAttributes are tried in order: the first is the primary address.
	EmailAttributes      []string `yaml:"email_attributes"`
	DisplayNameAttribute string   `yaml:"display_name_attribute"`
	GroupNameAttribute   string   `yaml:"group_name_attribute"`
	// Disabled is how disabled accounts are recognised: none, ad
	// (userAccountControl bit 2) or attribute (DisabledAttribute holds one
	// of DisabledValues).
	Disabled          string   `yaml:"disabled"`
	DisabledAttribute string   `yaml:"disabled_attribute"`
	DisabledValues    []string `yaml:"disabled_values"`

	PageSize       int           `yaml:"page_size"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	Timeout        time.Duration `yaml:"timeout"`

	// NestedGroups is how nested groups are expanded: walk (follow member
	// groups; default) or in_chain (Active Directory's
	// LDAP_MATCHING_RULE_IN_CHAIN, one search per group).
	NestedGroups string `yaml:"nested_groups"`

	// Watch is how live changes are followed: auto, syncrepl, dirsync,
	// poll or none.
	Watch        string        `yaml:"watch"`
	PollInterval time.Duration `yaml:"poll_interval"`
	// FullReadInterval is how often poll mode reads everything to notice
	// deletions.
	FullReadInterval time.Duration `yaml:"full_read_interval"`
	// WatchSnapshotMaxAge is how old the syncrepl or DirSync watcher's last
	// full read may be for a full run to take the directory from its state.
	WatchSnapshotMaxAge time.Duration `yaml:"watch_snapshot_max_age"`
}

// NATSSource configures directory-change events from a JetStream stream.
type NATSSource struct {
	URLs URLs `yaml:"urls"`
	// One way to authenticate: a credentials file, an NKey seed file, a
	// token, or a user and password.
	CredsFile    string `yaml:"creds_file"`
	NKeySeedFile string `yaml:"nkey_seed_file"`
	Token        Secret `yaml:"token"`
	TokenFile    string `yaml:"token_file"`
	User         string `yaml:"user"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`

	// CAFile verifies the server; CertFile/KeyFile are a client
	// certificate. Either one makes the client insist on TLS, even with a
	// nats:// URL.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// AllowInsecure permits a plain-text connection (nats:// or ws://
	// without ca_file or cert_file) to a non-loopback host. Without TLS the
	// credentials and every directory event cross the network readable and
	// forgeable.
	AllowInsecure bool `yaml:"allow_insecure"`

	// Stream holds the events; CreateStream creates it with Subjects when
	// missing (otherwise the source binds to an existing stream).
	Stream       string   `yaml:"stream"`
	Subjects     []string `yaml:"subjects"`
	CreateStream bool     `yaml:"create_stream"`
	// Consumer is the durable pull consumer's name.
	Consumer   string          `yaml:"consumer"`
	AckWait    time.Duration   `yaml:"ack_wait"`
	MaxDeliver int             `yaml:"max_deliver"`
	Backoff    []time.Duration `yaml:"backoff"`
	// MaxAckPending bounds the events delivered and not yet acknowledged:
	// the window a burst flows through, since an event is acknowledged
	// only once its group is in step.
	MaxAckPending int `yaml:"max_ack_pending"`
	// MaxInflightBytes bounds the bytes of the events taken and not yet
	// acknowledged; 0 means the source's default.
	MaxInflightBytes int `yaml:"max_inflight_bytes"`
	// DeadLetterSubject receives events that failed MaxDeliver times.
	DeadLetterSubject string `yaml:"dead_letter_subject"`
	// MaxEventBytes rejects larger events as poison.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// MaxClockSkew and MaxSequenceJump bound how far ahead of this host's
	// clock an event's time, and above its group's last sequence an
	// event's sequence, may be; zero means the NATS source's defaults.
	MaxClockSkew    time.Duration `yaml:"max_clock_skew"`
	MaxSequenceJump uint64        `yaml:"max_sequence_jump"`
	// ViewBucket is the key-value bucket holding the materialised
	// directory the events describe, read by full reconciliations.
	ViewBucket string `yaml:"view_bucket"`
	// ViewMaxBytes bounds the view bucket; TombstoneRetention is how long
	// a deleted group or user stays in it. 0 means the source's default.
	ViewMaxBytes       int64         `yaml:"view_max_bytes"`
	TombstoneRetention time.Duration `yaml:"tombstone_retention"`
}

// Mapping turns directory groups into Lightdash groups.
type Mapping struct {
	// Rules are tried in order; the first rule that selects a directory
	// group names its Lightdash group. A group no rule selects is not synced.
	Rules []Rule `yaml:"rules"`
	// Overrides name single directory groups explicitly; an override wins
	// over every rule.
	Overrides []Override `yaml:"overrides"`
	// Exclude lists directory groups (id, DN or name) never synced.
	Exclude []string `yaml:"exclude"`
	// AllowMerge lets two directory groups produce the same Lightdash name
	// (members are the union). Off, such a collision is reported and
	// neither is sent, since it is usually a template mistake.
	AllowMerge bool `yaml:"allow_merge"`
	// MaxDepth limits nested group flattening.
	MaxDepth int `yaml:"max_depth"`
}

// Rule selects directory groups (every selector set must match) and names
// their Lightdash groups.
type Rule struct {
	// Name identifies the rule in plans and logs.
	Name string `yaml:"name"`
	// Source limits the rule to one source's groups.
	Source string `yaml:"source"`
	// BaseDN selects groups at or below this DN.
	BaseDN string `yaml:"base_dn"`
	// NameRegex selects groups whose directory name matches (RE2 syntax).
	NameRegex string `yaml:"name_regex"`
	// Include, when set, selects only these groups (id, DN or name);
	// Exclude drops groups from this rule.
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// Target maps every selected group to this one Lightdash group.
	Target string `yaml:"target"`
	// The name template: RewriteRegex/RewriteReplace ($1 for groups), then
	// Case (keep, lower, upper), then Prefix and Suffix.
	RewriteRegex   string `yaml:"rewrite_regex"`
	RewriteReplace string `yaml:"rewrite_replace"`
	Case           string `yaml:"case"`
	Prefix         string `yaml:"prefix"`
	Suffix         string `yaml:"suffix"`
	// Projects and Spaces are the access the rule's groups get; RoleRegex
	// takes a project role from the directory group's name.
	Projects  []ProjectAccess `yaml:"projects"`
	Spaces    []SpaceAccess   `yaml:"spaces"`
	RoleRegex string          `yaml:"role_regex"`
}

// ProjectAccess is a project (name or uuid) and a project role.
type ProjectAccess struct {
	Project string `yaml:"project"`
	Role    string `yaml:"role"`
}

// SpaceAccess is a space (name or uuid) of a project and a space role.
type SpaceAccess struct {
	Project string `yaml:"project"`
	Space   string `yaml:"space"`
	Role    string `yaml:"role"`
}

// Override maps one directory group (id, DN or name, within Source when
// set) to an exact Lightdash group name.
type Override struct {
	Source   string          `yaml:"source"`
	Group    string          `yaml:"group"`
	Name     string          `yaml:"name"`
	Projects []ProjectAccess `yaml:"projects"`
	Spaces   []SpaceAccess   `yaml:"spaces"`
}
