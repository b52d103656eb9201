package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// cutRemovals is a Lightdash whose member DELETEs stop after the first n:
// the next one cancels the run (cancel set) or fails with a 500.
type cutRemovals struct {
	*lightdash.Client
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (c *cutRemovals) RemoveMember(ctx context.Context, group, user string) (bool, error) {
	c.mu.Lock()
	c.n--
	cut := c.n < 0
	c.mu.Unlock()
	switch {
	case !cut:
		return c.Client.RemoveMember(ctx, group, user)
	case c.cancel != nil:
		c.cancel()
		return false, ctx.Err()
	}
	return false, &lightdash.APIError{StatusCode: 500, Name: "UnexpectedServerError", Message: "injected"}
}

// TestMemberWritesStoppedMidwayAreCounted: a change cut after some of its
// per-member calls reports, in its summary and its failure, the members
// those calls removed.
func TestMemberWritesStoppedMidwayAreCounted(t *testing.T) {
	// Above PatchCompareLimit, a few removals go one DELETE each.
	const size, remove, done = lightdash.PatchCompareLimit + 100, 20, 8
	for _, cancel := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancel=%v", cancel), func(t *testing.T) {
			e, _ := scaleEnv(t, size)
			opts := e.options()
			opts.Concurrency = 1 // every DELETE before the cut is answered
			setGroup(e, "big", 0, size)
			e.reconcile(e.worker(opts))

			setGroup(e, "big", remove, size)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			ld := &cutRemovals{Client: e.client(e.ld.AdminToken(), 0), n: done}
			if cancel {
				ld.cancel = stop
			}
			res, _ := e.workerWith(ld, opts).Reconcile(ctx)
			if res == nil || res.Summary.Failed != 1 {
				t.Fatalf("got %+v, want one failure", res)
			}
			if got, _ := e.ld.GroupMembers("ad-big", nil); len(got) != size-done {
				t.Fatalf("%d members left, want %d", len(got), size-done)
			}
			if got := res.Summary.MembersRemoved; got != done {
				t.Errorf("summary: %d members removed, want %d", got, done)
			}
			if msg, want := res.Failures[0].Error, fmt.Sprintf("stopped after 0 members added and %d removed", done); !strings.Contains(msg, want) {
				t.Errorf("failure %q, want it to say %q", msg, want)
			}
		})
	}
}
