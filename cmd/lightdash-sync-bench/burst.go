package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// Burst is the burst scenario's shape: Changes member additions spread
// round-robin over Groups groups, sent as fast as slapd takes them.
const (
	burstGroups  = 10
	burstChanges = 1000
	// burstDebounce is the product's default schedule.debounce.
	burstDebounce = 500 * time.Millisecond
)

// runDaemonScenarios starts one daemon at the default debounce and runs
// the burst and full-run scenarios against it.
func (h *harness) runDaemonScenarios(ctx context.Context, latency time.Duration) ([]Row, error) {
	ld := h.newFake(latency)
	defer ld.Close()
	dm, err := h.startLiveDaemon(ctx, ld, burstDebounce)
	if err != nil {
		return nil, err
	}
	defer dm.stop() //nolint:errcheck // a failure shows in the rows
	rows := []Row{startupRow(dm, ld, "burst and full runs", latency)}
	if h.opt.Scenarios["burst"] {
		r, err := h.runBurst(ctx, ld, dm, latency)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	if h.opt.Scenarios["fullrun"] {
		r, err := h.runFullRuns(ctx, ld, dm, latency)
		rows = append(rows, r...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// runBurst makes burstChanges additions on burstGroups groups and counts
// the Lightdash writes: the bound is one write per group in any debounce
// long window (docs/configuration.md, schedule.debounce).
func (h *harness) runBurst(ctx context.Context, ld *lightdashtest.Server, dm *daemon, latency time.Duration) (Row, error) {
	d := h.dir
	conn, err := h.ldapConn()
	if err != nil {
		return Row{}, err
	}
	defer conn.Close()
	all := d.Changeable(h.opt.Changes + 1 + burstGroups)
	groups := all[len(all)-burstGroups:]
	time.Sleep(burstDebounce) // the groups are quiet
	ld.ResetRequests()
	t0 := time.Now()
	for i := range burstChanges {
		g := groups[i%len(groups)]
		req := ldap.NewModifyRequest(d.groupDN(g), nil)
		req.Add("member", []string{d.userDN(d.NewMember(g, 20000+i))})
		if err := conn.Modify(req); err != nil {
			return Row{}, fmt.Errorf("burst modify %s: %w", d.groupDN(g), err)
		}
	}
	sent := time.Since(t0)
	deadline := time.Now().Add(h.opt.ReadyTimeout)
	for len(h.mismatches(ld, groups)) > 0 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	for _, m := range h.mismatches(ld, groups) {
		h.errorf("burst: %s", m)
	}
	last, err := waitQuiet(ctx, ld, 4*burstDebounce, h.opt.ReadyTimeout)
	if err != nil {
		return Row{}, fmt.Errorf("burst: %w\n%s", err, tail(dm.stderr.String()))
	}
	writes := writeTimes(ld)
	reads, _, _ := counts(ld)
	rss, from := dm.phasePeak()
	perGroup, perWindow := maxPerWindow(writes, burstDebounce)
	total := 0
	for _, ts := range writes {
		total += len(ts)
	}
	if perGroup > 1 || perWindow > burstGroups {
		h.errorf("burst: %d writes in one %s window (%d to one group), want at most %d, one per group", perWindow, burstDebounce, perGroup, burstGroups)
	}
	return Row{
		Scenario: fmt.Sprintf("burst %d changes on %d groups, debounce %s", burstChanges, burstGroups, burstDebounce), Latency: latency,
		Ours: last.Sub(t0), Reads: reads, Lists: -1, Writes: total, WantWrites: -1, PeakRSS: rss, RSSFrom: from,
		Note: fmt.Sprintf("sent in %s; ours = burst start to last write; most writes in any %s window: %d (to one group: %d); bound %d, one per group",
			ms(sent), burstDebounce, perWindow, perGroup, burstGroups),
	}, nil
}

// waitQuiet waits until the fake has logged no write for quiet, and
// returns when it logged the last one.
func waitQuiet(ctx context.Context, ld *lightdashtest.Server, quiet, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var last time.Time
		for _, r := range ld.Requests() {
			if r.IsWrite() && r.Time.After(last) {
				last = r.Time
			}
		}
		if !last.IsZero() && time.Since(last) > quiet {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return time.Time{}, fmt.Errorf("writes did not stop within %s", timeout)
}

// writeTimes groups the logged writes' times by path (one path per
// Lightdash group).
func writeTimes(ld *lightdashtest.Server) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, r := range ld.Requests() {
		if r.IsWrite() {
			out[r.Path] = append(out[r.Path], r.Time)
		}
	}
	return out
}

// maxPerWindow returns the most writes to one path, and to all paths, in
// any window of length w.
func maxPerWindow(writes map[string][]time.Time, w time.Duration) (perPath, all int) {
	count := func(ts []time.Time) int {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		best := 0
		for i, j := 0, 0; j < len(ts); j++ {
			for ts[j].Sub(ts[i]) >= w {
				i++
			}
			best = max(best, j-i+1)
		}
		return best
	}
	var every []time.Time
	for _, ts := range writes {
		perPath = max(perPath, count(ts))
		every = append(every, ts...)
	}
	return perPath, count(every)
}

// mismatches lists the groups whose Lightdash members are not the users
// the directory lists for them (nested group included) that have a
// Lightdash account.
func (h *harness) mismatches(ld *lightdashtest.Server, groups []int) []string {
	var out []string
	label := map[string]string{}
	for _, u := range ld.Users() {
		label[u.UserUUID] = u.Email
	}
	for _, g := range groups {
		got, ok := ld.GroupMembers(groupName(g), label)
		var want []string
		users := h.dir.members[g]
		if c := h.dir.child[g]; c >= 0 {
			users = append(slices.Clone(users), h.dir.members[c]...)
		}
		seen := map[int]bool{}
		for _, u := range users {
			if matched(u) && !seen[u] {
				seen[u] = true
				want = append(want, userEmail(u))
			}
		}
		sort.Strings(want)
		if !ok || strings.Join(got, ",") != strings.Join(want, ",") {
			out = append(out, fmt.Sprintf("group %s: %d Lightdash members, want %d", groupName(g), len(got), len(want)))
		}
	}
	return out
}
