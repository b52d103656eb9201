package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/progress"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap"
	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// app is everything a command builds from the configuration.
type app struct {
	cfg     *config.Config
	log     *zap.Logger
	ld      *lightdash.Client
	sources []sources.Source
	store   worker.StateStore
	worker  *worker.Worker
	closers []func()
	// progress follows the worker's full runs (reconcile's terminal line,
	// the daemon's /status).
	progress *progress.Tracker

	reg    prometheus.Registerer
	opened map[string]*natssource.Source // nats sources connected before the others
}

// Close releases connections, last opened first.
func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// appMode is what a command asks of buildApp.
type appMode struct {
	// daemon is `run`: it keeps the last full run for /explain and reads
	// Lightdash after a directory read in full (worker.Options).
	daemon bool
	// reg registers the metrics; nil for one-shot commands, which have no
	// metrics endpoint.
	reg            prometheus.Registerer
	allowDeletions bool
}

// buildApp connects the sources, the Lightdash client and the state store
// and builds the worker.
func buildApp(ctx context.Context, cfg *config.Config, log *zap.Logger, mode appMode) (*app, error) {
	reg := mode.reg
	a := &app{cfg: cfg, log: log, reg: reg, opened: map[string]*natssource.Source{}}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	var err error
	if a.ld, err = newLightdash(cfg.Lightdash, log, reg); err != nil {
		return nil, usageError{err}
	}
	var cookies ldap.CookieStore
	if a.store, cookies, err = a.newStateStores(ctx); err != nil {
		return nil, err
	}
	for _, sc := range cfg.Sources {
		if src, ok := a.opened[sc.Name]; ok {
			a.sources = append(a.sources, src)
			continue
		}
		src, closer, err := newSource(ctx, sc, cfg.TargetName, cookies, log, reg)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
		if closer != nil {
			a.closers = append(a.closers, closer)
		}
		a.sources = append(a.sources, src)
	}
	opts, err := workerOptions(cfg)
	if err != nil {
		return nil, usageError{err}
	}
	opts.PlanOptions.AllowDeletions = mode.allowDeletions
	// The daemon (the one caller with a registry) answers /explain from
	// its last full run, when it has an admin listener to answer on.
	opts.KeepLastRead = mode.daemon && cfg.Admin.Listen != "" && cfg.Admin.Explain
	opts.LightdashAfterFullReads = mode.daemon
	a.progress = &progress.Tracker{}
	opts.Progress = a.progress
	if a.worker, err = worker.New(a.sources, a.ld, a.store, opts, log.Named("worker"), reg); err != nil {
		return nil, usageError{err}
	}
	ok = true
	return a, nil
}

// workerOptions turns the configuration into the worker's options.
func workerOptions(cfg *config.Config) (worker.Options, error) {
	m := cfg.Mapping.Worker()
	opts := worker.Options{
		Mapping:             m,
		PlanOptions:         config.PlanOptions(cfg.Identity, cfg.Sync),
		Concurrency:         cfg.Sync.Concurrency,
		InviteExpiry:        cfg.Identity.InviteExpiry,
		DryRun:              cfg.Sync.DryRun,
		CacheMaxAge:         cfg.Sync.CacheMaxAge,
		UserRefreshInterval: cfg.Sync.UserRefreshInterval,
	}
	if err := m.Validate(); err != nil {
		return opts, fmt.Errorf("mapping: %w", err)
	}
	if err := opts.PlanOptions.Validate(); err != nil {
		return opts, err
	}
	return opts, nil
}

// shortHash is a short stable name for a string (a URL) in keys.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
