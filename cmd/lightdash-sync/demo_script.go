package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lightdash-sync/lightdash-sync/worker/daemon"
)

// script publishes the demo directory, then makes the scripted changes,
// printing what each caused in the simulated Lightdash.
func (d *demoRun) script(ctx context.Context) error {
	fmt.Fprintln(d.out, "1. Loading the directory and running the first full reconciliation")
	mark, start := len(d.ld.Requests()), time.Now()
	if err := d.drv.seed(ctx, d.dir); err != nil {
		return err
	}
	if err := d.waitFor(ctx, "every group to reach Lightdash", func() bool { return len(d.ld.Groups()) == len(d.dir.Groups) }); err != nil {
		return err
	}
	if err := d.fullReconcile(ctx); err != nil {
		return err
	}
	d.report(mark, start)
	d.printGroups()

	steps := []struct {
		title  string
		change func() error
		until  func() bool
	}{
		{"2. ada@example.com joins analysts",
			func() error { return d.drv.addMember(ctx, "g-analysts", "u-ada") },
			func() bool { return d.hasMember("dir-analysts", "ada@example.com") }},
		{"3. analysts is renamed to data-analysts (same group id: renamed in place, access kept)",
			func() error {
				return d.drv.rename(ctx, "g-analysts", "data-analysts", []string{"u-grace", "u-katherine", "u-ada"})
			},
			func() bool { return d.group("dir-data-analysts") != nil && d.group("dir-analysts") == nil }},
		{"4. grace@example.com is disabled in the directory",
			func() error { return d.drv.disableUser(ctx, "u-grace", "grace@example.com") },
			func() bool {
				return !d.hasMember("dir-data-analysts", "grace@example.com") && !d.hasMember("dir-data-all", "grace@example.com")
			}},
	}
	for _, s := range steps {
		fmt.Fprintf(d.out, "\n%s\n", s.title)
		mark, start := len(d.ld.Requests()), time.Now()
		if err := s.change(); err != nil {
			return err
		}
		if err := d.waitFor(ctx, s.title, s.until); err != nil {
			return err
		}
		d.report(mark, start)
	}

	fmt.Fprintln(d.out, "\n5. marketing is removed from the directory")
	mark, start = len(d.ld.Requests()), time.Now()
	if err := d.drv.deleteGroup(ctx, "g-marketing"); err != nil {
		return err
	}
	if err := d.waitFor(ctx, "the deletion to reach the directory view", d.viewLacks("g-marketing")); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "   An event alone never deletes a Lightdash group: full reconciliations decide, under the safety rules.")
	for i := 1; i <= 2 && d.group("dir-marketing") != nil; i++ {
		if err := d.fullReconcile(ctx); err != nil {
			return err
		}
		run, _ := d.h.units[0].d.Last()
		switch res := run.Result; {
		case d.group("dir-marketing") == nil:
			fmt.Fprintf(d.out, "   full reconciliation %d: absent from %d complete reads: deleted (policy: sync)\n", i, i)
		case res.Blocked:
			fmt.Fprintf(d.out, "   full reconciliation %d: deletion HELD BACK: %s\n", i, res.BlockedReason)
		default:
			fmt.Fprintf(d.out, "   full reconciliation %d: absent from %d complete read(s); kept until sync.safety.delete_after_reads (%d)\n", i, i, d.cfg.Sync.Safety.DeleteAfterReads)
		}
	}
	if d.group("dir-marketing") != nil {
		fmt.Fprintln(d.out, "   An operator reviews the plan and runs: lightdash-sync reconcile --allow-deletions")
		a, err := buildApp(ctx, d.cfg, d.log, appMode{allowDeletions: true})
		if err != nil {
			return err
		}
		res, err := a.worker.Reconcile(ctx)
		a.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(d.out, "   reconcile --allow-deletions: deleted %d group(s)\n", res.Summary.Deleted)
	}
	d.report(mark, start)
	d.printGroups()
	return nil
}

