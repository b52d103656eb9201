package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// printPlan writes the plan for people: one line per change with its
// reason, then what was held back or could not be planned, then a count.
func printPlan(w io.Writer, p *worker.Plan) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(mark, kind, name, detail, reason string) {
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\n", mark, kind, name, detail, reason)
	}
	for _, c := range p.Creates {
		line("+", "create", quote(c.Name), fmt.Sprintf("%d members", len(c.Members)+len(c.Invitees)), c.Reason)
	}
	for _, u := range p.Updates {
		if !u.Writes() {
			continue
		}
		var parts []string
		if u.NewName != "" {
			parts = append(parts, "rename to "+quote(u.NewName))
		}
		if len(u.Add) > 0 || len(u.Invitees) > 0 {
			parts = append(parts, fmt.Sprintf("+%d members", len(u.Add)+len(u.Invitees)))
		}
		if len(u.Remove) > 0 {
			parts = append(parts, fmt.Sprintf("-%d members", len(u.Remove)))
		}
		kind := "update"
		if u.Adopt {
			kind = "adopt"
		}
		line("~", kind, quote(u.Name), strings.Join(parts, ", "), u.Reason)
	}
	for _, d := range p.Deletes {
		line("-", "delete", quote(d.Name), "", d.Reason)
	}
	for _, ch := range p.Access {
		line(accessMark[ch.Op], ch.Op, quote(ch.Group), accessDetail(ch), ch.Reason)
	}
	for _, i := range p.Invites {
		line("+", "invite", i.Email, strings.Join(i.Groups, ", "), "no Lightdash user; identity.unmatched is invite")
	}
	for _, h := range p.HeldBack {
		detail := h.Kind
		if len(h.Members) > 0 {
			detail = fmt.Sprintf("%s (%d members)", h.Kind, len(h.Members))
		}
		line("!", "held", quote(h.Name), detail, h.Reason)
	}
	for _, c := range p.Conflicts {
		line("!", "conflict", quote(c.Name), "", c.Reason)
	}
	for _, pr := range p.Problems {
		line("!", "problem", quote(pr.Name), pr.Source+" "+pr.GroupID, pr.Reason)
	}
	for _, u := range p.Unmatched {
		who := u.Email
		if who == "" {
			who = u.UserID
		}
		line("?", "unmatched", who, strings.Join(u.Groups, ", "), u.Reason)
	}
	tw.Flush()

	updates, renames := 0, 0
	for _, u := range p.Updates {
		if u.Writes() {
			updates++
		}
		if u.NewName != "" {
			renames++
		}
	}
	if !p.HasChanges() {
		fmt.Fprintln(w, "No changes: Lightdash matches the directory.")
	} else {
		fmt.Fprintf(w, "Plan: %d to create, %d to update (%d renames), %d to delete, %d invites.\n",
			len(p.Creates), updates, renames, len(p.Deletes), len(p.Invites))
	}
	if n := len(p.Conflicts) + len(p.Unmatched) + len(p.HeldBack) + len(p.Problems); n > 0 {
		fmt.Fprintf(w, "Not applied: %d conflicts, %d unmatched users, %d held back, %d problems.\n",
			len(p.Conflicts), len(p.Unmatched), len(p.HeldBack), len(p.Problems))
	}
	if len(p.Access) > 0 {
		n := map[string]int{}
		for _, ch := range p.Access {
			n[ch.Op]++
		}
		fmt.Fprintf(w, "Access: %d to grant, %d to change, %d to revoke.\n", n[worker.AccessGrant], n[worker.AccessChange], n[worker.AccessRevoke])
	}
	if p.Blocked {
		fmt.Fprintf(w, "BLOCKED: %s\nAdditions still apply; rerun reconcile with --allow-deletions to let the held-back changes through.\n", p.BlockedReason)
	}
}

var accessMark = map[string]string{worker.AccessGrant: "+", worker.AccessChange: "~", worker.AccessRevoke: "-"}

// accessDetail says which project or space and which role.
func accessDetail(ch worker.AccessChangeItem) string {
	where := "project " + quote(ch.ProjectName)
	if ch.Space != "" {
		where = "space " + quote(ch.SpaceName) + " of project " + quote(ch.ProjectName)
	}
	switch ch.Op {
	case worker.AccessChange:
		return fmt.Sprintf("%s: %s (was %s)", where, ch.Role, ch.OldRole)
	case worker.AccessRevoke:
		return fmt.Sprintf("%s: %s", where, ch.OldRole)
	}
	return fmt.Sprintf("%s: %s", where, ch.Role)
}

// quote shows a name with any control or invisible characters escaped, so
// a hostile directory name cannot rewrite the terminal.
func quote(s string) string {
	q := fmt.Sprintf("%q", s)
	if q == `"`+s+`"` && !strings.ContainsAny(s, " \t") {
		return s
	}
	return q
}
