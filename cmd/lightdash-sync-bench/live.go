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
func (h *harness) runLive(ctx context.Context, latency, debounce time.Duration) ([]Row, error) {
	d := h.dir
	ld := h.newFake(latency)
	defer ld.Close()
	dm, err := h.startLiveDaemon(ctx, ld, debounce)
	if err != nil {
		return nil, err
	}
	defer dm.stop() //nolint:errcheck // reported below when it matters
	up := startupRow(dm, ld, fmt.Sprintf("live, debounce %s", debounce), latency)
	conn, err := h.ldapConn()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	fl, err := measureLightdash(ctx, ld.URL(), ld.AdminToken())
	if err != nil {
		return nil, err
	}
	groups := d.Changeable(h.opt.Changes + 1)
	warmup, err := h.warmUp(ctx, conn, ld, dm, groups[len(groups)-1])
	if err != nil {
		return nil, err
	}
	time.Sleep(2*latency + 100*time.Millisecond)
	ld.ResetRequests()
	cpu0, _ := cpuTime(dm.cmd.Process.Pid)
	lat, modify, reads, err := h.liveChanges(ctx, conn, ld, dm, groups[:len(groups)-1], latency, debounce)
	if err != nil {
		return nil, err
	}
	cpu1, _ := cpuTime(dm.cmd.Process.Pid)
	_, _, writes := counts(ld)
	rss, from := dm.phasePeak()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(modify, func(i, j int) bool { return modify[i] < modify[j] })
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	floor := modify[len(modify)/2] + fl.OneCall
	if writes != h.opt.Changes {
		h.errorf("live (debounce %s, latency %s): %d writes for %d changes", debounce, latency, writes, h.opt.Changes)
	}
	return []Row{up, {
		Scenario: fmt.Sprintf("live change p99, debounce %s", debounce), Latency: latency,
		Ours: p(0.99), Floor: floor, Reads: reads, Lists: -1, Writes: writes, WantWrites: h.opt.Changes, PeakRSS: rss, RSSFrom: from,
		Note: fmt.Sprintf("warm-up change %s (not counted); %d changes: p50 %s p95 %s p99 %s max %s; floor: modify %s + 1 call %s (a quiet group's change is not debounced); daemon CPU %s per change; peak RSS from ready to the last change", ms(warmup), len(lat), ms(p(0.5)), ms(p(0.95)), ms(p(0.99)), ms(lat[len(lat)-1]), ms(modify[len(modify)/2]), ms(fl.OneCall), ms((cpu1-cpu0)/time.Duration(len(lat)))),
	}}, nil
}

// startLiveDaemon starts `lightdash-sync run` against ld (primed first
// with -cold-bin when given, so that it starts warm) and waits until it is
// ready.
func (h *harness) startLiveDaemon(ctx context.Context, ld *lightdashtest.Server, debounce time.Duration) (*daemon, error) {
	dir, err := os.MkdirTemp(h.work, "live-")
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := h.config(ld, filepath.Join(dir, "state.json"), debounce, admin)
	cfgPath := filepath.Join(dir, "lightdash-sync.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.yaml()), 0o600); err != nil {
		return nil, err
	}
	if h.opt.ColdBin != "" {
		h.logf("priming with -cold-bin")
		if _, err := runOnce(ctx, h.opt.ChildEnv, h.opt.ColdBin, cfgPath, "reconcile"); err != nil {
			return nil, fmt.Errorf("prime with -cold-bin: %w", err)
		}
	}
	dm, err := startDaemon(ctx, h.opt.ChildEnv, h.bin, cfgPath, admin)
	if err != nil {
		return nil, err
	}
	if err := dm.waitReady(ctx, h.opt.ReadyTimeout); err != nil {
		dm.stop() //nolint:errcheck // the readiness error is the one to report
		return nil, err
	}
	return dm, nil
}

// warmUp makes one change to group g that is not counted: the watch may
// still be catching up (a syncrepl refresh of the whole directory) after
// /readyz. It returns how long that change took to be written.
func (h *harness) warmUp(ctx context.Context, conn *ldap.Conn, ld *lightdashtest.Server, dm *daemon, g int) (time.Duration, error) {
	d := h.dir
	req := ldap.NewModifyRequest(d.groupDN(g), nil)
	req.Add("member", []string{d.userDN(d.NewMember(g, 6999))})
	ld.ResetRequests() // keep the log short: it is copied on every poll
	h.logf("daemon ready; warm-up change")
	before := len(ld.Requests())
	t0 := time.Now()
	if err := conn.Modify(req); err != nil {
		return 0, fmt.Errorf("modify %s: %w", d.groupDN(g), err)
	}
	if _, err := waitWrite(ctx, ld, before, h.opt.ReadyTimeout); err != nil {
		return 0, fmt.Errorf("warm-up change: %w\n%s", err, tail(dm.stderr.String()))
	}
	warmup := time.Since(t0)
	h.logf("warm-up change written after %s", ms(warmup))
	return warmup, nil
}

// liveChanges makes h.opt.Changes member additions, one at a time, over
// groups, and returns each one's latency to its write, each modify's own
// duration, and the reads the changes cost.
func (h *harness) liveChanges(ctx context.Context, conn *ldap.Conn, ld *lightdashtest.Server, dm *daemon, groups []int, latency, debounce time.Duration) (lat, modify []time.Duration, reads int, err error) {
	d := h.dir
	for i := range h.opt.Changes {
		g := groups[i%len(groups)]
		u := d.NewMember(g, 7000+i+int(debounce/time.Millisecond)+int(latency/time.Millisecond)*131)
		req := ldap.NewModifyRequest(d.groupDN(g), nil)
		req.Add("member", []string{d.userDN(u)})
		before := len(ld.Requests())
		t0 := time.Now()
		if err := conn.Modify(req); err != nil {
			return nil, nil, 0, fmt.Errorf("modify %s: %w", d.groupDN(g), err)
		}
		modify = append(modify, time.Since(t0))
		at, err := waitWrite(ctx, ld, before, time.Minute)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("change %d (%s): %w\n%s", i, groupName(g), err, tail(dm.stderr.String()))
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
	return lat, modify, reads, nil
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
