package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printRows writes the rows as an aligned table or as Markdown.
func printRows(w io.Writer, opt Options, rows []Row) {
	fmt.Fprintf(w, "size: %d users, %d groups, %d memberships, %.0f%% nested; concurrency %d, rate %g/s; fake Lightdash cost: %s\n\n",
		opt.Users, opt.Groups, opt.Memberships, opt.Nested*100, opt.Concurrency, opt.Rate, opt.Cost)
	head := []string{"scenario", "latency", "ours", "floor", "ratio", "LD reads", "LD writes (want)", "peak RSS", "detail"}
	var lines [][]string
	for _, r := range rows {
		want := "-"
		if r.WantWrites >= 0 {
			want = fmt.Sprint(r.WantWrites)
		}
		ratio := "-"
		if r.Floor > 0 {
			ratio = fmt.Sprintf("%.2f×", r.Ratio())
		}
		rss := "-"
		if r.PeakRSS > 0 {
			rss = fmt.Sprintf("%d MB", r.PeakRSS>>20)
			if r.RSSFrom > 0 {
				rss += fmt.Sprintf(" (from %d)", r.RSSFrom>>20)
			}
		}
		ours := ms(r.Ours)
		if r.Rate > 0 {
			ours = fmt.Sprintf("%.0f events/s", r.Rate)
		}
		lines = append(lines, []string{r.Scenario, ms(r.Latency), ours, ms(r.Floor), ratio,
			fmt.Sprint(r.Reads), fmt.Sprintf("%d (%s)", r.Writes, want), rss, r.Note})
	}
	if opt.Out == "markdown" {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
		for _, l := range lines {
			fmt.Fprintf(w, "| %s |\n", strings.Join(l, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	tw.Flush()
}
