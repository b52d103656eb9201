package worker

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Preflight checks that the groups feature is on and the token is an admin.
func (w *Worker) Preflight(ctx context.Context) error {
	return preflightWith(ctx, w.ld)
}

func preflightWith(ctx context.Context, ld Lightdash) error {
	on, err := ld.GroupsEnabled(ctx)
	if err != nil {
		return fmt.Errorf("preflight: read groups feature flag: %w", err)
	}
	if !on {
		return fmt.Errorf("preflight: %w (%s)", lightdash.ErrFeatureDisabled, lightdash.FeatureDisabledHint)
	}
	me, err := ld.WhoAmI(ctx)
	if err != nil {
		return fmt.Errorf("preflight: read token user: %w", err)
	}
	if me == nil {
		return errors.New("preflight: read token user: empty answer")
	}
	if me.Role != lightdash.RoleAdmin {
		return fmt.Errorf("preflight: %w (role %q)", ErrNotAdmin, me.Role)
	}
	return nil
}

// readSources takes a snapshot of every source, all at once (each is a
// long paged read of its own server); the first failure cancels the rest.
func (w *Worker) readSources(ctx context.Context) ([]*sources.Snapshot, error) {
	snaps := make([]*sources.Snapshot, len(w.sources))
	g, ctx := errgroup.WithContext(ctx)
	pr := w.progress()
	for i, s := range w.sources {
		g.Go(func() error {
			pr.Read("source "+s.Name(), false, "")
			snap, err := s.Snapshot(ctx)
			if err != nil {
				return fmt.Errorf("read source %s: %w", s.Name(), err)
			}
			if snap == nil {
				return fmt.Errorf("read source %s: no snapshot and no error", s.Name())
			}
			if snap.Source == "" {
				snap.Source = s.Name()
			}
			snaps[i] = snap
			pr.Read("source "+s.Name(), true, fmt.Sprintf("%d users, %d groups", len(snap.Users), len(snap.Groups)))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return snaps, nil
}

// read is a full read: every source, Lightdash (reloading the cached view)
// and the state as stored. The three are independent and run at once, so
// a full run waits for the slowest (usually the directory dump or the
// groups list), not for their sum; with Options.LightdashAfterFullReads,
// Lightdash is read after a source that reads its directory in full. The
// first error cancels the others.
// The grants the mapping names are read after the Lightdash lists, not
// beside them: a space's read costs the server in proportion to its users
// and would hold up the list pages (docs/architecture.md, access as code).
func (w *Worker) read(ctx context.Context, ld Lightdash) (*inputs, error) {
	in := &inputs{}
	var full []string
	if w.opts.LightdashAfterFullReads {
		full = w.readingInFull(ctx)
	}
	after := len(full) > 0
	if after {
		w.log.Info("sources read their directory in full: Lightdash is read after them, not beside them, to hold less memory at once",
			zap.Strings("sources", full))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if in.snaps, err = w.readSources(gctx); err != nil || !after {
			return err
		}
		in.cur, err = w.readLightdash(gctx, ld)
		return err
	})
	if !after {
		g.Go(func() (err error) { in.cur, err = w.readLightdash(gctx, ld); return err })
	}
	g.Go(func() (err error) { in.state, err = w.loadState(gctx, true); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	access, err := w.readAccessFor(ctx, ld)
	if err != nil {
		return nil, err
	}
	in.cur.Access = access
	return in, nil
}

// readingInFull names the sources that say their next Snapshot reads
// their directory in full (sources.FullReadPredictor).
func (w *Worker) readingInFull(ctx context.Context) []string {
	var names []string
	for _, s := range w.sources {
		if f, ok := s.(sources.FullReadPredictor); ok && f.WillReadInFull(ctx) {
			names = append(names, s.Name())
		}
	}
	return names
}

// readLightdash reads what a plan needs from Lightdash into the view: the
// users and the groups with their members, two calls made at once, with
// one string per user uuid across both and the view's users they replace
// (lightdash.ShareUUIDs). An
// empty groups list is the one answer that cannot be trusted (flag off or
// non-admin token), so only then the preflight runs; a non-empty list
// proves what it checks. Why: docs/architecture.md, "The data
// path of one reconciliation", step 2.
func (w *Worker) readLightdash(ctx context.Context, ld Lightdash) (Current, error) {
	var cur Current
	start := w.view.begin()
	g, gctx := errgroup.WithContext(lightdash.ShareUUIDs(ctx, w.view.users()))
	g.Go(func() (err error) {
		if cur.Users, err = ld.ListUsers(gctx); err != nil {
			return fmt.Errorf("read lightdash: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		if cur.Groups, err = ld.ListGroups(gctx); err != nil {
			return fmt.Errorf("read lightdash: %w", err)
		}
		// Only the member uuids are used; the member summaries (email
		// and names of 500,000 memberships at directory scale) are let go.
		for i := range cur.Groups {
			cur.Groups[i].Members = nil
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return Current{}, w.lightdashReadFailed(err)
	}
	slimRead(cur.Users)
	if len(cur.Groups) == 0 {
		if err := preflightWith(ctx, ld); err != nil {
			w.view.invalidate()
			return Current{}, err
		}
	}
	cur.ids = newIdentities(cur.Users) // outside the view's lock; shared with it
	w.view.set(cur, start, w.opts.Now())
	return cur, nil
}

// slimRead cuts a fresh users list down to what the cached view needs, in
// place: the names go (plans and /explain use the uuid, email, role and
// flags). The daemon's client does not decode them at all
// (lightdash.Client.SkipUserNames); this covers any other.
func slimRead(users []lightdash.OrgMember) {
	for i := range users {
		users[i].FirstName, users[i].LastName = "", ""
	}
}

// lightdashReadFailed says why a run stops when a Lightdash list could not
// be read whole (lightdash.ErrIncompleteList): a user or group missing from
// it is not gone, and a missing user would read as one to invite, so the
// run plans nothing and writes nothing, not even additions. The next run
// reads again. Why: docs/reliability.md, "An incomplete Lightdash read".
func (w *Worker) lightdashReadFailed(err error) error {
	if !errors.Is(err, lightdash.ErrIncompleteList) {
		return err
	}
	w.log.Warn("lightdash read incomplete: nothing planned, nothing written", zap.Error(err))
	return fmt.Errorf("lightdash read incomplete, nothing planned or written: %w", err)
}
