package worker

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the plan for people: one line per change with its
// reason, then what was not done and why. `plan` without --output json
// prints this.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if p.Partial {
		line("partial plan (some groups only; never deletes)")
	}
	for _, c := range p.Creates {
		line("+ create %q with %d members%s (%s)", c.Name, len(c.Members)+len(c.Invitees), invited(c.Invitees), c.Reason)
	}
	for _, u := range p.Updates {
		switch {
		case u.NewName != "":
			line("~ rename %q to %q (%s)", u.Name, u.NewName, u.Reason)
		case u.Adopt && !u.Writes():
			line("~ adopt %q (%s)", u.Name, u.Reason)
		default:
			line("~ update %q (%s)", u.Name, u.Reason)
		}
		if len(u.Add) > 0 || len(u.Remove) > 0 || len(u.Invitees) > 0 {
			line("    members +%d -%d%s", len(u.Add), len(u.Remove), invited(u.Invitees))
		}
	}
	for _, d := range p.Deletes {
		line("- delete %q (%s)", d.Name, d.Reason)
	}
	for _, i := range p.Invites {
		line("+ invite %s (%d groups)", i.Email, len(i.Groups))
	}
	for _, c := range p.Conflicts {
		line("! conflict %q: %s", c.Name, c.Reason)
	}
	for _, h := range p.HeldBack {
		if h.Kind == "delete" {
			line("! held back: delete %q: %s", h.Name, h.Reason)
		} else {
			line("! held back: remove %d members from %q: %s", len(h.Members), h.Name, h.Reason)
		}
	}
	for _, pr := range p.Problems {
		sev := "warning"
		if pr.Blocking {
			sev = "problem"
		}
		line("! %s %q: %s", sev, pr.Name, pr.Reason)
	}
	for _, a := range p.Absent {
		line("  waiting: %s: %s", a.Key, a.Reason)
	}
	for _, u := range p.Unmatched {
		line("? user %s (%s): %s; in %s", u.Email, u.UserID, u.Reason, strings.Join(u.Groups, ", "))
	}
	if p.Blocked {
		line("BLOCKED: %s", p.BlockedReason)
	}
	if !p.HasChanges() {
		line("no changes")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func invited(emails []string) string {
	if len(emails) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d invited)", len(emails))
}
