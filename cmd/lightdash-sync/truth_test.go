package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// metricValue reads one unlabelled series from the daemon's /metrics; -1
// when it is not there.
func (e *eventEnv) metricValue(t *testing.T, name string) float64 {
	t.Helper()
	_, body := httpGet("http://" + e.addr + "/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// requestedRuns is how many requested full reconciliations have ended.
func (e *eventEnv) requestedRuns(t *testing.T) float64 {
	_, body := httpGet("http://" + e.addr + "/metrics")
	var n float64
	for _, m := range regexp.MustCompile(`(?m)^lightdash_sync_reconcile_runs_total\{[^}]*trigger="request"[^}]*\} (\S+)$`).FindAllStringSubmatch(body, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n += v
	}
	return n
}

// reconcileAndWait asks for a full reconciliation and waits until it ended.
func (e *eventEnv) reconcileAndWait(t *testing.T) {
	t.Helper()
	before := e.requestedRuns(t)
	e.reconcileNow(t)
	testutil.Eventually(t, "the requested full reconciliation", func() bool { return e.requestedRuns(t) > before })
}

// sourceStatus is the /status.json entry of the NATS source.
func (e *eventEnv) sourceStatus(t *testing.T) map[string]any {
	t.Helper()
	code, body := testutil.HTTPDo(context.Background(), "GET", "http://"+e.addr+"/status.json", "admin-secret-value-42")
	if code != 200 {
		t.Fatalf("/status.json = %d: %s", code, body)
	}
	var st struct {
		Sources []map[string]any `json:"sources"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status.json: %v\n%s", err, body)
	}
	if len(st.Sources) != 1 {
		t.Fatalf("/status.json sources = %v, want the one NATS source", st.Sources)
	}
	return st.Sources[0]
}

// TestGroupDeletedEventIsNotDrift: a group.deleted event waits for the
// full read by design, so the full run that deletes the group counts no
// drift; /status.json shows when the source's last event came.
func TestGroupDeletedEventIsNotDrift(t *testing.T) {
	e := newEventEnv(t, "sync: {safety: {delete_grace_period: 0s, delete_after_reads: 1, max_group_deletes_percent: 100}}\n")
	if src := e.sourceStatus(t); src["lastEvent"] != nil {
		t.Errorf("before any event /status.json shows lastEvent %v, want none", src["lastEvent"])
	}
	sent := time.Now()
	e.publish(t, "group.upserted", "directory.groups", `{"id":"g1","name":"analysts","members":[{"id":"u-ada","email":"ada@example.com"}]}`)
	testutil.Eventually(t, "analysts to be created", func() bool { return e.members("analysts") == "ada" })
	e.publish(t, "group.deleted", "directory.groups", `{"id":"g1"}`)
	testutil.Eventually(t, "both events to be worked on", func() bool {
		_, body := httpGet("http://" + e.addr + "/metrics")
		return regexp.MustCompile(`(?m)^lightdash_sync_group_reconciles_total\{result="ok",source="events"\} 2$`).MatchString(body)
	})
	e.reconcileAndWait(t)
	if got := e.members("analysts"); got != "<none>" {
		t.Fatalf("after the full run analysts = %s, want it deleted", got)
	}
	if got := e.metricValue(t, "lightdash_sync_drift_changes_total"); got != 0 {
		t.Errorf("lightdash_sync_drift_changes_total = %v after a deletion seen live, want 0", got)
	}
	src := e.sourceStatus(t)
	last, _ := src["lastEvent"].(string)
	at, err := time.Parse(time.RFC3339Nano, last)
	if err != nil || at.Before(sent.Add(-time.Second)) {
		t.Errorf("/status.json lastEvent = %v after events, want a time after %s", src["lastEvent"], sent.Format(time.RFC3339))
	}
}

// TestUnmatchedUsersGaugeFollowsEvents: a user an event names without a
// Lightdash account is counted at once, not at the next full run, and no
// longer once an event removes them from their only group.
func TestUnmatchedUsersGaugeFollowsEvents(t *testing.T) {
	e := newEventEnv(t, "")
	const gauge = "lightdash_sync_unmatched_users"
	if got := e.metricValue(t, gauge); got != 0 {
		t.Fatalf("%s = %v before any event, want 0", gauge, got)
	}
	e.publish(t, "group.upserted", "directory.groups", `{"id":"g1","name":"analysts","members":[{"id":"u-ada","email":"ada@example.com"},{"id":"u-zed","email":"zed@example.com"}]}`)
	testutil.Eventually(t, "analysts to be created", func() bool { return e.members("analysts") == "ada" })
	testutil.Eventually(t, gauge+" to count zed", func() bool { return e.metricValue(t, gauge) == 1 })
	e.publish(t, "group.members_removed", "directory.groups", `{"id":"g1","members":[{"id":"u-zed"}]}`)
	testutil.Eventually(t, gauge+" to drop zed", func() bool { return e.metricValue(t, gauge) == 0 })
	e.reconcileAndWait(t)
	if got := e.metricValue(t, gauge); got != 0 {
		t.Errorf("%s = %v after the full run, want 0", gauge, got)
	}
}

// TestStatusShowsAFullRunInProgress reads /status.json while a slow full
// reconciliation runs: it shows the reads, then the writes of the total.
func TestStatusShowsAFullRunInProgress(t *testing.T) {
	e := newEventEnv(t, "")
	e.publish(t, "group.upserted", "directory.groups", `{"id":"g1","name":"analysts","members":[{"id":"u-ada","email":"ada@example.com"}]}`)
	testutil.Eventually(t, "analysts to be created", func() bool { return e.members("analysts") == "ada" })
	// Emptied by hand: only a full run puts ada back, with one write.
	ld := &lightdash.Client{BaseURL: e.ld.URL(), Token: e.ld.AdminToken(), HTTPClient: e.ld.Client()}
	for _, g := range e.ld.Groups() {
		empty := []string{}
		if _, err := ld.UpdateGroup(context.Background(), g.UUID, lightdash.GroupUpdate{Members: &empty}); err != nil {
			t.Fatal(err)
		}
	}
	type progress struct {
		Phase string `json:"phase"`
		Reads []struct {
			What string `json:"what"`
			Done bool   `json:"done"`
		} `json:"reads"`
		Writes *struct{ Done, Total int } `json:"writes"`
	}
	status := func() *progress {
		code, body := testutil.HTTPDo(context.Background(), "GET", "http://"+e.addr+"/status.json", "admin-secret-value-42")
		if code != 200 {
			t.Fatalf("/status.json = %d", code)
		}
		var st struct {
			Progress *progress `json:"progress"`
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		return st.Progress
	}
	if p := status(); p != nil {
		t.Fatalf("/status.json shows a run in progress before one started: %+v", p)
	}
	e.ld.SetLatency(time.Second)
	e.reconcileNow(t)
	var reads []string
	testutil.Eventually(t, "/status.json to show the run's reads", func() bool {
		p := status()
		if p == nil || p.Phase != "reading" {
			return false
		}
		reads = reads[:0]
		for _, r := range p.Reads {
			reads = append(reads, r.What)
		}
		return len(reads) >= 2
	})
	for _, r := range reads {
		if r != "source events" && r != "Lightdash users" && r != "Lightdash groups" {
			t.Errorf("/status.json shows a read of %q", r)
		}
	}
	testutil.Eventually(t, "/status.json to show the run's write", func() bool {
		p := status()
		return p != nil && p.Phase == "writing" && p.Writes != nil && p.Writes.Total == 1
	})
	e.ld.SetLatency(0)
	testutil.Eventually(t, "the run to end", func() bool { return e.members("analysts") == "ada" && status() == nil })
}
