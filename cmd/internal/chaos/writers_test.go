package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// checkWriters reads the fake's request log: the writes of the daemon runs
// must come in one block per leadership term, in the order the terms
// happened (run a's writes, then run b's, never a, b, a: that would be two
// writers at once), no run that never led writes at all, and a killed run
// writes nothing after it died (1 s for a request already on the wire).
func checkWriters(t *testing.T, reqs []lightdashtest.Request, runs []*proc, terms []*proc) {
	t.Helper()
	problems, notes := writerProblems(reqs, runs, terms)
	for _, n := range notes {
		t.Log(n)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// writerProblems is checkWriters without the testing.T, so that a test can
// show it catches interleaved writers. notes say where the writes passed
// from one run to the next and how many each made.
func writerProblems(reqs []lightdashtest.Request, runs []*proc, terms []*proc) (problems, notes []string) {
	byUser := map[string]*proc{}
	for _, p := range runs {
		byUser[p.user.UserUUID] = p
	}
	order := map[*proc]int{}
	for i, p := range terms {
		order[p] = i + 1
	}
	var prev *proc
	var prevLast time.Time
	done := map[*proc]bool{}
	writes := map[*proc]int{}
	for _, r := range reqs {
		p := byUser[r.UserUUID]
		if p == nil || !r.IsWrite() {
			continue
		}
		writes[p]++
		if !p.ended.IsZero() && r.Time.After(p.ended.Add(time.Second)) {
			problems = append(problems, fmt.Sprintf("run %d wrote %s %s at %s, after it died at %s", p.n, r.Method, r.Path,
				r.Time.Format(time.RFC3339Nano), p.ended.Format(time.RFC3339Nano)))
		}
		if p == prev {
			prevLast = r.Time
			continue
		}
		switch {
		case order[p] == 0:
			problems = append(problems, fmt.Sprintf("run %d, which never led, wrote %s %s at %s", p.n, r.Method, r.Path, r.Time.Format(time.RFC3339Nano)))
		case done[p]:
			problems = append(problems, fmt.Sprintf("run %d wrote %s %s at %s after run %d had written (last at %s): two writers interleaved",
				p.n, r.Method, r.Path, r.Time.Format(time.RFC3339Nano), prev.n, prevLast.Format(time.RFC3339Nano)))
		case prev != nil && order[p] < order[prev]:
			problems = append(problems, fmt.Sprintf("run %d wrote at %s after run %d, but led before it", p.n, r.Time.Format(time.RFC3339Nano), prev.n))
		case prev != nil:
			notes = append(notes, fmt.Sprintf("writes pass from run %d (last at %s) to run %d (first at %s, %s later)", prev.n,
				prevLast.Format("15:04:05.000"), p.n, r.Time.Format("15:04:05.000"), r.Time.Sub(prevLast).Round(time.Millisecond)))
		}
		if prev != nil {
			done[prev] = true
		}
		prev, prevLast = p, r.Time
	}
	summary := "writes by run:"
	for _, p := range runs {
		summary += fmt.Sprintf(" run %d %d;", p.n, writes[p])
	}
	notes = append(notes, summary)
	if len(terms) > 1 && writes[terms[len(terms)-1]] == 0 {
		problems = append(problems, fmt.Sprintf("the last leader, run %d, made no writes: the test saw no work after the takeover", terms[len(terms)-1].n))
	}
	return problems, notes
}

// The handover test's writer check must catch two replicas writing
// interleaved, a standby writing, and a write after death; and pass a
// clean handover.
func TestWriterProblems(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	a := &proc{n: 1, user: lightdash.OrgMember{UserUUID: "ua"}, ended: t0.Add(5 * time.Second)}
	b := &proc{n: 2, user: lightdash.OrgMember{UserUUID: "ub"}, ended: t0.Add(20 * time.Second)}
	c := &proc{n: 3, user: lightdash.OrgMember{UserUUID: "uc"}, ended: t0.Add(20 * time.Second)}
	w := func(user string, sec float64) lightdashtest.Request {
		return lightdashtest.Request{Method: "PATCH", Path: "/g", Status: 200, UserUUID: user, Time: t0.Add(time.Duration(sec * float64(time.Second)))}
	}
	read := lightdashtest.Request{Method: "GET", Path: "/g", Status: 200, UserUUID: "uc", Time: t0.Add(11 * time.Second)}
	for _, tc := range []struct {
		name string
		reqs []lightdashtest.Request
		want int
	}{
		{"clean handover", []lightdashtest.Request{w("ua", 1), w("ua", 4), read, w("ub", 9), w("ub", 12)}, 0},
		{"interleaved", []lightdashtest.Request{w("ua", 1), w("ub", 2), w("ua", 3), w("ub", 9)}, 2},
		{"standby writes", []lightdashtest.Request{w("ua", 1), w("ub", 9), w("uc", 12)}, 1},
		{"out of order", []lightdashtest.Request{w("ub", 1), w("ua", 2)}, 1},
		{"after death", []lightdashtest.Request{w("ua", 1), w("ua", 7), w("ub", 9)}, 1},
		{"no work after the takeover", []lightdashtest.Request{w("ua", 1)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, _ := writerProblems(tc.reqs, []*proc{a, b, c}, []*proc{a, b})
			if len(problems) != tc.want {
				t.Errorf("got %d problems %q, want %d", len(problems), problems, tc.want)
			}
		})
	}
}
