package ldap

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
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
		return c, fmt.Errorf("schema: unknown preset %q (want openldap, rfc2307bis, rfc2307, 389ds or activedirectory)", c.Schema)
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
	orDefault(&c.ReconnectMin, time.Second)
	orDefault(&c.ReconnectMax, time.Minute)
	return c, c.validate()
}

func (c *Config) validate() error {
	if len(c.URLs) == 0 {
		return errors.New("urls: at least one server URL is required")
	}
	for _, u := range c.URLs {
		pu, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("urls: %q: %w", redact.URL(u), redact.Error(err, u))
		}
		switch pu.Scheme {
		case "ldap", "ldaps", "ldapi":
		default:
			return fmt.Errorf("urls: %q: scheme must be ldap, ldaps or ldapi", redact.URL(u))
		}
		if c.StartTLS && pu.Scheme != "ldap" {
			return fmt.Errorf("startTLS: only applies to ldap:// URLs, not %q", redact.URL(u))
		}
	}
	if c.BindDN == "" && !c.Anonymous {
		return errors.New("bindDN: required unless anonymous is true")
	}
	if c.BindDN != "" && c.BindPassword == "" {
		return errors.New("bindPassword: required with bindDN (an empty password would be an unauthenticated bind)")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("clientCertFile/clientKeyFile: set both or neither")
	}
	for key, dn := range map[string]string{"groupBaseDN": c.GroupBaseDN, "userBaseDN": c.UserBaseDN} {
		if dn == "" {
			return fmt.Errorf("%s: required", key)
		}
		if _, err := goldap.ParseDN(dn); err != nil {
			return fmt.Errorf("%s: %q is not a DN: %w", key, dn, err)
		}
	}
	for key, s := range map[string]string{"groupScope": c.GroupScope, "userScope": c.UserScope} {
		if _, err := parseScope(s); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	for key, f := range map[string]string{"groupFilter": c.GroupFilter, "userFilter": c.UserFilter} {
		if f == "" {
			continue
		}
		if _, err := goldap.CompileFilter(f); err != nil {
			return fmt.Errorf("%s: %q is not a valid LDAP filter: %w", key, f, err)
		}
	}
	switch c.MemberValue {
	case MemberValueDN, MemberValueUID:
	default:
		return fmt.Errorf("memberValue: %q (want dn or uid)", c.MemberValue)
	}
	switch c.Disabled {
	case DisabledNone, DisabledAD:
	case DisabledAttribute:
		if c.DisabledAttribute == "" || len(c.DisabledValues) == 0 {
			return errors.New("disabledAttr/disabledValues: required when disabled is attribute")
		}
	default:
		return fmt.Errorf("disabled: %q (want none, ad or attribute)", c.Disabled)
	}
	switch c.NestedGroups {
	case NestedWalk:
	case NestedInChain:
		if c.MemberValue != MemberValueDN {
			return errors.New("nestedGroups: in_chain needs DN member values (memberValue dn); memberUid groups do not nest")
		}
	default:
		return fmt.Errorf("nestedGroups: %q (want walk or in_chain)", c.NestedGroups)
	}
	switch c.Watch {
	case WatchAuto, WatchSyncrepl, WatchDirSync, WatchPoll, WatchNone:
	default:
		return fmt.Errorf("watch: %q (want auto, syncrepl, dirsync, poll or none)", c.Watch)
	}
	if c.PageSize > 1<<31-1 {
		return fmt.Errorf("pageSize: %d is too large", c.PageSize)
	}
	if c.ReconnectMax < c.ReconnectMin {
		return errors.New("reconnectMax: must not be below reconnectMin")
	}
	if c.CookieKey == "" {
		c.CookieKey = c.DefaultCookieKey()
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
