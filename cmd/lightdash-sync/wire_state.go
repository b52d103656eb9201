package main

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap"
	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
	"github.com/lightdash-sync/lightdash-sync/worker"
	"github.com/lightdash-sync/lightdash-sync/worker/natsstate"
)

// stateKey names this Lightdash target's entries in a shared bucket and
// its lease, so several targets (organizations, instances) can share one
// NATS. A named target (config targets:) appends its name: two
// organizations on one instance URL must not share state or a lease.
func stateKey(cfg *config.Config) string {
	k := "target-" + shortHash(cfg.Lightdash.URL)
	if cfg.TargetName != "" {
		k += "-" + cfg.TargetName
	}
	return k
}

// newStateStores opens the ownership state store the configuration names,
// and the store the LDAP sources' cookies are kept in beside it: apart,
// because the worker saves its state whole while watchers save cookies at
// any moment, and one document would let either overwrite the other.
func (a *app) newStateStores(ctx context.Context) (state worker.StateStore, cookies ldap.CookieStore, err error) {
	switch a.cfg.State.Type {
	case "file":
		return worker.NewFileStore(a.cfg.State.Path), worker.NewCookieFile(a.cfg.State.Path + ".cookies"), nil
	case "nats":
		js, err := a.jetStream(ctx, a.cfg.State.Source)
		if err != nil {
			return nil, nil, err
		}
		st, err := natsstate.New(ctx, js, a.cfg.State.Bucket, stateKey(a.cfg))
		if err != nil {
			return nil, nil, fmt.Errorf("state store: %w", err)
		}
		ck, err := natsstate.NewCookies(ctx, js, a.cfg.State.Bucket, stateKey(a.cfg))
		if err != nil {
			return nil, nil, fmt.Errorf("cookie store: %w", err)
		}
		return st, ck, nil
	}
	return nil, nil, fmt.Errorf("state store %q is not known", a.cfg.State.Type)
}

// jetStream connects the named nats source early (the state store and the
// lease live on its connection) and returns its JetStream context.
func (a *app) jetStream(ctx context.Context, source string) (jetstream.JetStream, error) {
	if src, ok := a.opened[source]; ok {
		return src.JetStream(), nil
	}
	for _, sc := range a.cfg.Sources {
		if sc.Name == source && sc.Type == "nats" {
			src, err := natssource.New(ctx, sc.NATSConfig(), a.log.Named("nats"), a.reg)
			if err != nil {
				return nil, fmt.Errorf("source %s: %w", sc.Name, err)
			}
			a.closers = append(a.closers, src.Close)
			a.opened[source] = src
			return src.JetStream(), nil
		}
	}
	return nil, fmt.Errorf("no nats source is named %q", source)
}
