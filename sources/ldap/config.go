package ldap

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Schema presets.
const (
	PresetOpenLDAP        = "openldap"
	PresetRFC2307bis      = "rfc2307bis"
	PresetRFC2307         = "rfc2307"
	Preset389DS           = "389ds"
	PresetActiveDirectory = "activedirectory"
)

// Watch modes.
const (
	WatchAuto     = "auto"
	WatchSyncrepl = "syncrepl"
	WatchDirSync  = "dirsync"
	WatchPoll     = "poll"
	WatchNone     = "none"
)

// Nested group modes.
const (
	// NestedWalk reads each group's member attribute and reports member
	// groups as DirGroup.MemberGroups; the worker flattens them.
	NestedWalk = "walk"
	// NestedInChain asks Active Directory for each group's flattened user
	// members with LDAP_MATCHING_RULE_IN_CHAIN (one search per group).
	NestedInChain = "in_chain"
)

// Defaults of the Config fields that have one; a zero field takes it.
const (
	DefaultSchema           = PresetOpenLDAP
	DefaultPageSize         = 500
	DefaultConnectTimeout   = 10 * time.Second
	DefaultTimeout          = 60 * time.Second
	DefaultWatch            = WatchAuto
	DefaultNestedGroups     = NestedWalk
	DefaultPollInterval     = time.Minute
	DefaultFullReadInterval = 10 * time.Minute
	// DefaultWatchSnapshotMaxAge: a daemon reads the directory in full at
	// least daily.
	DefaultWatchSnapshotMaxAge = 24 * time.Hour
)

// MatchingRuleInChain is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN:
// memberOf with it matches every user below a group, however deep.
const MatchingRuleInChain = "1.2.840.113556.1.4.1941"

// Member value kinds.
const (
	MemberValueDN  = "dn"  // member attribute values are DNs (member, uniqueMember)
	MemberValueUID = "uid" // member attribute values are user names (memberUid)
)

// Disabled detection modes.
const (
	DisabledNone      = "none"      // no user is ever disabled
	DisabledAD        = "ad"        // userAccountControl bit 2 (ACCOUNTDISABLE)
	DisabledAttribute = "attribute" // Config.DisabledAttribute holds one of DisabledValues
)

