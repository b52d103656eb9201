package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// printExplanation writes x for people, one section per question, every
// directory string escaped (ident.Printable) so a terminal shows it
// rather than obeys it.
func printExplanation(w io.Writer, x *worker.Explanation) {
	f := x.Freshness
	grants := ""
	if !f.Access.IsZero() {
		grants = ", grants " + stamp(f.Access)
	}
	fmt.Fprintf(w, "%s (%s: directory read %s, plan %s, Lightdash groups %s%s)\n", x.Email, f.From, stamp(f.Directory), stamp(f.Plan), stamp(f.Lightdash), grants)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	section := func(title string, n int) bool {
		fmt.Fprintf(tw, "\n%s\n", title)
		if n == 0 {
			fmt.Fprintln(tw, "  none")
		}
		return n > 0
	}
	row := func(cols ...string) {
		for i := range cols {
			cols[i] = ident.Printable(cols[i])
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(cols, "\t"))
	}
	if section("Directory entries", len(x.Directory)) {
		for _, e := range x.Directory {
			row(e.Source, e.ID, orDash(e.DN), addresses(e), map[bool]string{true: "DISABLED", false: "enabled"}[e.Disabled])
		}
	}
	if section("Directory groups", len(x.Groups)) {
		for _, g := range x.Groups {
			row(g.Source, groupRef(g.Group), how(g), mapping(g.Mapping))
		}
	}
	a := x.Account
	fmt.Fprintf(tw, "\nLightdash account\n")
	row(a.Status, orDash(a.UUID), orDash(a.Email), orDash(a.Role), a.Detail)
	if section("Lightdash groups (now / should be)", len(x.Lightdash)) {
		for _, l := range x.Lightdash {
			row(quote(l.Name), yesNo(l.Now)+" / "+yesNo(l.Should), l.State, l.Reason)
		}
	}
	if section("Project roles and spaces", len(x.Grants)) {
		for _, g := range x.Grants {
			row(quote(g.Group), g.Kind+" "+quote(g.Target), grantRole(g), yesNo(g.Now)+" / "+yesNo(g.Should), g.State, g.Reason)
		}
	}
	if section("Held back or pending", len(x.Pending)) {
		for _, p := range x.Pending {
			row(p.Kind, quote(p.Group), p.Reason)
		}
	}
	if len(x.Notes) > 0 {
		fmt.Fprintf(tw, "\nNotes\n")
		for _, n := range x.Notes {
			row(n)
		}
	}
}

// grantRole is g's role, "had -> role" when it changes.
func grantRole(g worker.ExplainGrant) string {
	if g.Had != "" {
		return g.Had + " -> " + orDash(g.Role)
	}
	return orDash(g.Role)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func addresses(e worker.ExplainEntry) string {
	return strings.Join(append([]string{e.Email}, e.AltEmails...), ", ")
}

func groupRef(r worker.ExplainRef) string {
	if r.DN == "" || r.DN == r.Name {
		return quote(r.Name)
	}
	return quote(r.Name) + " (" + r.DN + ")"
}

// how says how the user is in g: directly, or through which groups.
func how(g worker.ExplainGroup) string {
	if g.Direct {
		return "direct"
	}
	var path []string
	for _, p := range g.Path {
		path = append(path, quote(p.Name))
	}
	return "nested: " + strings.Join(path, " > ")
}

func mapping(v worker.MappingVerdict) string {
	if v.Verdict == worker.VerdictMapped {
		s := "-> " + quote(v.LightdashGroup) + " (" + v.Rule + ")"
		if v.Reason != "" {
			s += ": " + v.Reason
		}
		return s
	}
	s := "not synced: " + v.Verdict
	if v.Rule != "" {
		s += " (" + v.Rule + " -> " + quote(v.LightdashGroup) + ")"
	}
	return s + ": " + v.Reason
}