func (d *demoRun) fullReconcile(ctx context.Context) error {
	before, _ := d.h.units[0].d.Last()
	d.h.units[0].d.RequestReconcile()
	if err := d.waitFor(ctx, "a full reconciliation", func() bool { run, _ := d.h.units[0].d.Last(); return run != before }); err != nil {
		return err
	}
	run, _ := d.h.units[0].d.Last()
	if run.Err != nil {
		return fmt.Errorf("full reconciliation: %w", run.Err)
	}
	if n := daemon.Drift(run.Result.Summary); n > 0 {
		fmt.Fprintf(d.out, "   the full reconciliation made %d changes\n", n)
	}
	return nil
}

// waitFor waits until cond holds and the daemon has nothing left to do, so
// each step's report counts exactly the calls that step caused.
func (d *demoRun) waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	idle := func() bool { p, f := d.h.units[0].d.QueueDepth(); return p == 0 && f == 0 }
	for !cond() || !idle() {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: timed out waiting for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func (d *demoRun) viewLacks(groupID string) func() bool {
	return func() bool {
		snap, err := d.h.units[0].app.sources[0].Snapshot(context.Background())
		if err != nil {
			return false
		}
		for _, g := range snap.Groups {
			if g.ID == groupID {
				return false
			}
		}
		return true
	}
}

// report prints the Lightdash calls made since mark and how long it took.
func (d *demoRun) report(mark int, start time.Time) {
	reqs := d.ld.Requests()[mark:]
	took := time.Since(start)
	counts := map[string]int{}
	var order []string
	for _, r := range reqs {
		k := fmt.Sprintf("%s %s → %d", r.Method, r.Endpoint, r.Status)
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	fmt.Fprintf(d.out, "   reached the simulated Lightdash in %s with %d calls:\n", took.Round(time.Millisecond), len(reqs))
	for _, k := range order {
		fmt.Fprintf(d.out, "     %3d × %s\n", counts[k], k)
	}
}

func (d *demoRun) group(name string) []string {
	for _, g := range d.ld.Groups() {
		if g.Name == name {
			var emails []string
			for _, m := range g.MemberUUIDs {
				emails = append(emails, d.emails[m])
			}
			sort.Strings(emails)
			if emails == nil {
				emails = []string{}
			}
			return emails
		}
	}
	return nil
}

func (d *demoRun) hasMember(group, email string) bool {
	for _, e := range d.group(group) {
		if e == email {
			return true
		}
	}
	return false
}

func (d *demoRun) printGroups() {
	groups := d.ld.Groups()
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	fmt.Fprintln(d.out, "\n   Groups in the simulated Lightdash:")
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	for _, g := range groups {
		fmt.Fprintf(tw, "     %s\t%s\n", g.Name, strings.Join(d.group(g.Name), ", "))
	}
	tw.Flush()
	d.printAccess()
	var unmatched []string
	for _, u := range d.dir.Users {
		found := false
		for _, e := range d.emails {
			found = found || e == u.Email
		}
		if !found {
			unmatched = append(unmatched, u.Email)
		}
	}
	if len(unmatched) > 0 {
		fmt.Fprintf(d.out, "   Not in Lightdash (reported as unmatched, added once they sign up): %s\n", strings.Join(unmatched, ", "))
	}
}

// printAccess shows the project roles of the groups in the simulated Lightdash.
func (d *demoRun) printAccess() {
	names := map[string]string{}
	for _, g := range d.ld.Groups() {
		names[g.UUID] = g.Name
	}
	var lines []string
	for g, role := range d.ld.ProjectRoles(d.project) {
		lines = append(lines, fmt.Sprintf("     %s is %s on project %s", names[g], role, demoProject))
	}
	sort.Strings(lines)
	if len(lines) > 0 {
		fmt.Fprintf(d.out, "   Project access (mapping rule \"analysts\"):\n%s\n", strings.Join(lines, "\n"))
	}
}
