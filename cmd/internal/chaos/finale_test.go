package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

func isLeader(ctx context.Context, p *proc) bool {
	code, body := p.get(ctx, "/status.json")
	if code != 200 {
		return false
	}
	var st struct {
		Leader struct {
			IsLeader bool   `json:"isLeader"`
			Identity string `json:"identity"`
		} `json:"leader"`
	}
	// The identity (host-pid) proves the answer is this run's, not another
	// process's that has the port since this run ended.
	return json.Unmarshal([]byte(body), &st) == nil && st.Leader.IsLeader &&
		strings.HasSuffix(st.Leader.Identity, fmt.Sprintf("-%d", p.cmd.Process.Pid))
}

func equalState(want, got map[string][]string, count map[string]int) bool {
	for name, members := range want {
		g, ok := got[name]
		if !ok || count[name] != 1 || strings.Join(g, ",") != strings.Join(members, ",") {
			return false
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && strings.HasPrefix(name, prefix) {
			return false
		}
	}
	return true
}

// requestReconcile waits for a leader, asks it for one full
// reconciliation (POST /reconcile with the admin token) and waits for that
// run to finish, which must succeed. Meanwhile it notes when Lightdash
// first equalled the directory. It returns the run, how long after the
// faults the requested reconciliation ended, and when Lightdash first
// equalled the directory.
func requestReconcile(t *testing.T, ctx context.Context, sup *supervisor, sc scenario, ld *lightdashtest.Server, want map[string][]string, since time.Time) (*proc, time.Duration, time.Duration) {
	t.Helper()
	dctx, cancel := context.WithDeadline(ctx, since.Add(sc.Converge))
	defer cancel()
	var equalAt time.Time
	checkEqual := func() {
		if equalAt.IsZero() {
			if got, count := lightdashGroups(ld); equalState(want, got, count) {
				equalAt = time.Now()
			}
		}
	}
	const runs = "lightdash_sync_reconcile_runs_total"
	for dctx.Err() == nil {
		p := sup.running(dctx)
		if p == nil || !isLeader(dctx, p) {
			checkEqual()
			sleep(dctx, 200*time.Millisecond)
			continue
		}
		_, before := httpGet(dctx, p.url("/metrics"))
		n0, ok0 := metricSum(before, runs, `trigger="request"`), metricSum(before, runs, `trigger="request"`, `result="ok"`)
		if code, body := testutil.HTTPDo(dctx, "POST", p.url("/reconcile"), sup.adminTok); code/100 != 2 {
			t.Fatalf("POST /reconcile with the admin token: %d %s", code, body)
		}
		t.Logf("asked run %d for a full reconciliation, %s after the faults stopped", p.n, time.Since(since).Round(time.Millisecond))
		for dctx.Err() == nil {
			checkEqual()
			select {
			case <-p.exited:
				t.Fatalf("run %d exited (%v) during the requested reconciliation:\n%s", p.n, p.exitErr, tail([]*proc{p}, 30))
			default:
			}
			code, m := httpGet(dctx, p.url("/metrics"))
			if code == 200 && metricSum(m, runs, `trigger="request"`) > n0 {
				took := time.Since(since)
				if metricSum(m, runs, `trigger="request"`, `result="ok"`) <= ok0 {
					_, st := p.get(dctx, "/status.json")
					t.Errorf("the requested reconciliation did not succeed:\n%s", st)
				}
				checkEqual()
				equal := time.Duration(-1)
				if !equalAt.IsZero() {
					equal = equalAt.Sub(since)
				}
				t.Logf("requested reconciliation done %s after the faults stopped; Lightdash equalled the directory after %s", took.Round(time.Millisecond), equal.Round(time.Millisecond))
				return p, took, equal
			}
			sleep(dctx, 250*time.Millisecond)
		}
	}
	t.Fatalf("no requested reconciliation finished within %s of the faults stopping\n%s", sc.Converge, tail(sup.runs(), 40))
	return nil, 0, 0
}

// checkAccounting shows that every injected Lightdash fault was retried or
// reported: per run from its own log, and for the last run also from its
// own /metrics. It also checks that no secret reached any output, and
// that a killed run wrote nothing after it died.
func checkAccounting(t *testing.T, sup *supervisor, ld *lightdashtest.Server, fig *figures, ldProxy, ldapProxy *Proxy) {
	t.Helper()
	runs := sup.runs()
	reqs := ld.Requests()
	accts := account(runs, reqs)
	fig.FaultsByKind = map[string]int{}
	fig.Runs = len(runs)
	fig.LightdashRequests = len(reqs)
	fig.SelfExits = sup.selfExit
	_, fig.OutageRefused = ldProxy.Stats()
	_, fig.LDAPRefused = ldapProxy.Stats()
	for i, a := range accts {
		p := runs[i]
		tally, err := tallyLog(p.stderrPath())
		if err != nil {
			t.Errorf("run %d log: %v", p.n, err)
			continue
		}
		a.Log = tally
		accts[i] = a
		for k, n := range a.Faults {
			fig.FaultsByKind[k] += n
		}
		fig.FaultsCutShort += a.CutShort
		fig.RetriesLogged += tally.Retries
		fig.ReportsLogged += tally.Reports
		fig.TimeoutsLogged += tally.Timeouts
		t.Logf("run %2d: lived %6s, stopped=%v, %5d requests, faults %v (+%d cut short by the kill, %d GETs replayed by net/http); log: %d retries %v, %d reports %v; warnings/errors %v",
			a.Run, a.Lived.Round(100*time.Millisecond), a.Stopped, a.Requests, a.Faults, a.CutShort, a.replayTotal(), tally.Retries, tally.RetriesBy, tally.Reports, tally.ReportsBy, tally.ByMsg)
		fig.ReplayedByTransport += a.replayTotal()
		if f := a.faultTotal() - a.replayTotal(); f > tally.Retries+tally.Reports {
			t.Errorf("run %d met %d Lightdash faults but logged only %d retries and %d failures: some went unreported", a.Run, f, tally.Retries, tally.Reports)
		}
		if miss := a.unaccounted(); len(miss) > 0 {
			t.Errorf("run %d: faults by method %v, retries logged %v, failures reported %v: %v went neither retried nor reported",
				a.Run, a.FaultsBy, tally.RetriesBy, tally.ReportsBy, miss)
		}
		// A killed run cannot act after it died: a change that took
		// effect later would mean two writers.
		for _, r := range reqs {
			if r.UserUUID == p.user.UserUUID && r.IsWrite() && r.Fault == "" && r.Status/100 == 2 && r.Time.After(p.ended.Add(time.Second)) && !p.ended.IsZero() {
				t.Errorf("run %d wrote %s %s at %s, after it was stopped at %s", p.n, r.Method, r.Path, r.Time.Format(time.RFC3339Nano), p.ended.Format(time.RFC3339Nano))
			}
		}
	}
	if len(sup.selfExit) > 0 {
		t.Logf("runs that exited on their own (restarted by the supervisor): %v", sup.selfExit)
	}

	// The last run's own counters.
	last := accts[len(accts)-1]
	m := runs[len(runs)-1].metrics()
	retries := metricSum(m, "lightdash_retries_total")
	reported := metricSum(m, "lightdash_sync_apply_failures_total") +
		metricSum(m, "lightdash_sync_group_reconciles_total", `result="failed"`) +
		metricSum(m, "lightdash_sync_reconcile_runs_total", `result="error"`) +
		metricSum(m, "lightdash_sync_reconcile_runs_total", `result="failed"`)
	seen := clientFailures(m)
	fig.LastRun = map[string]float64{"faults_injected": float64(last.faultTotal()), "lightdash_retries_total": retries,
		"failures_reported": reported, "client_failed_attempts": seen}
	t.Logf("last run: %d faults injected; its /metrics: %v retries, %v failures reported, %v failed attempts seen by the client", last.faultTotal(), retries, reported, seen)
	if m == "" {
		t.Error("the last run's /metrics was never scraped")
	} else {
		// Replays by net/http happen below the client's metrics.
		if f := float64(last.faultTotal() - last.replayTotal()); f > retries+reported {
			t.Errorf("the last run met %v faults but its counters show %v retries and %v failures", f, retries, reported)
		}
		if f := float64(last.faultTotal() - last.replayTotal()); f > seen {
			t.Errorf("the last run met %v faults but its client counted %v failed attempts", f, seen)
		}
	}

	// Secrets: nothing any run printed or served holds one.
	var files []string
	for _, p := range runs {
		files = append(files, p.stdoutPath(), p.stderrPath())
	}
	for _, leak := range append(scanSecrets(files, sup.secrets), sup.leaks...) {
		t.Errorf("secret leaked: %s", leak)
	}
	scrapes := 0
	for _, p := range runs {
		p.mu.Lock()
		scrapes += p.scrapes
		p.mu.Unlock()
	}
	if scrapes == 0 {
		t.Error("no /metrics or /status was scraped, so the secrets check saw none")
	}
	t.Logf("secrets check: %d log files and %d scrapes searched for %d secrets", len(files), scrapes, len(sup.secrets))
}
