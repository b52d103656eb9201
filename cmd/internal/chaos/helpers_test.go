package chaos

import (
	mrand "math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

func TestMetricSum(t *testing.T) {
	text := `# HELP lightdash_retries_total Requests retried.
# TYPE lightdash_retries_total counter
lightdash_retries_total{endpoint="/a",method="GET",reason="503"} 2
lightdash_retries_total{endpoint="/b",method="PATCH",reason="network"} 3
lightdash_retries_totally_different 100
lightdash_sync_reconcile_runs_total{result="ok",trigger="request"} 1
lightdash_sync_reconcile_runs_total{result="failed",trigger="request"} 4
lightdash_sync_reconcile_runs_total{result="ok",trigger="start-up"} 7
lightdash_sync_queue_pending 5
`
	for _, tc := range []struct {
		name  string
		match []string
		want  float64
	}{
		{"lightdash_retries_total", nil, 5},
		{"lightdash_retries_total", []string{`method="PATCH"`}, 3},
		{"lightdash_sync_reconcile_runs_total", []string{`trigger="request"`}, 5},
		{"lightdash_sync_reconcile_runs_total", []string{`trigger="request"`, `result="ok"`}, 1},
		{"lightdash_sync_queue_pending", nil, 5},
		{"lightdash_absent_total", nil, 0},
	} {
		if got := metricSum(text, tc.name, tc.match...); got != tc.want {
			t.Errorf("metricSum(%s, %v) = %v, want %v", tc.name, tc.match, got, tc.want)
		}
	}
}

func TestFaultKind(t *testing.T) {
	for in, want := range map[string]string{
		"500": "5xx", "504 after handling": "5xx after handling", "429": "429",
		"hang": "hang", "drop": "drop", "drop after handling": "drop after handling",
	} {
		if got := faultKind(in); got != want {
			t.Errorf("faultKind(%q) = %q, want %q", in, got, want)
		}
	}
}

// The timeline is what -chaos.seed replays: the same seed must give the
// same faults, all of them inside the run, every cut and outage ended.
func TestTimeline(t *testing.T) {
	for _, sc := range []scenario{shortScenario, longScenario} {
		a := timeline(sc, mrand.New(mrand.NewPCG(7, 4)))
		b := timeline(sc, mrand.New(mrand.NewPCG(7, 4)))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the same seed gave two timelines", sc.Name)
		}
		count := map[eventKind]int{}
		var lastKill time.Duration
		for i, ev := range a {
			count[ev.Kind]++
			if ev.At <= 0 || ev.At >= sc.Duration {
				t.Errorf("%s: %s is outside the run (%s)", sc.Name, ev, sc.Duration)
			}
			if i > 0 && ev.At < a[i-1].At {
				t.Errorf("%s: %s comes before %s", sc.Name, ev, a[i-1])
			}
			if ev.Kind == evKill {
				lastKill = ev.At
			}
		}
		want := map[eventKind]int{evKill: sc.Kills, evNATSRestart: sc.NATSRestarts, evSlapdRestart: sc.SlapdRestarts,
			evCutLDAP: sc.LDAPCuts, evRestoreLDAP: sc.LDAPCuts, evOutageStart: 1, evOutageEnd: 1}
		if !reflect.DeepEqual(count, want) {
			t.Errorf("%s: events %v, want %v", sc.Name, count, want)
		}
		if lastKill > sc.Duration*3/4 {
			t.Errorf("%s: last kill at %s, want it in the first 75%% so the last run meets faults", sc.Name, lastKill)
		}
	}
	if sc := longScenario; sc.Kills < 10 || sc.Changes+sc.NewGroups < 1000 || sc.Groups+sc.NewGroups < 200 || sc.Outage < 30*time.Second {
		t.Errorf("the long scenario is below issue 10's minimums: %+v", sc)
	}
}

