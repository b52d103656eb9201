package daemon

import (
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestLastKeepsFindingsNotActions: /status reads the plan's findings from
// the last run; the actions (every group's members after a start-up that
// created them all) are not kept until the next run.
func TestLastKeepsFindingsNotActions(t *testing.T) {
	// The events the directory changes send wait out a long debounce, so
	// the requested full run is the one that creates the group and has
	// actions to drop (with the default, the event could create it first).
	h := newHarness(t, Config{Debounce: time.Hour, MaxDelay: time.Hour})
	h.dir.SetUser(sources.DirUser{ID: "zed", Email: "zed@nowhere.example.com"}) // no Lightdash user
	h.dir.SetGroup(sources.DirGroup{ID: "g3", Name: "new team", MemberUsers: []string{"zed", "cy"}})
	h.d.RequestReconcile()
	h.waitFor("a run that created the new group", func() bool {
		run, _ := h.d.Last()
		return run != nil && run.Trigger != "start-up" && run.Result != nil && run.Result.Summary.Created == 1
	})
	run, _ := h.d.Last()
	p := run.Result.Plan
	if p == nil || len(p.Unmatched) != 1 || p.Unmatched[0].Email != "zed@nowhere.example.com" {
		t.Fatalf("last run's plan findings: %+v, want zed unmatched", p)
	}
	if len(p.Creates)+len(p.Updates)+len(p.Deletes)+len(p.Invites) != 0 {
		t.Errorf("last run keeps its actions: %d creates, %d updates", len(p.Creates), len(p.Updates))
	}
}
