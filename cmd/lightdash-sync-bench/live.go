package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// runLive measures the end-to-end latency of live changes through a
// running `lightdash-sync run` (syncrepl watch): from the LDAP modify
// returning to the fake Lightdash logging the write.
func (h *harness) runLive(ctx context.Context, latency, debounce time.Duration) (Row, error) {
	d := h.dir
	ld := newFake(d, latency)
	defer ld.Close()
	dir, err := os.MkdirTemp(h.work, "live-")
	if err != nil {
		return Row{}, err
	}
	admin, err := freeAddr()
	if err != nil {
		return Row{}, err
	}
	cfg := h.config(ld, filepath.Join(dir, "state.json"), debounce, admin)
	cfgPath := filepath.Join(dir, "lightdash-sync.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.yaml()), 0o600); err != nil {
		return Row{}, err
	}
	if h.opt.ColdBin != "" {
		// Prime the state and Lightdash so the daemon starts warm.
		h.logf("priming with -cold-bin")
		if _, err := runOnce(ctx, h.opt.ChildEnv, h.opt.ColdBin, cfgPath, "reconcile"); err != nil {
			return Row{}, fmt.Errorf("prime with -cold-bin: %w", err)
		}
	}
	dm, err := startDaemon(ctx, h.opt.ChildEnv, h.bin, cfgPath, admin)
	if err != nil {
		return Row{}, err
	}
	defer dm.stop() //nolint:errcheck // reported below when it matters
	if err := dm.waitReady(ctx, h.opt.ReadyTimeout); err != nil {
		return Row{}, err
	}
	conn, err := h.ldapConn()
	if err != nil {
		return Row{}, err
	}
	defer conn.Close()
	fl, err := measureLightdash(ctx, ld.URL(), ld.AdminToken())
	if err != nil {
		return Row{}, err
	}
	groups := d.Changeable(h.opt.Changes + 1)
	// A warm-up change, not counted: the watch may still be catching up
	// (a syncrepl refresh of the whole directory) after /readyz.
	warm := groups[len(groups)-1]
	wreq := ldap.NewModifyRequest(d.groupDN(warm), nil)
	wreq.Add("member", []string{d.userDN(d.NewMember(warm, 6999))})
	ld.ResetRequests() // keep the log short: it is copied on every poll
	h.logf("daemon ready; warm-up change")
	before := len(ld.Requests())
	t0 := time.Now()
	if err := conn.Modify(wreq); err != nil {
		return Row{}, fmt.Errorf("modify %s: %w", d.groupDN(warm), err)
	}
	if _, err := waitWrite(ctx, ld, before, h.opt.ReadyTimeout); err != nil {
		return Row{}, fmt.Errorf("warm-up change: %w\n%s", err, tail(dm.stderr.String()))
	}
	warmup := time.Since(t0)
	h.logf("warm-up change written after %s", ms(warmup))
	time.Sleep(2*latency + 100*time.Millisecond)
	ld.ResetRequests()
	var lat, modify []time.Duration
	reads := 0
	for i := range h.opt.Changes {
		g := groups[i%(len(groups)-1)]
		u := d.NewMember(g, 7000+i+int(debounce/time.Millisecond)+int(latency/time.Millisecond)*131)
		req := ldap.NewModifyRequest(d.groupDN(g), nil)
		req.Add("member", []string{d.userDN(u)})
		before := len(ld.Requests())
		t0 = time.Now()
		if err := conn.Modify(req); err != nil {
			return Row{}, fmt.Errorf("modify %s: %w", d.groupDN(g), err)
		}
		modify = append(modify, time.Since(t0))
		at, err := waitWrite(ctx, ld, before, time.Minute)
		if err != nil {
			return Row{}, fmt.Errorf("change %d (%s): %w\n%s", i, groupName(g), err, tail(dm.stderr.String()))
		}
		lat = append(lat, at.Sub(t0))
		// Let any further calls of this change land before the next one.
		time.Sleep(2 * latency)
		for _, r := range ld.Requests()[before:] {
			if !r.IsWrite() {
				reads++
			}
		}
	}
	_, _, writes := counts(ld)
	rss, _ := dm.peakRSS()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(modify, func(i, j int) bool { return modify[i] < modify[j] })
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	floor := modify[len(modify)/2] + fl.OneCall
	if writes != h.opt.Changes {
		h.errorf("live (debounce %s, latency %s): %d writes for %d changes", debounce, latency, writes, h.opt.Changes)
	}
	return Row{
		Scenario: fmt.Sprintf("live change p99, debounce %s", debounce), Latency: latency,
		Ours: p(0.99), Floor: floor + debounce, Reads: reads, Lists: -1, Writes: writes, WantWrites: h.opt.Changes, PeakRSS: rss,
		Note: fmt.Sprintf("warm-up change %s (not counted); %d changes: p50 %s p95 %s p99 %s max %s; floor: modify %s + 1 call %s + debounce", ms(warmup), len(lat), ms(p(0.5)), ms(p(0.95)), ms(p(0.99)), ms(lat[len(lat)-1]), ms(modify[len(modify)/2]), ms(fl.OneCall)),
	}, nil
}

// waitWrite polls the fake's log until a write appears after index
// before, and returns when the fake logged it.
func waitWrite(ctx context.Context, ld *lightdashtest.Server, before int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		log := ld.Requests()
		for _, r := range log[min(before, len(log)):] {
			if r.IsWrite() {
				return r.Time, nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return time.Time{}, fmt.Errorf("no Lightdash write within %s", timeout)
}