// Config configures one LDAP source. Zero values take defaults from the
// schema preset; see the package documentation for every option.
type Config struct {
	// Name is the source's name in logs, metrics and plans ("ldap" if empty).
	Name string

	// URLs are tried in order until one connects (ldap://, ldaps://, ldapi://).
	URLs []string
	// StartTLS upgrades ldap:// connections before binding.
	StartTLS bool
	// CAFile verifies the server; the system pool is used when empty.
	CAFile string
	// CertFile and KeyFile present a client certificate.
	CertFile string
	KeyFile  string
	// ServerName overrides the host name checked in the server certificate.
	ServerName string
	// InsecureSkipVerify turns off certificate verification. It is logged
	// as a warning on every connection.
	InsecureSkipVerify bool

	// BindDN and BindPassword are used for a simple bind. The password is
	// never logged or put in an error.
	BindDN       string
	BindPassword string
	// Anonymous allows running without BindDN.
	Anonymous bool

	// ConnectTimeout bounds dialing and TLS (10s); Timeout bounds each
	// request on read connections (60s). The syncrepl connection has no
	// read timeout.
	ConnectTimeout time.Duration
	Timeout        time.Duration

	// Schema is the preset: openldap (default), rfc2307bis, rfc2307, 389ds,
	// activedirectory. The fields below override the preset when set.
	Schema string

	GroupBaseDN string
	UserBaseDN  string
	// GroupScope and UserScope are "sub" (default), "one" or "base".
	GroupScope string
	UserScope  string
	// GroupFilter and UserFilter are extra filters ANDed with the object
	// class filter, e.g. "(cn=lightdash-*)". They must be valid filters.
	GroupFilter string
	UserFilter  string
	// PageSize is the RFC 2696 page size (500).
	PageSize uint32

	GroupObjectClasses []string
	UserObjectClasses  []string
	// MemberAttributes hold a group's members (member, uniqueMember, memberUid).
	MemberAttributes []string
	// MemberValue is "dn" or "uid" (memberUid holds user names, matched
	// against UserNameAttribute).
	MemberValue string
	// UserNameAttribute is the user's login name (uid, sAMAccountName).
	UserNameAttribute string
	// IDAttribute is the stable id: entryUUID, objectGUID or nsUniqueId.
	IDAttribute string
	// EmailAttributes are tried in order; the first value is Email, the
	// rest become AltEmails.
	EmailAttributes []string
	// DisplayNameAttribute names users in reports; GroupNameAttribute names groups.
	DisplayNameAttribute string
	GroupNameAttribute   string
	// Disabled is "none", "ad" (userAccountControl bit 2) or "attribute"
	// (DisabledAttribute has one of DisabledValues, compared
	// case-insensitively).
	Disabled          string
	DisabledAttribute string
	DisabledValues    []string

	// NestedGroups is how nesting is expanded: "walk" (default) follows
	// member groups; "in_chain" asks the server for each group's flattened
	// users with LDAP_MATCHING_RULE_IN_CHAIN (Active Directory only; one
	// search per group). See the package documentation.
	NestedGroups string

	// Watch is auto (default), syncrepl, dirsync, poll or none.
	Watch string
	// PollInterval is how often poll and dirsync modes ask for changes (1m).
	PollInterval time.Duration
	// FullReadInterval is how often poll mode reads everything to find
	// deletions (10m).
	FullReadInterval time.Duration
	// WatchSnapshotMaxAge bounds how old the syncrepl or DirSync watcher's
	// last full read of the directory may be for Snapshot to be built from
	// the watcher's state instead of reading the directory (24h); see
	// watchstate.go.
	WatchSnapshotMaxAge time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff (1s, 1m).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// CookieKey names the saved cookie; derived from Name and the search
	// bases when empty.
	CookieKey string
}

// schemaPreset is what a preset fills in.
type schemaPreset struct {
	groupClasses, userClasses, memberAttrs, emailAttrs []string
	memberValue, userName, id, display, groupName      string
	disabled, disabledAttr                             string
	disabledValues                                     []string
	userFilter                                         string
}

var presets = map[string]schemaPreset{
	PresetOpenLDAP: {
		groupClasses: []string{"groupOfNames", "groupOfUniqueNames"}, userClasses: []string{"inetOrgPerson"},
		memberAttrs: []string{"member", "uniqueMember"}, memberValue: MemberValueDN, userName: "uid",
		id: "entryUUID", emailAttrs: []string{"mail"}, display: "cn", groupName: "cn", disabled: DisabledNone,
	},
	PresetRFC2307: {
		groupClasses: []string{"posixGroup"}, userClasses: []string{"posixAccount"},
		memberAttrs: []string{"memberUid"}, memberValue: MemberValueUID, userName: "uid",
		id: "entryUUID", emailAttrs: []string{"mail"}, display: "cn", groupName: "cn", disabled: DisabledNone,
	},
	Preset389DS: {
		groupClasses: []string{"groupOfNames", "groupOfUniqueNames"}, userClasses: []string{"inetOrgPerson"},
		memberAttrs: []string{"member", "uniqueMember"}, memberValue: MemberValueDN, userName: "uid",
		id: "nsUniqueId", emailAttrs: []string{"mail"}, display: "cn", groupName: "cn",
		disabled: DisabledAttribute, disabledAttr: "nsAccountLock", disabledValues: []string{"true"},
	},
	PresetActiveDirectory: {
		groupClasses: []string{"group"}, userClasses: []string{"user"},
		memberAttrs: []string{"member"}, memberValue: MemberValueDN, userName: "sAMAccountName",
		id: "objectGUID", emailAttrs: []string{"mail", "userPrincipalName"}, display: "displayName",
		groupName: "cn", disabled: DisabledAD, userFilter: "(objectCategory=person)",
	},
}

