package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// harness holds what every scenario shares: the generated directory in a
// seeded slapd and the binary under test.
type harness struct {
	opt            Options
	work           string
	bin            string
	dir            *Directory
	slapd          *ldaptest.Process
	bindDN, bindPW string

	mu   sync.Mutex
	errs []string
}

func (h *harness) logf(format string, args ...any) {
	if h.opt.Verbose != nil {
		fmt.Fprintf(h.opt.Verbose, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

// errorf records a failed correctness check (never a timing).
func (h *harness) errorf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, fmt.Sprintf(format, args...))
}

func (h *harness) config(ld *lightdashtest.Server, statePath string, debounce time.Duration, admin string) daemonConfig {
	return daemonConfig{
		LightdashURL: ld.URL(), Token: ld.AdminToken(),
		LDAPURL: h.slapd.URL(), BindDN: h.bindDN, BindPW: h.bindPW, Suffix: h.dir.Suffix,
		Concurrency: h.opt.Concurrency, RateLimit: h.opt.Rate, Debounce: debounce,
		StatePath: statePath, AdminListen: admin,
	}
}

// Run sets up the directory and runs the chosen scenarios. It returns the
// rows measured, the correctness checks that failed, and the error that
// stopped it, if any.
func Run(ctx context.Context, opt Options) ([]Row, []string, error) {
	h := &harness{opt: opt, work: opt.Work}
	if h.work == "" {
		dir, err := os.MkdirTemp("", "lightdash-sync-bench-")
		if err != nil {
			return nil, nil, err
		}
		defer os.RemoveAll(dir)
		h.work = dir
	}
	rows, err := h.run(ctx)
	return rows, h.errs, err
}

func (h *harness) run(ctx context.Context) ([]Row, error) {
	var err error
	h.logf("building lightdash-sync")
	if h.bin, err = buildBinary(ctx, h.work, h.opt.Bin); err != nil {
		return nil, err
	}
	if h.dir, err = Generate(h.opt.Size, ldaptest.DefaultSuffix); err != nil {
		return nil, err
	}
	ldif := h.dir.LDIF()
	h.logf("generated %d users, %d groups, %d memberships (%d MB LDIF); slapadd", h.opt.Users, h.opt.Groups, h.opt.Memberships, len(ldif)>>20)
	start := time.Now()
	h.slapd, err = ldaptest.StartSlapd(ctx, filepath.Join(h.work, "slapd"), ldaptest.Config{Seed: ldif})
	if err != nil {
		return nil, err
	}
	defer h.slapd.Stop()
	h.logf("slapd up in %s at %s", time.Since(start).Round(time.Millisecond), h.slapd.URL())
	cfg := h.slapd.Config()
	h.bindDN, h.bindPW = cfg.ReaderDN, cfg.ReaderPassword

	var rows []Row
	sc := h.opt.Scenarios
	for _, lat := range h.opt.Latencies {
		if !(sc["cold"] || sc["warm"] || sc["changed"]) {
			break
		}
		h.logf("reconciliations at latency %s", lat)
		r, err := h.runReconciles(ctx, lat, sc)
		rows = append(rows, r...)
		if err != nil {
			return rows, err
		}
	}
	if sc["live"] {
		for _, deb := range h.opt.Debounces {
			lat := h.opt.Latencies[0]
			h.logf("live changes, debounce %s, latency %s", deb, lat)
			r, err := h.runLive(ctx, lat, deb)
			if err != nil {
				return rows, err
			}
			rows = append(rows, r...)
		}
	}
	if sc["burst"] || sc["fullrun"] {
		lat := h.opt.Latencies[0]
		h.logf("daemon at the default debounce: burst and full runs, latency %s", lat)
		r, err := h.runDaemonScenarios(ctx, lat)
		rows = append(rows, r...)
		if err != nil {
			return rows, err
		}
	}
	if sc["nats"] && h.opt.Events > 0 {
		h.logf("nats: %d events", h.opt.Events)
		r, err := h.runNATS(ctx)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}
