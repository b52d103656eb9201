package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// term is one leadership term of a run, as its own log tells it: from the
// lease's "elected leader" line (written once the lease is won, before
// any write of the term) to "leadership term over: stopped writing"
// (written once the daemon loop has returned, after every write of the
// term). A term the log does not close ends when the run exited.
type term struct {
	run        *proc
	start, end time.Time
}

// Log lines that open and close a term (worker/lease/run.go and
// cmd/lightdash-sync/unit.go). The unit's own "elected leader: watching
// sources and applying changes" follows the lease's line at once; the
// earlier one makes the window wider, so the check stricter.
//
// termWritesEndMsg, written the instant the term's context ends (every
// Lightdash call runs under it), closes the term when it comes first: the
// loop can take seconds more to return (a state save waiting out a NATS
// reconnect), and the claim under test is that no Lightdash write of the
// term lands after that instant.
const (
	termStartMsg     = "lease: elected leader"
	termWritesEndMsg = "leadership term ended: no more Lightdash writes"
	termEndMsg       = "leadership term over: stopped writing"
)

// logTimeLayout is the daemon's JSON log time (zap's ISO8601 encoder):
// milliseconds, truncated.
const logTimeLayout = "2006-01-02T15:04:05.000Z0700"

// logGrain is how far apart two instants must be for the check to call
// one before the other: the log's timestamps are truncated to the
// millisecond, and the fake stamps a request just after it took effect.
// Both clocks are this machine's wall clock (the fake runs in the test
// process, the daemons are its children).
const logGrain = 2 * time.Millisecond

// onTheWire is how long after its own term's end a replica's write may
// still land and count as the term's: a request already sent when the
// term's context ended is not recalled by cancelling it, and lands a
// round trip later. The lease leaves TTL/5 (600 ms at the tests' 3 s
// TTL) between the cutoff and the earliest takeover for exactly this, so
// such a write is still checked against the other replica's terms; this
// only stops the own-term rule from calling it a term-less write.
const onTheWire = 500 * time.Millisecond

