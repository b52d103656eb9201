package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// reportMsgs are the log messages by which the daemon reports a Lightdash
// call that failed for good (after its retries, or at once for a failure
// that is not retried): a change that failed, a group's work put back, a
// full reconciliation that could not read Lightdash.
var reportMsgs = map[string]bool{
	"lightdash change failed":    true,
	"change failed; will retry":  true,
	"full reconciliation failed": true,
}

// abandonedMsg is what the client logs when an attempt failed as its
// caller gave up (another read of the same run had failed): not retried,
// and reported by this line, which names the method.
const abandonedMsg = "lightdash request failed and was not retried: the caller gave up"

// recoveredMsg starts the line the client logs when a create's answer
// was lost but the group was made: the failure is absorbed, and counted
// as a retry with reason "recovered".
const recoveredMsg = "lightdash create answered with an error but took effect"

var opMethod = map[string]string{"create": "POST", "update": "PATCH", "delete": "DELETE", "invite": "POST"}

// logTally counts one run's log lines that account for Lightdash faults.
type logTally struct {
	Lines, Retries, Reports int
	Timeouts                int // retries after the client's timeout: the hangs, as the daemon saw them
	ByMsg                   map[string]int
	// RetriesBy and ReportsBy count the same lines by HTTP method: a
	// retry line names it; a failed change names its op (create: POST,
	// update: PATCH, delete: DELETE); a failed read names GET in its error.
	RetriesBy, ReportsBy map[string]int
	Unparsed             int
}

func tallyLog(path string) (logTally, error) {
	t := logTally{ByMsg: map[string]int{}, RetriesBy: map[string]int{}, ReportsBy: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		return t, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		t.Lines++
		var line struct {
			Level, Msg, Error, Method, Op string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Unparsed++ // a Go runtime message, e.g. after SIGKILL nothing; kept for the count
			continue
		}
		if line.Level == "warn" || line.Level == "error" {
			t.ByMsg[line.Msg]++
		}
		switch {
		case line.Msg == "retrying lightdash request" || strings.HasPrefix(line.Msg, recoveredMsg):
			t.Retries++
			t.RetriesBy[line.Method]++
			if strings.Contains(line.Error, "context deadline exceeded") {
				t.Timeouts++
			}
		case line.Msg == abandonedMsg:
			t.Reports++
			t.ReportsBy[line.Method]++
		case reportMsgs[line.Msg]:
			t.Reports++
			switch {
			case line.Op != "":
				t.ReportsBy[opMethod[line.Op]]++
			case strings.Contains(line.Error, "GET /"):
				t.ReportsBy["GET"]++
			}
		}
	}
	return t, sc.Err()
}

// runAccount sets the faults the fake injected while one run was the
// daemon against what that run retried or reported.
type runAccount struct {
	Run      int
	Lived    time.Duration
	Stopped  bool           // by the test: SIGKILL, or SIGTERM for the last
	Faults   map[string]int // by kind, within the run's window
	FaultsBy map[string]int // the same by HTTP method
	// Replayed counts dropped GETs that net/http's Transport itself sent
	// again at once on a new connection (it does so for idempotent
	// methods on a reused connection, below the client's retry loop and
	// its metrics); the fake's log shows the replay right after the drop.
	Replayed map[string]int
	CutShort int // faults in the last moments before a kill: the run died before it could react
	Log      logTally
	Requests int // Lightdash requests in the window
}

// unaccounted returns, by HTTP method, the faults that neither a retry nor
// a failure report of that method covers.
func (a runAccount) unaccounted() map[string]int {
	out := map[string]int{}
	for m, n := range a.FaultsBy {
		if miss := n - a.Log.RetriesBy[m] - a.Log.ReportsBy[m] - a.Replayed[m]; miss > 0 {
			out[m] = miss
		}
	}
	return out
}

// replayWindow bounds how soon net/http's Transport replays a request
// whose reused connection was dropped: at once, with no backoff (the
// client's own retries wait at least its minimum backoff).
const replayWindow = 50 * time.Millisecond

// replayed reports whether reqs[i], a dropped GET, was sent again at once
// by net/http's Transport: the same method and path follows within
// replayWindow.
func replayed(reqs []lightdashtest.Request, i int) bool {
	r := reqs[i]
	if r.Method != "GET" || !strings.HasPrefix(r.Fault, "drop") {
		return false
	}
	for _, next := range reqs[i+1:] {
		if next.Time.Sub(r.Time) > replayWindow {
			return false
		}
		if next.Method == r.Method && next.Path == r.Path && next.Query == r.Query {
			return true
		}
	}
	return false
}

func (a runAccount) replayTotal() int {
	n := 0
	for _, c := range a.Replayed {
		n += c
	}
	return n
}

func (a runAccount) faultTotal() int {
	n := 0
	for _, c := range a.Faults {
		n += c
	}
	return n
}

// cutShortWindow is how long before a kill a fault may be left unanswered:
// a hang is logged by the fake when the client gives up (the 2 s timeout),
// and the retry is logged right after; a kill inside that window ends the
// story first.
const cutShortWindow = 3 * time.Second

// account splits the fake's request log into the runs' windows: from a
// run's start to the next run's start (the last run's to the end).
func account(runs []*proc, reqs []lightdashtest.Request) []runAccount {
	out := make([]runAccount, len(runs))
	for i, p := range runs {
		p.mu.Lock()
		killed := p.killed
		p.mu.Unlock()
		a := runAccount{Run: p.n, Stopped: killed, Faults: map[string]int{}, FaultsBy: map[string]int{}, Replayed: map[string]int{}}
		end := time.Now()
		if i+1 < len(runs) {
			end = runs[i+1].started
		}
		select {
		case <-p.exited:
			a.Lived = p.ended.Sub(p.started)
		default:
			a.Lived = time.Since(p.started)
		}
		for j, r := range reqs {
			if r.Time.Before(p.started) || !r.Time.Before(end) {
				continue
			}
			a.Requests++
			if r.Fault == "" {
				continue
			}
			// Around a kill the request log cannot tell the dying run from
			// the new one: a hang ends when the dead run's socket closes.
			if (i+1 < len(runs) && r.Time.After(p.ended.Add(-cutShortWindow))) || (i > 0 && r.Time.Before(p.started.Add(time.Second))) {
				a.CutShort++
				continue
			}
			a.Faults[faultKind(r.Fault)]++
			a.FaultsBy[r.Method]++
			if replayed(reqs, j) {
				a.Replayed[r.Method]++
			}
		}
		out[i] = a
	}
	return out
}

// metricSum adds up the samples of one metric whose labels contain every
// one of match (e.g. `trigger="request"`), from a Prometheus text scrape.
func metricSum(text, name string, match ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // another metric sharing the prefix
		}
		labels, value := "", rest
		if rest[0] == '{' {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels, value = rest[:end+1], rest[end+1:]
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(labels, m)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// clientFailures is what the last run's Lightdash client counted as
// failed attempts: 429, 5xx and transport errors (hangs timed out,
// dropped or refused connections).
func clientFailures(metrics string) float64 {
	var n float64
	for _, code := range []string{`code="429"`, `code="500"`, `code="502"`, `code="503"`, `code="504"`, `code="error"`} {
		n += metricSum(metrics, "lightdash_requests_total", code)
	}
	return n
}

// scanSecrets reports every file that holds one of secrets.
func scanSecrets(paths []string, secrets []string) []string {
	var leaks []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			leaks = append(leaks, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				leaks = append(leaks, fmt.Sprintf("%s holds a secret (%d characters)", p, len(s)))
			}
		}
	}
	return leaks
}
