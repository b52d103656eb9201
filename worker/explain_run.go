package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Explain reads the directory and Lightdash as Plan does, computes the
// plan and explains the person with address email from it. It writes
// nothing, not even the state, and leaves the plan metrics alone.
//
// It reads the whole users list, as Plan does, rather than looking the
// person up: whether their removal or their group's deletion is held
// back by a safety limit depends on every change of the run, and the
// plan that counts those resolves every member.
func (w *Worker) Explain(ctx context.Context, email string) (*Explanation, error) {
	e, err := explainEmail(email)
	if err != nil {
		return nil, err
	}
	w.runMu.Lock()
	defer w.runMu.Unlock()
	in, err := w.read(ctx, w.ld)
	if err != nil {
		return nil, err
	}
	w.withSelf(ctx, w.ld, &in.cur, in.state)
	now := w.opts.Now()
	d := w.mapper.Map(in.snaps...)
	p := ComputePlan(d, in.cur, in.state, w.opts.PlanOptions, now)
	x := (&explainer{m: w.mapper, email: e, snaps: in.snaps, d: d, groups: in.cur.Groups, ids: in.cur.identities(),
		st: in.state, p: p, opts: w.opts.PlanOptions, read: in.cur.Access}).build()
	x.Freshness = ExplainFreshness{From: "one-shot read", Directory: oldestRead(in.snaps), Plan: now, Lightdash: now}
	if in.cur.Access != nil {
		x.Freshness.Access = now
	}
	return x, nil
}

// lastRead is what a full reconciliation keeps for ExplainLast: its
// directory snapshots (never changed once read), its plan's findings and
// access changes, and the access it read (slimmed: see keptAccess).
type lastRead struct {
	snaps    []*sources.Snapshot
	findings *Plan
	access   *AccessCurrent
}

// keepLast keeps a full run's snapshots, the access it read and p's
// findings for ExplainLast, when Options.KeepLastRead asks for it.
func (w *Worker) keepLast(snaps []*sources.Snapshot, access *AccessCurrent, p *Plan) {
	if !w.opts.KeepLastRead {
		return
	}
	f := &Plan{Format: p.Format, ComputedAt: p.ComputedAt, Options: p.Options, Conflicts: p.Conflicts, HeldBack: p.HeldBack,
		Absent: p.Absent, Problems: p.Problems, Invites: p.Invites, Unmatched: p.Unmatched, Blocked: p.Blocked, BlockedReason: p.BlockedReason,
		Access: p.Access}
	w.last.Store(&lastRead{snaps: snaps, findings: f, access: keptAccess(access)})
}

// userFinder is the one-user lookup of *lightdash.Client.
type userFinder interface {
	UserByEmail(ctx context.Context, email string) (*lightdash.OrgMember, error)
}

// ExplainLast explains the person with address email from the last full
// reconciliation: its directory read and its plan's findings, the
// ownership state and Lightdash's group memberships as the worker holds
// them now (its cached view, kept current by its own writes), and the
// person's Lightdash account looked up now, one call per address of
// theirs (UserByEmail) rather than a read of every user. It takes no run
// lock, so it answers while a run is in progress.
func (w *Worker) ExplainLast(ctx context.Context, email string) (*Explanation, error) {
	e, err := explainEmail(email)
	if err != nil {
		return nil, err
	}
	last := w.last.Load()
	if last == nil {
		return nil, ErrNoFullRun
	}
	st, err := w.loadState(ctx, false)
	if err != nil {
		return nil, err
	}
	cur := w.view.current()
	x := &explainer{m: w.mapper, email: e, snaps: last.snaps, d: w.mapper.Map(last.snaps...), groups: cur.Groups,
		st: st, p: last.findings, opts: w.opts.PlanOptions, read: last.access}
	x.ids = cur.identities()
	if f, ok := w.ld.(userFinder); ok {
		if x.ids, err = lookUp(ctx, f, x.addresses(e)); err != nil {
			return nil, err
		}
	}
	out := x.build()
	out.Freshness = ExplainFreshness{From: "last full reconciliation", Directory: oldestRead(last.snaps),
		Plan: last.findings.ComputedAt, Lightdash: w.view.loadedTime()}
	if last.access != nil {
		out.Freshness.Access = last.findings.ComputedAt
	}
	return out, nil
}

// addresses returns email and every address of the directory users that
// have it, normalised, each once.
func (e *explainer) addresses(email string) []string {
	seen := map[string]bool{email: true}
	out := []string{email}
	for _, s := range e.snaps {
		for i := range s.Users {
			u := &s.Users[i]
			if !e.hasEmail(u) {
				continue
			}
			for j := 0; j <= len(u.AltEmails); j++ {
				if a := emailAt(u, j); a != "" && !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// lookUp finds the Lightdash users with the given addresses, one call
// each; an address with no user is skipped.
func lookUp(ctx context.Context, f userFinder, emails []string) (*identities, error) {
	var found []lightdash.OrgMember
	for _, a := range emails {
		m, err := f.UserByEmail(ctx, a)
		switch {
		case errors.Is(err, lightdash.ErrNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("explain: %w", err)
		}
		found = append(found, *m)
	}
	return newIdentities(found), nil
}

// explainEmail normalises the asked address, refusing what matches no one.
func explainEmail(email string) (string, error) {
	e, err := ident.NormalizeEmail(email)
	if err != nil {
		return "", fmt.Errorf("explain %+q: %w: %w", email, ErrBadEmail, err)
	}
	if e == "" {
		return "", fmt.Errorf("explain: empty email: %w", ErrBadEmail)
	}
	return e, nil
}

// oldestRead is when the oldest of snaps was read.
func oldestRead(snaps []*sources.Snapshot) time.Time {
	var t time.Time
	for _, s := range snaps {
		if s != nil && (t.IsZero() || s.ReadAt.Before(t)) {
			t = s.ReadAt
		}
	}
	return t
}