// readTerms parses p's log into its terms, in order.
func readTerms(p *proc) ([]term, error) {
	f, err := os.Open(p.stderrPath())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var terms []term
	open, closedEarly := false, false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Time string `json:"time"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || (line.Msg != termStartMsg && line.Msg != termEndMsg && line.Msg != termWritesEndMsg) {
			continue
		}
		at, err := time.Parse(logTimeLayout, line.Time)
		if err != nil {
			return nil, fmt.Errorf("run %d: %q line: %w", p.n, line.Msg, err)
		}
		switch {
		case line.Msg == termStartMsg && open:
			return nil, fmt.Errorf("run %d: elected again at %s before its term from %s was over", p.n, line.Time, terms[len(terms)-1].start.Format(logTimeLayout))
		case line.Msg == termStartMsg:
			terms = append(terms, term{run: p, start: at})
			open, closedEarly = true, false
		case line.Msg == termEndMsg && !open && closedEarly:
			closedEarly = false // the writes ended earlier; the loop only now
		case line.Msg == termWritesEndMsg && open:
			terms[len(terms)-1].end = at
			open, closedEarly = false, true
		case !open:
			return nil, fmt.Errorf("run %d: term over at %s without an election", p.n, line.Time)
		default:
			terms[len(terms)-1].end = at
			open = false
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("run %d log: %w", p.n, err)
	}
	if open {
		end := p.ended
		if end.IsZero() {
			end = time.Now()
		}
		terms[len(terms)-1].end = end
	}
	return terms, nil
}

// overlapReport is what termProblems found, besides problems.
type overlapReport struct {
	Writes       int           // writes by the runs, all checked
	Terms        int           // terms in all
	Moves        int           // terms that followed another (all runs, by start)
	Handovers    int           // moves to another run
	WrittenTerms int           // terms with at least one write
	Closest      time.Duration // the smallest gap between a write and another run's term
	Latest       time.Duration // the latest a write landed after its own term's end (on the wire then; 0 if none)
	Stale        int           // writes of an old leader inside a later term of another run
	Early        int           // writes of a new leader inside an earlier term of another run, not yet over
	Overlaps     []string      // term windows that overlap (logged, not failed: see termProblems)
}

// termProblems checks the fake's request log against the runs' terms:
//
//   - every write of a run lies within one of its own terms;
//   - no write of a run lies within another run's term: whenever B writes
//     at time t (in its term), every write of A is before B's term
//     started or after it ended.
//
// Together: two replicas never wrote at the same time. An instant within
// logGrain of a boundary counts for the run: "within" needs a margin of
// logGrain inside the other run's window, "outside" is forgiven up to
// logGrain before one's own term and onTheWire after it. Overlapping term windows without a write in
// the overlap are reported in the report's Overlaps, not as problems:
// a term's end line comes after its loop has returned, which can be late
// on a loaded machine without anyone writing.
func termProblems(reqs []lightdashtest.Request, runs []*proc, terms []term) (problems []string, rep overlapReport) {
	byUser := map[string]*proc{}
	for _, p := range runs {
		byUser[p.user.UserUUID] = p
	}
	sorted := append([]term(nil), terms...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].start.Before(sorted[j].start) })
	rep.Terms = len(sorted)
	for i := 1; i < len(sorted); i++ {
		rep.Moves++
		if sorted[i].run != sorted[i-1].run {
			rep.Handovers++
		}
	}
	for i, a := range sorted {
		for _, b := range sorted[i+1:] {
			if a.run != b.run && b.start.Before(a.end) {
				rep.Overlaps = append(rep.Overlaps, fmt.Sprintf("run %d's term from %s to %s overlaps run %d's from %s (by %s)",
					a.run.n, clock(a.start), clock(a.end), b.run.n, clock(b.start), a.end.Sub(b.start)))
			}
		}
	}
	rep.Closest = -1
	written := map[int]bool{}
	for _, r := range reqs {
		p := byUser[r.UserUUID]
		if p == nil || !r.IsWrite() {
			continue
		}
		rep.Writes++
		own := -1
		for i, tm := range sorted {
			if tm.run == p && !r.Time.Before(tm.start.Add(-logGrain)) && !r.Time.After(tm.end.Add(onTheWire)) {
				own = i
				if late := r.Time.Sub(tm.end); late > rep.Latest {
					rep.Latest = late
				}
				break
			}
		}
		if own < 0 {
			problems = append(problems, fmt.Sprintf("run %d wrote %s %s at %s outside any of its leadership terms", p.n, r.Method, r.Path, clock(r.Time)))
		} else {
			written[own] = true
		}
		for _, tm := range sorted {
			if tm.run == p {
				continue
			}
			if r.Time.After(tm.start.Add(logGrain)) && r.Time.Before(tm.end.Add(-logGrain)) {
				if own >= 0 && sorted[own].start.Before(tm.start) {
					rep.Stale++
					problems = append(problems, fmt.Sprintf("run %d wrote %s %s at %s, %s after run %d's term began (%s to %s): the old leader still wrote in the new one's term",
						p.n, r.Method, r.Path, clock(r.Time), r.Time.Sub(tm.start).Round(time.Millisecond), tm.run.n, clock(tm.start), clock(tm.end)))
				} else {
					rep.Early++
					problems = append(problems, fmt.Sprintf("run %d wrote %s %s at %s, inside run %d's earlier term (%s to %s), not yet over: two writers at once",
						p.n, r.Method, r.Path, clock(r.Time), tm.run.n, clock(tm.start), clock(tm.end)))
				}
				continue
			}
			gap := tm.start.Sub(r.Time)
			if r.Time.After(tm.start) {
				gap = r.Time.Sub(tm.end)
			}
			if gap < 0 {
				gap = 0
			}
			if rep.Closest < 0 || gap < rep.Closest {
				rep.Closest = gap
			}
		}
	}
	rep.WrittenTerms = len(written)
	return problems, rep
}

func clock(t time.Time) string { return t.Format("15:04:05.000") }

// The flapping test's checker must catch a write inside the other
// replica's term (whichever side of a handover it falls), a write outside
// the writer's own terms, and pass clean alternation, including writes a
// millisecond from a boundary (the logs' grain).
func TestTermProblems(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	a := &proc{n: 1, user: lightdash.OrgMember{UserUUID: "ua"}}
	b := &proc{n: 2, user: lightdash.OrgMember{UserUUID: "ub"}}
	// a leads 0–3 s and 8–11 s, b 4–7 s and 12–15 s.
	terms := []term{{a, at(0), at(3000)}, {b, at(4000), at(7000)}, {a, at(8000), at(11000)}, {b, at(12000), at(15000)}}
	w := func(user string, ms int) lightdashtest.Request {
		return lightdashtest.Request{Method: "PATCH", Path: "/g", Status: 200, UserUUID: user, Time: at(ms)}
	}
	read := lightdashtest.Request{Method: "GET", Path: "/g", Status: 200, UserUUID: "ub", Time: at(1000)}
	for _, tc := range []struct {
		name         string
		reqs         []lightdashtest.Request
		want         int
		stale, early int
	}{
		{"clean alternation", []lightdashtest.Request{w("ua", 10), read, w("ua", 2990), w("ub", 4100), w("ua", 8000), w("ub", 14000)}, 0, 0, 0},
		{"at the log's grain", []lightdashtest.Request{w("ua", 3001), w("ub", 3999), w("ub", 7001), w("ua", 7999)}, 0, 0, 0},
		// Outside its own terms too: a run's terms do not overlap its writes here.
		{"old leader writes in the new term", []lightdashtest.Request{w("ua", 100), w("ub", 4100), w("ua", 4200)}, 2, 0, 1},
		{"new leader writes in the old term", []lightdashtest.Request{w("ua", 100), w("ub", 2500), w("ub", 4100)}, 2, 0, 1},
		{"standby writes between terms", []lightdashtest.Request{w("ua", 100), w("ub", 3500)}, 1, 0, 0},
		{"write after the last term", []lightdashtest.Request{w("ub", 15600)}, 1, 0, 0},
		// Sent before the term's end, landed after it: still before the other's term.
		{"request on the wire at the term's end", []lightdashtest.Request{w("ua", 3400), w("ub", 7450)}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, rep := termProblems(tc.reqs, []*proc{a, b}, terms)
			if len(problems) != tc.want {
				t.Errorf("got %d problems %q, want %d", len(problems), problems, tc.want)
			}
			if rep.Stale != tc.stale || rep.Early != tc.early {
				t.Errorf("stale %d, early %d; want %d and %d", rep.Stale, rep.Early, tc.stale, tc.early)
			}
			if rep.Moves != 3 || rep.Handovers != 3 {
				t.Errorf("moves %d, handovers %d; want 3 and 3", rep.Moves, rep.Handovers)
			}
		})
	}

	// As a lost lease looks when the old leader's loop ends late: a's
	// term runs to 5 s, b's begins at 4 s.
	late := []term{{a, at(0), at(5000)}, {b, at(4000), at(7000)}}
	problems, rep := termProblems([]lightdashtest.Request{w("ua", 100), w("ub", 4100), w("ua", 4500)}, []*proc{a, b}, late)
	if len(problems) != 2 || rep.Stale != 1 || rep.Early != 1 || len(rep.Overlaps) != 1 {
		t.Errorf("late end: problems %q, stale %d, early %d, overlaps %q; want 2 problems, 1 stale, 1 early, 1 overlap", problems, rep.Stale, rep.Early, rep.Overlaps)
	}
	// The same windows with no write in the overlap pass (and are noted).
	problems, rep = termProblems([]lightdashtest.Request{w("ua", 100), w("ub", 5100)}, []*proc{a, b}, late)
	if len(problems) != 0 || len(rep.Overlaps) != 1 {
		t.Errorf("late end, no write in the overlap: problems %q, overlaps %q; want none and one", problems, rep.Overlaps)
	}
}

// readTerms reads the daemon's own log lines, and a term the log leaves
// open ends when the run exited.
func TestReadTerms(t *testing.T) {
	dir := t.TempDir()
	ended := time.Date(2026, 11, 26, 2, 0, 9, 0, time.UTC)
	p := &proc{n: 1, dir: dir, ended: ended}
	log := `{"level":"info","time":"2026-11-26T02:00:01.250Z","logger":"lease","msg":"lease: elected leader","revision":3}
{"level":"info","time":"2026-11-26T02:00:01.251Z","msg":"elected leader: watching sources and applying changes"}
{"level":"info","time":"2026-11-26T02:00:04.007Z","msg":"leadership term over: stopped writing"}
not json
{"level":"info","time":"2026-11-26T02:00:05.000Z","logger":"lease","msg":"lease: elected leader","revision":6}
{"level":"info","time":"2026-11-26T02:00:05.100Z","msg":"leadership term ended: no more Lightdash writes","cause":"lease: leadership lost"}
{"level":"info","time":"2026-11-26T02:00:05.900Z","msg":"leadership term over: stopped writing"}
{"level":"info","time":"2026-11-26T02:00:06.000Z","logger":"lease","msg":"lease: elected leader","revision":9}
`
	if err := os.WriteFile(p.stderrPath(), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readTerms(p)
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	want := []term{
		{p, d("2026-11-26T02:00:01.25Z"), d("2026-11-26T02:00:04.007Z")},
		{p, d("2026-11-26T02:00:05Z"), d("2026-11-26T02:00:05.1Z")}, // the writes ended before the loop returned
		{p, d("2026-11-26T02:00:06Z"), ended},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d terms %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !got[i].start.Equal(want[i].start) || !got[i].end.Equal(want[i].end) {
			t.Errorf("term %d: got %s–%s, want %s–%s", i, got[i].start, got[i].end, want[i].start, want[i].end)
		}
	}
	bad := `{"level":"info","time":"2026-11-26T02:00:01.250Z","msg":"lease: elected leader"}
{"level":"info","time":"2026-11-26T02:00:02.250Z","msg":"lease: elected leader"}
`
	if err := os.WriteFile(p.stderrPath(), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readTerms(p); err == nil {
		t.Error("two elections without a term's end between them: no error")
	}
}