func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func orDefaults(v *[]string, def []string) {
	if len(*v) == 0 {
		*v = append([]string(nil), def...)
	}
}

// withDefaults returns a copy of c with the preset and defaults applied,
// or an error naming the first bad option.
func (c Config) withDefaults() (Config, error) {
	orDefault(&c.Name, "ldap")
	orDefault(&c.Schema, DefaultSchema)
	name := c.Schema
	if name == PresetRFC2307bis { // rfc2307bis is what OpenLDAP setups use
		name = PresetOpenLDAP
	}
	p, ok := presets[name]
	if !ok {
		return c, bad("schema", "%q is not a schema preset (want openldap, rfc2307bis, rfc2307, 389ds or activedirectory)", c.Schema)
	}
	orDefaults(&c.GroupObjectClasses, p.groupClasses)
	orDefaults(&c.UserObjectClasses, p.userClasses)
	orDefaults(&c.MemberAttributes, p.memberAttrs)
	orDefaults(&c.EmailAttributes, p.emailAttrs)
	orDefault(&c.MemberValue, p.memberValue)
	orDefault(&c.UserNameAttribute, p.userName)
	orDefault(&c.IDAttribute, p.id)
	orDefault(&c.DisplayNameAttribute, p.display)
	orDefault(&c.GroupNameAttribute, p.groupName)
	orDefault(&c.Disabled, p.disabled)
	orDefault(&c.DisabledAttribute, p.disabledAttr)
	orDefaults(&c.DisabledValues, p.disabledValues)
	orDefault(&c.UserFilter, p.userFilter)
	orDefault(&c.GroupScope, "sub")
	orDefault(&c.UserScope, "sub")
	orDefault(&c.PageSize, DefaultPageSize)
	orDefault(&c.ConnectTimeout, DefaultConnectTimeout)
	orDefault(&c.Timeout, DefaultTimeout)
	orDefault(&c.Watch, DefaultWatch)
	orDefault(&c.NestedGroups, DefaultNestedGroups)
	orDefault(&c.PollInterval, DefaultPollInterval)
	orDefault(&c.FullReadInterval, DefaultFullReadInterval)
	orDefault(&c.WatchSnapshotMaxAge, DefaultWatchSnapshotMaxAge)
	orDefault(&c.ReconnectMin, time.Second)
	orDefault(&c.ReconnectMax, time.Minute)
	return c, c.validate()
}

