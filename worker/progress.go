package worker

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// Progress hears how a full run (Reconcile, Plan, ApplySaved) advances,
// for a person watching a long one: a terminal, the daemon's /status.
// Event runs do not report. Calls may come from several goroutines.
type Progress interface {
	// Phase starts a phase: "reading", "planning", "writing"; "" when the
	// run ended.
	Phase(name string)
	// Read reports one read of the reading phase ("source corp",
	// "Lightdash users"): started, or done with its size ("1204 users").
	Read(what string, done bool, size string)
	// Wrote reports the writes sent so far of the plan's total (a write
	// that failed counts as sent).
	Wrote(done, total int)
}

type noProgress struct{}

func (noProgress) Phase(string)              {}
func (noProgress) Read(string, bool, string) {}
func (noProgress) Wrote(int, int)            {}

// progress is Options.Progress, or one that hears nothing.
func (w *Worker) progress() Progress {
	if w.opts.Progress == nil {
		return noProgress{}
	}
	return w.opts.Progress
}

// reporting wraps ld for one full run: its list reads and writes are
// reported to pr. expect sets the writes' total before the plan is applied.
type reporting struct {
	Lightdash
	pr          Progress
	done, total atomic.Int64
}

func (r *reporting) expect(total int) {
	r.total.Store(int64(total))
	r.pr.Wrote(0, total)
}

func (r *reporting) wrote() { r.pr.Wrote(int(r.done.Add(1)), int(r.total.Load())) }

// ListUsers reports the pages read so far while the users list is read
// (a large organization's list is many pages), and the total at the end.
func (r *reporting) ListUsers(ctx context.Context) ([]lightdash.OrgMember, error) {
	var pages atomic.Int64
	r.pr.Read("Lightdash users", false, "")
	stop := r.every(pageReportInterval, func() {
		r.pr.Read("Lightdash users", false, plural(pages.Load(), "page"))
	})
	us, err := r.Lightdash.ListUsers(lightdash.CountCalls(ctx, &pages))
	stop()
	if err == nil {
		r.pr.Read("Lightdash users", true, fmt.Sprintf("%d users in %s", len(us), plural(pages.Load(), "page")))
	}
	return us, err
}

// pageReportInterval is how often a long list read reports its pages.
const pageReportInterval = 250 * time.Millisecond

// every calls f every d until the returned stop is called; stop waits
// for a call in progress.
func (r *reporting) every(d time.Duration, f func()) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { close(done); <-exited }
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func (r *reporting) ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error) {
	r.pr.Read("Lightdash groups", false, "")
	gs, err := r.Lightdash.ListGroups(ctx)
	if err == nil {
		r.pr.Read("Lightdash groups", true, fmt.Sprintf("%d groups", len(gs)))
	}
	return gs, err
}

func (r *reporting) CreateGroup(ctx context.Context, name string, members []string) (*lightdash.CreatedGroup, error) {
	defer r.wrote()
	return r.Lightdash.CreateGroup(ctx, name, members)
}

func (r *reporting) UpdateGroup(ctx context.Context, uuid string, u lightdash.GroupUpdate) (*lightdash.GroupWithMembers, error) {
	defer r.wrote()
	return r.Lightdash.UpdateGroup(ctx, uuid, u)
}

func (r *reporting) DeleteGroup(ctx context.Context, uuid string) error {
	defer r.wrote()
	return r.Lightdash.DeleteGroup(ctx, uuid)
}

func (r *reporting) CreateInviteLink(ctx context.Context, email string, expiresAt time.Time) (*lightdash.InviteLink, error) {
	defer r.wrote()
	return r.Lightdash.CreateInviteLink(ctx, email, expiresAt)
}

// reportRun starts reporting a full run: reads first.
func (w *Worker) reportRun() *reporting {
	r := &reporting{Lightdash: w.ld, pr: w.progress()}
	r.pr.Phase("reading")
	return r
}

// writing starts the writing phase of plan p: its writes and its invites
// (a dry run sends none).
func (r *reporting) writing(p *Plan, dryRun bool) {
	if dryRun {
		return
	}
	r.pr.Phase("writing")
	r.expect(p.Writes() + len(p.Invites))
}
