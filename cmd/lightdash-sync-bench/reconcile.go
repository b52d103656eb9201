package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// Row is one measured figure beside its floor.
type Row struct {
	Scenario      string
	Latency       time.Duration
	Ours          time.Duration
	Floor         time.Duration
	Reads, Writes int // Lightdash requests the daemon sent
	Lists         int // of the reads: list users / list groups
	WantWrites    int // -1 when not checked
	PeakRSS       int64
	RSSFrom       int64   // a daemon phase's RSS when it began; 0: not a phase
	Rate          float64 // events/s, for throughput rows
	Note          string
}

// Ratio is ours / floor.
func (r Row) Ratio() float64 {
	if r.Floor <= 0 {
		return 0
	}
	return float64(r.Ours) / float64(r.Floor)
}

// counts splits the fake's request log into reads, list reads and writes.
func counts(ld *lightdashtest.Server) (reads, lists, writes int) {
	for _, r := range ld.Requests() {
		switch {
		case r.IsWrite():
			writes++
		default:
			reads++
			if r.Endpoint == "/api/v1/org/users" || r.Endpoint == "/api/v1/org/groups" {
				lists++
			}
		}
	}
	return reads, lists, writes
}

// warmLists is the list calls a warm run makes against an organization of
// users: one per users page, and the groups list.
func warmLists(users int) int {
	return 1 + (users+lightdash.DefaultUserPageSize-1)/lightdash.DefaultUserPageSize
}

// runReconciles measures cold, warm and 1%-changed reconciliations with
// `lightdash-sync reconcile` at one latency, against a fresh fake.
func (h *harness) runReconciles(ctx context.Context, latency time.Duration, want map[string]bool) ([]Row, error) {
	d := h.dir
	ld := h.newFake(latency)
	defer ld.Close()
	dir, err := os.MkdirTemp(h.work, "reconcile-")
	if err != nil {
		return nil, err
	}
	cfg := h.config(ld, filepath.Join(dir, "state.json"), 0, "")
	cfgPath := filepath.Join(dir, "lightdash-sync.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.yaml()), 0o600); err != nil {
		return nil, err
	}
	dump, entries, err := ldapDump(h.slapd.URL(), h.bindDN, h.bindPW, d.Suffix)
	if err != nil {
		return nil, err
	}
	h.logf("ldap dump: %d entries in %s", entries, dump.Round(time.Millisecond))
	var rows []Row
	run := func(name string, wantWrites int) (Row, error) {
		ld.ResetRequests()
		bin := h.bin
		if name == "cold" && h.opt.ColdBin != "" {
			bin = h.opt.ColdBin
		}
		rctx, cancel := context.WithTimeout(ctx, h.opt.RunTimeout)
		res, err := runOnce(rctx, h.opt.ChildEnv, bin, cfgPath, "reconcile")
		cancel()
		reads, lists, writes := counts(ld)
		if err != nil {
			if rctx.Err() != nil {
				r := Row{Scenario: name + " (killed)", Latency: latency, Ours: res.Wall, Reads: reads, Lists: lists, Writes: writes, WantWrites: wantWrites, PeakRSS: res.MaxRSS,
					Note: fmt.Sprintf("killed after -run-timeout %s with %d of %d writes made", h.opt.RunTimeout, writes, wantWrites)}
				return r, fmt.Errorf("%s at %s: killed after %s with %d of %d writes made", name, latency, h.opt.RunTimeout, writes, wantWrites)
			}
			return Row{}, err
		}
		fl, err := measureLightdash(ctx, ld.URL(), ld.AdminToken())
		if err != nil {
			return Row{}, err
		}
		floor := dump + fl.Reads + writeFloor(writes, h.opt.Concurrency, h.opt.Rate, fl.OneCall)
		r := Row{Scenario: name, Latency: latency, Ours: res.Wall, Floor: floor, Reads: reads, Lists: lists, Writes: writes, WantWrites: wantWrites, PeakRSS: res.MaxRSS,
			Note: fmt.Sprintf("%d list reads + %d preflight; floor: dump %s + reads %s + writes %s (1 call %s)", lists, reads-lists, ms(dump), ms(fl.Reads), ms(floor-dump-fl.Reads), ms(fl.OneCall))}
		if wantWrites >= 0 && writes != wantWrites {
			h.errorf("%s at %s: %d writes, want %d", name, latency, writes, wantWrites)
		}
		if res.Stdout != "" {
			h.logf("%s at %s: %s", name, latency, firstLine(res.Stdout))
		}
		return r, nil
	}
	if want["cold"] || want["warm"] || want["changed"] {
		r, err := run("cold", d.Size.Groups)
		if r.Scenario != "" {
			if h.opt.ColdBin != "" {
				r.Scenario += " (-cold-bin)"
			}
			rows = append(rows, r)
		}
		if err != nil {
			return rows, err
		}
	}
	if want["warm"] {
		r, err := run("warm", 0)
		if err != nil {
			return rows, err
		}
		if want := warmLists(len(ld.Users())); r.Lists != want {
			h.errorf("warm at %s: %d Lightdash list reads, want %d (the groups list and the users pages)", latency, r.Lists, want)
		}
		pages, err := pagesFloor(ctx, ld.URL(), ld.AdminToken(), len(ld.Users()))
		if err != nil {
			return rows, err
		}
		r.Note += fmt.Sprintf("; the Lightdash pages alone %s, warm/pages %.2f×", ms(pages), float64(r.Ours)/float64(pages))
		rows = append(rows, r)
	}
	if want["changed"] {
		groups := d.Changeable(max(1, d.Size.Groups/100))
		if err := h.addMembers(groups, int(latency/time.Millisecond)); err != nil {
			return rows, err
		}
		r, err := run("changed 1%", len(groups))
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// addMembers adds one new member to each group in LDAP.
func (h *harness) addMembers(groups []int, salt int) error {
	conn, err := h.ldapConn()
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, g := range groups {
		u := h.dir.NewMember(g, salt)
		req := ldap.NewModifyRequest(h.dir.groupDN(g), nil)
		req.Add("member", []string{h.dir.userDN(u)})
		if err := conn.Modify(req); err != nil {
			return fmt.Errorf("modify %s: %w", h.dir.groupDN(g), err)
		}
	}
	return nil
}

func (h *harness) ldapConn() (*ldap.Conn, error) {
	conn, err := ldap.DialURL(h.slapd.URL())
	if err != nil {
		return nil, fmt.Errorf("ldap: %w", err)
	}
	cfg := h.slapd.Config()
	if err := conn.Bind(cfg.RootDN, cfg.RootPassword); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ldap bind: %w", err)
	}
	return conn, nil
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
