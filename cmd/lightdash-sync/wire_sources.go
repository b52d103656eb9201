package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap"
	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
)

// newSource connects one configured source. The returned func, when not
// nil, closes it.
// target names the unit ("" without targets) so that units keep their
// LDAP cookies apart.
func newSource(ctx context.Context, sc config.Source, target string, cookies ldap.CookieStore, log *zap.Logger, reg prometheus.Registerer) (sources.Source, func(), error) {
	switch sc.Type {
	case "ldap":
		src, err := ldap.New(unitLDAPConfig(sc, target), cookies, log.Named("ldap"), reg)
		if err != nil {
			return nil, nil, err
		}
		return src, nil, nil
	case "nats":
		src, err := natssource.New(ctx, sc.NATSConfig(), log.Named("nats"), reg)
		if err != nil {
			return nil, nil, err
		}
		return src, src.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown source type %q", sc.Type)
}

// unitLDAPConfig is the LDAP source's configuration for one unit: with a
// target name, the cookie key is the ldap package's default
// (ldap.Config.DefaultCookieKey) with "/target" appended, since each unit runs its
// own syncrepl or DirSync session. Without one it is left to the package.
func unitLDAPConfig(sc config.Source, target string) ldap.Config {
	lc := sc.LDAPConfig()
	if target != "" {
		lc.CookieKey = lc.DefaultCookieKey() + "/" + target
	}
	return lc
}

// pingSource connects to a source and reads it once, for check.
func pingSource(ctx context.Context, sc config.Source, log *zap.Logger) (string, error) {
	src, closer, err := newSource(ctx, sc, "", nil, log, nil)
	if err != nil {
		return "", err
	}
	if closer != nil {
		defer closer()
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return "", err
	}
	detail := fmt.Sprintf("read %d groups and %d users", len(snap.Groups), len(snap.Users))
	if !snap.Complete {
		return "", fmt.Errorf("%s, but the read was incomplete: %s", detail, snap.IncompleteReason)
	}
	return detail, nil
}
