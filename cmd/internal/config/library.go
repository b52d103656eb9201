package config

import (
	"errors"
	"math"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap"
	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// LDAPConfig is an ldap source's configuration as the ldap package takes it.
func (s Source) LDAPConfig() ldap.Config {
	l := s.LDAP
	return ldap.Config{
		Name:                 s.Name,
		URLs:                 l.URLs,
		StartTLS:             l.StartTLS,
		CAFile:               l.CAFile,
		CertFile:             l.CertFile,
		KeyFile:              l.KeyFile,
		ServerName:           l.ServerName,
		InsecureSkipVerify:   l.InsecureSkipVerify,
		BindDN:               l.BindDN,
		BindPassword:         l.BindPassword.Reveal(),
		Anonymous:            l.Anonymous,
		ConnectTimeout:       l.ConnectTimeout,
		Timeout:              l.Timeout,
		Schema:               l.Schema,
		GroupBaseDN:          l.GroupBaseDN,
		UserBaseDN:           l.UserBaseDN,
		GroupScope:           l.GroupScope,
		UserScope:            l.UserScope,
		GroupFilter:          l.GroupFilter,
		UserFilter:           l.UserFilter,
		PageSize:             pageSize(l.PageSize),
		GroupObjectClasses:   l.GroupObjectClasses,
		UserObjectClasses:    l.UserObjectClasses,
		MemberAttributes:     l.MemberAttributes,
		MemberValue:          l.MemberValue,
		UserNameAttribute:    l.UserNameAttribute,
		IDAttribute:          l.IDAttribute,
		EmailAttributes:      l.EmailAttributes,
		DisplayNameAttribute: l.DisplayNameAttribute,
		GroupNameAttribute:   l.GroupNameAttribute,
		Disabled:             l.Disabled,
		DisabledAttribute:    l.DisabledAttribute,
		DisabledValues:       l.DisabledValues,
		NestedGroups:         l.NestedGroups,
		Watch:                l.Watch,
		PollInterval:         l.PollInterval,
		FullReadInterval:     l.FullReadInterval,
		WatchSnapshotMaxAge:  l.WatchSnapshotMaxAge,
	}
}

// pageSize converts a page size for the ldap package; one out of its
// range becomes the largest value, which it refuses.
func pageSize(n int) uint32 {
	if n < 0 || n > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}

// NATSConfig is a nats source's configuration as the nats package takes it.
func (s Source) NATSConfig() natssource.Config {
	n := s.NATS
	return natssource.Config{
		Name:               s.Name,
		URLs:               n.URLs,
		CredsFile:          n.CredsFile,
		NKeySeedFile:       n.NKeySeedFile,
		Token:              n.Token.Reveal(),
		User:               n.User,
		Password:           n.Password.Reveal(),
		CAFile:             n.CAFile,
		CertFile:           n.CertFile,
		KeyFile:            n.KeyFile,
		Stream:             n.Stream,
		Subjects:           n.Subjects,
		CreateStream:       n.CreateStream,
		Consumer:           n.Consumer,
		AckWait:            n.AckWait,
		MaxDeliver:         n.MaxDeliver,
		MaxAckPending:      n.MaxAckPending,
		MaxInflightBytes:   n.MaxInflightBytes,
		Backoff:            n.Backoff,
		DeadLetterSubject:  n.DeadLetterSubject,
		MaxEventBytes:      n.MaxEventBytes,
		MaxClockSkew:       n.MaxClockSkew,
		MaxSequenceJump:    n.MaxSequenceJump,
		ViewBucket:         n.ViewBucket,
		ViewMaxBytes:       n.ViewMaxBytes,
		TombstoneRetention: n.TombstoneRetention,
	}
}

// Worker is the mapping as the worker takes it.
func (m Mapping) Worker() worker.Mapping {
	w := worker.Mapping{Exclude: m.Exclude, AllowMerge: m.AllowMerge, MaxDepth: m.MaxDepth}
	for _, r := range m.Rules {
		w.Rules = append(w.Rules, worker.Rule{
			Name: r.Name, Source: r.Source, BaseDN: r.BaseDN, NameRegex: r.NameRegex,
			Include: r.Include, Exclude: r.Exclude, Target: r.Target,
			RewriteRegex: r.RewriteRegex, RewriteReplace: r.RewriteReplace,
			Case: worker.Case(r.Case), Prefix: r.Prefix, Suffix: r.Suffix,
			Projects: projectAccess(r.Projects), Spaces: spaceAccess(r.Spaces), RoleRegex: r.RoleRegex,
		})
	}
	for _, o := range m.Overrides {
		w.Overrides = append(w.Overrides, worker.Override{Source: o.Source, Group: o.Group, Name: o.Name,
			Projects: projectAccess(o.Projects), Spaces: spaceAccess(o.Spaces)})
	}
	return w
}

// PlanOptions is what an identity and a sync section say of planning, as
// the worker takes it.
func PlanOptions(id Identity, s Sync) worker.PlanOptions {
	sf := s.Safety
	return worker.PlanOptions{
		Policy:     worker.Policy(s.Policy),
		Membership: worker.MembershipMode(s.Membership),
		Access:     worker.AccessMode(s.Access),
		Unmatched:  worker.UnmatchedPolicy(id.Unmatched),
		Adopt:      s.Adopt,
		Limits: worker.Limits{
			MaxGroupDeletes:          sf.MaxGroupDeletes,
			MaxGroupDeletesPercent:   sf.MaxGroupDeletesPercent,
			MaxMemberRemovals:        sf.MaxMemberRemovals,
			MaxMemberRemovalsPercent: sf.MaxMemberRemovalsPercent,
			DeleteGracePeriod:        sf.DeleteGracePeriod,
			DeleteAfterReads:         sf.DeleteAfterReads,
			LimitWindow:              sf.LimitWindow,
		},
	}
}

// libraryError turns a library's *sources.ConfigError into an *Error on
// the key under section; another error is reported on section itself.
func (c *Config) libraryError(section string, err error) error {
	var ce *sources.ConfigError
	if errors.As(err, &ce) {
		return c.errorf(section+"."+ce.Key, "%s", ce.Msg)
	}
	return c.errorf(section, "%v", err)
}

func projectAccess(ps []ProjectAccess) []worker.ProjectAccess {
	var out []worker.ProjectAccess
	for _, p := range ps {
		out = append(out, worker.ProjectAccess(p))
	}
	return out
}

func spaceAccess(ss []SpaceAccess) []worker.SpaceAccess {
	var out []worker.SpaceAccess
	for _, s := range ss {
		out = append(out, worker.SpaceAccess(s))
	}
	return out
}
