package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// runFullRuns measures warm full reconciliations inside the running
// daemon (SIGUSR1): three taken from the syncrepl watcher's state, then,
// after a slapd restart the session cannot vouch for, one that reads the
// directory in full, then one from the watcher's state again. Floors, in
// the same run: the Lightdash pages a warm run reads, fetched alone (the
// watcher's runs), and the bare LDAP dump plus the two list reads.
func (h *harness) runFullRuns(ctx context.Context, ld *lightdashtest.Server, dm *daemon, latency time.Duration) ([]Row, error) {
	dump, _, err := ldapDump(h.slapd.URL(), h.bindDN, h.bindPW, h.dir.Suffix)
	if err != nil {
		return nil, err
	}
	fl, err := measureLightdash(ctx, ld.URL(), ld.AdminToken())
	if err != nil {
		return nil, err
	}
	pages, err := pagesFloor(ctx, ld.URL(), ld.AdminToken(), len(ld.Users()))
	if err != nil {
		return nil, err
	}
	dm.phasePeak() // the floors' wait and anything before: not a full run's
	var watcher, cpu []time.Duration
	var rssRuns []phaseRSS
	for range 3 {
		cpu0, _ := cpuTime(dm.cmd.Process.Pid)
		d, read, err := fullRun(ctx, dm)
		if err != nil {
			return nil, err
		}
		cpu1, _ := cpuTime(dm.cmd.Process.Pid)
		h.wantRead(read, "watcher", "warm full run")
		watcher = append(watcher, d)
		cpu = append(cpu, cpu1-cpu0)
		rssRuns = append(rssRuns, newPhaseRSS(dm))
	}
	sort.Slice(watcher, func(i, j int) bool { return watcher[i] < watcher[j] })
	h.logf("restarting slapd: the watcher reconnects and cannot vouch for its state")
	if err := h.slapd.Restart(ctx); err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second) // reconnect and refresh (the next run reads in full either way)
	full, read, err := fullRun(ctx, dm)
	if err != nil {
		return nil, err
	}
	h.wantRead(read, "full", "full run after a reconnect")
	if read != "full" {
		h.logf("daemon log:\n%s", tail(dm.stderr.String()))
	}
	rssFull := newPhaseRSS(dm) // the reconnect, its refresh and the run
	again, read, err := fullRun(ctx, dm)
	if err != nil {
		return nil, err
	}
	h.wantRead(read, "watcher", "full run after the re-read")
	rssRuns = append(rssRuns, newPhaseRSS(dm))
	note := fmt.Sprintf("Lightdash lists %s; dump %s; watcher runs %s, %s, %s (sorted; daemon CPU of each in run order %s, %s, %s); after the re-read %s; peak RSS of each %s", ms(fl.Reads), ms(dump),
		ms(watcher[0]), ms(watcher[1]), ms(watcher[2]), ms(cpu[0]), ms(cpu[1]), ms(cpu[2]), ms(again), phasesMB(rssRuns))
	return []Row{
		{Scenario: "daemon full run, directory from the watcher", Latency: latency, Ours: watcher[1], Floor: pages,
			Lists: -1, WantWrites: -1, PeakRSS: highest(rssRuns).peak, RSSFrom: highest(rssRuns).from, Note: "median of 3; floor: fetching the Lightdash pages a warm run reads, alone; peak RSS: the highest of the 4 runs; " + note},
		{Scenario: "daemon full run, directory read in full", Latency: latency, Ours: full, Floor: fl.Reads + dump,
			Lists: -1, WantWrites: -1, PeakRSS: rssFull.peak, RSSFrom: rssFull.from, Note: "after a slapd restart; floor: list reads + LDAP dump; peak RSS from the restart to the end of the run"},
	}, nil
}

// phaseRSS is one phase's peak RSS and the RSS it began with.
type phaseRSS struct{ peak, from int64 }

func newPhaseRSS(dm *daemon) phaseRSS {
	p, f := dm.phasePeak()
	return phaseRSS{p, f}
}

func highest(v []phaseRSS) phaseRSS {
	return slices.MaxFunc(v, func(a, b phaseRSS) int { return cmp.Compare(a.peak, b.peak) })
}

// phasesMB formats phases as "a (from b), c (from d) MB".
func phasesMB(v []phaseRSS) string {
	s := make([]string, len(v))
	for i, p := range v {
		s[i] = fmt.Sprintf("%d (from %d)", p.peak>>20, p.from>>20)
	}
	return strings.Join(s, ", ") + " MB"
}

func (h *harness) wantRead(got, want, what string) {
	if got != want {
		h.errorf("%s: directory read %q, want %q", what, got, want)
	}
}

// lastRun is what /status.json says of the last full reconciliation.
type lastRun struct {
	LastReconcile *struct {
		Started       time.Time         `json:"started"`
		Duration      string            `json:"duration"`
		Result        string            `json:"result"`
		DirectoryRead map[string]string `json:"directoryRead"`
	} `json:"lastReconcile"`
}

func (d *daemon) lastRun() (lastRun, error) {
	var st lastRun
	resp, err := http.Get("http://" + d.admin + "/status.json")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status.json: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// fullRun asks the daemon for a full reconciliation (SIGUSR1) and returns
// its duration and how the directory was read.
func fullRun(ctx context.Context, dm *daemon) (time.Duration, string, error) {
	before, err := dm.lastRun()
	if err != nil || before.LastReconcile == nil {
		return 0, "", fmt.Errorf("status before the run: %v", err)
	}
	if err := dm.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return 0, "", err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return 0, "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		st, err := dm.lastRun()
		if err != nil || st.LastReconcile == nil || !st.LastReconcile.Started.After(before.LastReconcile.Started) {
			continue
		}
		r := st.LastReconcile
		if r.Result != "ok" {
			return 0, "", fmt.Errorf("full run: %s", r.Result)
		}
		took, err := time.ParseDuration(r.Duration)
		if err != nil {
			return 0, "", err
		}
		var reads []string
		for _, v := range r.DirectoryRead {
			reads = append(reads, v)
		}
		return took, strings.Join(reads, ","), nil
	}
	return 0, "", fmt.Errorf("no full run within 5m\n%s", tail(dm.stderr.String()))
}
