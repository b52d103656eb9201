package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestLastKeepsFindingsNotActions: /status reads the plan's findings from
// the last run; the actions (every group's members after a start-up that
// created them all) are not kept until the next run.
func TestLastKeepsFindingsNotActions(t *testing.T) {
	h := newHarness(t, Config{Debounce: 10 * time.Millisecond})
	h.dir.SetUser(sources.DirUser{ID: "zed", Email: "zed@nowhere.example.com"}) // no Lightdash user
	h.dir.SetGroup(sources.DirGroup{ID: "g1", Name: "analysts", MemberUsers: []string{"ada", "zed", "cy"}})
	h.waitFor("the change to be applied", func() bool { return strings.Join(h.members("analysts"), ",") == "ada,cy" })
	// Someone deletes the group in Lightdash: no event comes, so the
	// requested full run is the one that creates it again and has actions
	// to drop.
	for _, g := range h.ld.Groups() {
		if g.Name == "analysts" {
			if err := h.client.DeleteGroup(context.Background(), g.UUID); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.d.RequestReconcile()
	h.waitFor("a run that created the group again", func() bool {
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

// TestFullRunSaysHowTheDirectoryWasRead: the last run tells, per source,
// whether the directory was read in full or taken from a watcher's state.
func TestFullRunSaysHowTheDirectoryWasRead(t *testing.T) {
	h := newHarness(t, Config{})
	run, _ := h.d.Last()
	if got := run.Result.DirectoryRead["dir"]; got != sources.ReadFull {
		t.Errorf("directory read = %q, want %q (the memory source reads in full)", got, sources.ReadFull)
	}
}
