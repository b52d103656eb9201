package daemon

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestIsolatedChangeIsAppliedWithoutWaiting: the first change to a quiet
// group is applied at once (leading edge), however long the debounce.
func TestIsolatedChangeIsAppliedWithoutWaiting(t *testing.T) {
	h := newHarness(t, Config{Debounce: time.Hour, MaxDelay: time.Hour})
	writes := h.ld.WriteCount()
	h.dir.SetGroup(sources.DirGroup{ID: "g1", Name: "analysts", MemberUsers: []string{"ada", "cy"}})
	h.waitFor("cy to join analysts", func() bool { return strings.Join(h.members("analysts"), ",") == "ada,cy" })
	if got := h.ld.WriteCount() - writes; got != 1 {
		t.Errorf("one membership change made %d Lightdash writes, want 1", got)
	}
}

// TestBurstOnSeveralGroupsCostsTwoWritesEach: a burst whose changes come
// less than a debounce apart costs each group at most two writes: its first
// change at once, then everything that followed in one.
func TestBurstOnSeveralGroupsCostsTwoWritesEach(t *testing.T) {
	const groups, changes = 4, 1000
	h := newHarness(t, Config{Debounce: 2 * time.Second, MaxDelay: time.Hour})
	all := []string{"ada", "bob", "cy", "dee"}
	name := func(g int) string { return fmt.Sprintf("burst-%d", g) }
	for g := range groups {
		h.dir.SetGroup(sources.DirGroup{ID: name(g), Name: name(g), MemberUsers: all[:1]})
	}
	for g := range groups {
		h.waitFor(name(g)+" to be created", func() bool { return strings.Join(h.members(name(g)), ",") == "ada" })
	}
	// Quiet again: the burst's first change to each group is a leading one.
	time.Sleep(2 * time.Second)
	h.ld.ResetRequests()
	for i := range changes {
		g := i % groups
		h.dir.SetGroup(sources.DirGroup{ID: name(g), Name: name(g), MemberUsers: all[:1+(i/groups+1)%4]})
	}
	// Each group's last change (i/groups = 249) leaves 1+250%4 = 3 members.
	for g := range groups {
		h.waitFor(name(g)+"'s last state", func() bool { return strings.Join(h.members(name(g)), ",") == "ada,bob,cy" })
	}
	h.waitFor("the queue to drain", func() bool { p, f := h.d.QueueDepth(); return p == 0 && f == 0 })
	perGroup := map[string]int{}
	for _, r := range h.ld.Requests() {
		if r.IsWrite() {
			perGroup[r.Path]++
		}
	}
	if len(perGroup) != groups {
		t.Errorf("writes went to %d paths (%v), want the %d groups", len(perGroup), perGroup, groups)
	}
	for path, n := range perGroup {
		if n > 2 {
			t.Errorf("%s: %d writes for a burst of %d changes, want at most 2", path, n, changes/groups)
		}
	}
}