// Validate reports the first bad option as a *sources.ConfigError naming
// its configuration key.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// bad is a configuration error on key.
func bad(key, format string, args ...any) error {
	return &sources.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func oneOf(v string, allowed ...string) bool {
	return slices.Contains(allowed, v)
}

func (c *Config) validate() error {
	for _, check := range []func() error{c.validateConnection, c.validateSearch, c.validateSchema} {
		if err := check(); err != nil {
			return err
		}
	}
	if c.CookieKey == "" {
		c.CookieKey = c.DefaultCookieKey()
	}
	return nil
}

// validateConnection checks the servers, TLS and bind options.
func (c *Config) validateConnection() error {
	if len(c.URLs) == 0 {
		return bad("urls", "required: at least one ldap://, ldaps:// or ldapi:// URL")
	}
	for i, u := range c.URLs {
		pu, err := url.Parse(u)
		if err != nil || !oneOf(pu.Scheme, "ldap", "ldaps", "ldapi") {
			return bad(fmt.Sprintf("urls[%d]", i), "%q is not an ldap://, ldaps:// or ldapi:// URL", redact.URL(u))
		}
		if c.StartTLS && pu.Scheme != "ldap" {
			return bad("start_tls", "only applies to ldap:// URLs, not %q", redact.URL(u))
		}
	}
	if c.BindDN == "" && !c.Anonymous {
		return bad("bind_dn", "required (or set anonymous: true for an anonymous bind)")
	}
	if c.BindDN != "" && c.BindPassword == "" {
		return bad("bind_password", "required with bind_dn: set bind_password or bind_password_file")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return bad("cert_file", "cert_file and key_file go together")
	}
	if c.ReconnectMax < c.ReconnectMin {
		return bad("reconnect_max", "must not be below reconnect_min")
	}
	return nil
}

// validateSearch checks the bases, scopes, filters and page size.
func (c *Config) validateSearch() error {
	for _, b := range []struct{ key, dn string }{{"group_base_dn", c.GroupBaseDN}, {"user_base_dn", c.UserBaseDN}} {
		if b.dn == "" {
			return bad(b.key, "required")
		}
		if _, err := goldap.ParseDN(b.dn); err != nil {
			return bad(b.key, "%q is not a DN: %v", b.dn, err)
		}
	}
	for _, sc := range []struct{ key, v string }{{"user_scope", c.UserScope}, {"group_scope", c.GroupScope}} {
		if !oneOf(sc.v, "sub", "one", "base") {
			return bad(sc.key, "%q is not a scope (want sub, one or base)", sc.v)
		}
	}
	for _, f := range []struct{ key, v string }{{"group_filter", c.GroupFilter}, {"user_filter", c.UserFilter}} {
		if f.v == "" {
			continue
		}
		if _, err := goldap.CompileFilter(f.v); err != nil {
			return bad(f.key, "%q is not a valid LDAP filter: %v", f.v, err)
		}
	}
	if c.PageSize < 1 || c.PageSize > maxPageSize {
		return bad("page_size", "must be between 1 and %d", maxPageSize)
	}
	return nil
}

// maxPageSize bounds PageSize: no server pages more.
const maxPageSize = 100000

// validateSchema checks the member, disabled-account, nesting and watch
// modes.
func (c *Config) validateSchema() error {
	if !oneOf(c.MemberValue, MemberValueDN, MemberValueUID) {
		return bad("member_value", "%q is not a member value kind (want dn or uid)", c.MemberValue)
	}
	if !oneOf(c.Disabled, DisabledNone, DisabledAD, DisabledAttribute) {
		return bad("disabled", "%q is not a disabled-account rule (want none, ad or attribute)", c.Disabled)
	}
	if c.Disabled == DisabledAttribute && (c.DisabledAttribute == "" || len(c.DisabledValues) == 0) {
		return bad("disabled_attribute", "disabled: attribute needs disabled_attribute and disabled_values")
	}
	if !oneOf(c.NestedGroups, NestedWalk, NestedInChain) {
		return bad("nested_groups", "%q is not a nested group mode (want walk or in_chain)", c.NestedGroups)
	}
	if c.NestedGroups == NestedInChain && c.MemberValue != MemberValueDN {
		return bad("nested_groups", "in_chain needs DN member values (member_value: dn); memberUid groups do not nest")
	}
	if !oneOf(c.Watch, WatchAuto, WatchSyncrepl, WatchDirSync, WatchPoll, WatchNone) {
		return bad("watch", "%q is not a watch mode (want auto, syncrepl, dirsync, poll or none)", c.Watch)
	}
	if c.WatchSnapshotMaxAge < 0 {
		return bad("watch_snapshot_max_age", "%v is negative (want a duration such as 24h; 1s reads the directory on every full run)", c.WatchSnapshotMaxAge)
	}
	return nil
}

// DefaultCookieKey is the CookieKey used when none is set: the source's
// name and its bases, so a changed base starts a fresh session.
func (c *Config) DefaultCookieKey() string {
	return "ldap/" + c.Name + "/" + strings.ToLower(c.GroupBaseDN) + "|" + strings.ToLower(c.UserBaseDN)
}

func parseScope(s string) (int, error) {
	switch strings.ToLower(s) {
	case "sub", "subtree":
		return goldap.ScopeWholeSubtree, nil
	case "one", "onelevel":
		return goldap.ScopeSingleLevel, nil
	case "base":
		return goldap.ScopeBaseObject, nil
	}
	return 0, fmt.Errorf("%q (want sub, one or base)", s)
}
