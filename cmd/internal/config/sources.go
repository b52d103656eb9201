package config

import "time"

// LDAPSource configures an LDAP directory (OpenLDAP, 389-DS, Active Directory).
type LDAPSource struct {
	// URLs are tried in order (failover): ldap://, ldaps:// or ldapi://.
	URLs []string `yaml:"urls"`
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

	// IDAttribute is the stable id: entryUUID, objectGUID or nsUniqueId.
	IDAttribute string `yaml:"id_attribute"`
	// EmailAttributes are tried in order: the first is the primary address.
	EmailAttributes      []string `yaml:"email_attributes"`
	DisplayNameAttribute string   `yaml:"display_name_attribute"`
	GroupNameAttribute   string   `yaml:"group_name_attribute"`
	MemberAttribute      string   `yaml:"member_attribute"`
	// NestedGroups is walk (follow member DNs that are groups), in_chain
	// (Active Directory's LDAP_MATCHING_RULE_IN_CHAIN) or none.
	NestedGroups string `yaml:"nested_groups"`

	PageSize       int           `yaml:"page_size"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	Timeout        time.Duration `yaml:"timeout"`

	// Watch is how live changes are followed: auto, syncrepl, dirsync,
	// poll or none.
	Watch        string        `yaml:"watch"`
	PollInterval time.Duration `yaml:"poll_interval"`
}

// NATSSource configures directory-change events from a JetStream stream.
type NATSSource struct {
	URLs []string `yaml:"urls"`
	// One way to authenticate: a credentials file, an NKey seed file, a
	// token, or a user and password.
	CredsFile    string `yaml:"creds_file"`
	NKeySeedFile string `yaml:"nkey_seed_file"`
	Token        Secret `yaml:"token"`
	TokenFile    string `yaml:"token_file"`
	User         string `yaml:"user"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`

	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`

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
	// DeadLetterSubject receives events that failed MaxDeliver times.
	DeadLetterSubject string `yaml:"dead_letter_subject"`
	// MaxEventBytes rejects larger events as poison.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// ViewBucket is the key-value bucket holding the materialised
	// directory the events describe, read by full reconciliations.
	ViewBucket string `yaml:"view_bucket"`
}

// Mapping turns directory groups into Lightdash groups.
type Mapping struct {
	// Rules are tried in order; a directory group is mapped by the first
	// rule that selects it. A group no rule selects is ignored.
	Rules []Rule `yaml:"rules"`
	// AllowMerge lets several directory groups map to one Lightdash group
	// (members are the union). Off, such a collision is reported.
	AllowMerge bool `yaml:"allow_merge"`
	// MaxDepth limits nested group flattening.
	MaxDepth int `yaml:"max_depth"`
}

// Rule selects directory groups and names their Lightdash groups.
type Rule struct {
	// Name identifies the rule in plans and logs.
	Name string `yaml:"name"`
	// Sources limits the rule to these sources (empty: all).
	Sources []string `yaml:"sources"`
	// BaseDN selects groups at or below this DN.
	BaseDN string `yaml:"base_dn"`
	// Match is a regular expression on the directory group name.
	Match string `yaml:"match"`
	// Include and Exclude list group names or DNs; Exclude wins.
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// LightdashName builds the Lightdash group name from the directory name.
	LightdashName NameTemplate `yaml:"lightdash_name"`
	// Overrides map a directory group name or DN to an exact Lightdash name.
	Overrides map[string]string `yaml:"overrides"`
}

// NameTemplate rewrites a directory group name into a Lightdash group name:
// rewrites first, then case, then prefix and suffix.
type NameTemplate struct {
	Prefix  string    `yaml:"prefix"`
	Suffix  string    `yaml:"suffix"`
	Rewrite []Rewrite `yaml:"rewrite"`
	// Case is keep, lower or upper.
	Case string `yaml:"case"`
}

// Rewrite is a regular expression replacement (Go regexp syntax, $1 for groups).
type Rewrite struct {
	Match   string `yaml:"match"`
	Replace string `yaml:"replace"`
}