func TestSeedLDIFModel(t *testing.T) {
	sc := scenario{Users: 10, Groups: 5}
	ldif, model := seedLDIF(sc, mrand.New(mrand.NewPCG(1, 1)))
	if len(model) != 5 {
		t.Fatalf("%d groups in the model, want 5", len(model))
	}
	for cn, members := range model {
		if len(members) < 1 {
			t.Errorf("%s has no member; groupOfNames needs one", cn)
		}
	}
	if len(ldif) == 0 {
		t.Fatal("empty LDIF")
	}
}

// The accounting a run's log gives: every fault must be matched by a
// retry or a report of the same HTTP method.
func TestTallyLogAndUnaccounted(t *testing.T) {
	log := `{"level":"info","logger":"lightdash","msg":"retrying lightdash request","method":"PATCH","endpoint":"/api/v1/groups/{groupUuid}","reason":"network","error":"PATCH /x: context deadline exceeded"}
{"level":"info","logger":"lightdash","msg":"retrying lightdash request","method":"GET","endpoint":"/api/v1/org/groups","reason":"503"}
{"level":"info","logger":"lightdash","msg":"lightdash create answered with an error but took effect; using the created object","method":"POST","endpoint":"/api/v1/org/groups"}
{"level":"warn","logger":"worker","msg":"lightdash change failed","op":"update","error":"update lightdash group u: lightdash: 500"}
{"level":"error","logger":"daemon","msg":"full reconciliation failed","error":"list lightdash groups: GET /api/v1/org/groups: giving up after 6 attempts: 503"}
{"level":"info","logger":"lightdash","msg":"lightdash request failed and was not retried: the caller gave up","method":"GET","endpoint":"/api/v1/org/users","error":"dropped"}
not json: a Go runtime line
`
	path := t.TempDir() + "/stderr.log"
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	tally, err := tallyLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if tally.Retries != 3 || tally.Reports != 3 || tally.Timeouts != 1 || tally.Unparsed != 1 {
		t.Errorf("tally = %+v, want 3 retries, 3 reports, 1 timeout, 1 unparsed", tally)
	}
	wantRetries := map[string]int{"PATCH": 1, "GET": 1, "POST": 1}
	wantReports := map[string]int{"PATCH": 1, "GET": 2} // the failed full reconciliation, the abandoned read
	if !reflect.DeepEqual(tally.RetriesBy, wantRetries) || !reflect.DeepEqual(tally.ReportsBy, wantReports) {
		t.Errorf("by method: retries %v, reports %v; want %v, %v", tally.RetriesBy, tally.ReportsBy, wantRetries, wantReports)
	}
	a := runAccount{FaultsBy: map[string]int{"PATCH": 2, "GET": 3, "POST": 2}, Log: tally}
	if got, want := a.unaccounted(), map[string]int{"POST": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("unaccounted() = %v, want %v", got, want)
	}
}

// A dropped GET that the fake sees again at once was replayed by
// net/http's Transport; a later one, or a dropped PATCH, was not.
func TestReplayed(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	reqs := []lightdashtest.Request{
		{Method: "GET", Path: "/a", Fault: "drop", Time: t0},
		{Method: "GET", Path: "/a", Status: 200, Time: t0.Add(time.Millisecond)},
		{Method: "GET", Path: "/b", Fault: "drop after handling", Time: t0.Add(time.Second)},
		{Method: "GET", Path: "/b", Status: 200, Time: t0.Add(2 * time.Second)},
		{Method: "PATCH", Path: "/c", Fault: "drop", Time: t0.Add(3 * time.Second)},
		{Method: "PATCH", Path: "/c", Status: 200, Time: t0.Add(3*time.Second + time.Millisecond)},
		{Method: "GET", Path: "/d", Fault: "503", Time: t0.Add(4 * time.Second)},
		{Method: "GET", Path: "/d", Status: 200, Time: t0.Add(4*time.Second + time.Millisecond)},
	}
	var got []int
	for i := range reqs {
		if replayed(reqs, i) {
			got = append(got, i)
		}
	}
	if !reflect.DeepEqual(got, []int{0}) {
		t.Errorf("replayed at %v, want only [0]", got)
	}
}
