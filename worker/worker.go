package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// Lightdash is the part of *lightdash.Client the worker uses.
type Lightdash interface {
	WhoAmI(ctx context.Context) (*lightdash.User, error)
	GroupsEnabled(ctx context.Context) (bool, error)
	ListUsers(ctx context.Context) ([]lightdash.OrgMember, error)
	ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error)
	CreateGroup(ctx context.Context, name string, memberUUIDs []string) (*lightdash.CreatedGroup, error)
	UpdateGroup(ctx context.Context, uuid string, u lightdash.GroupUpdate) (*lightdash.GroupWithMembers, error)
	DeleteGroup(ctx context.Context, uuid string) error
	CreateInviteLink(ctx context.Context, email string, expiresAt time.Time) (*lightdash.InviteLink, error)
}

// requestCounter is implemented by *lightdash.Client; the summary uses it
// to report API calls.
type requestCounter interface{ RequestCount() int64 }

// Preflight errors: planning against a Lightdash whose groups feature is
// off, or with a non-admin token, would read "no groups" and act on it
// (duplicates, or deleting everything).
var (
	ErrGroupsDisabled = errors.New("lightdash user groups feature is disabled (set GROUPS_ENABLED=true or LIGHTDASH_ENABLE_FEATURE_FLAGS=user-groups-enabled)")
	ErrNotAdmin       = errors.New("lightdash token is not an organization admin")
)

// Options configure a Worker.
type Options struct {
	Mapping Mapping
	PlanOptions
	// Concurrency bounds the Lightdash writes in flight (0 means 4).
	Concurrency int
	// InviteTTL is how long invite links stay valid (0 means 7 days).
	InviteTTL time.Duration
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// Worker plans and applies the sync. Its methods may be called from one
// goroutine at a time (the daemon's loop); Apply itself writes concurrently.
type Worker struct {
	sources []Source
	ld      Lightdash
	store   StateStore
	opts    Options
	mapper  *Mapper
	log     *zap.Logger
	m       *metrics
}

// New checks opts and builds a Worker.
func New(sources []Source, ld Lightdash, store StateStore, opts Options, log *zap.Logger, reg prometheus.Registerer) (*Worker, error) {
	if len(sources) == 0 {
		return nil, errors.New("worker: no sources")
	}
	seen := map[string]bool{}
	for _, s := range sources {
		if s == nil {
			return nil, errors.New("worker: nil source")
		}
		if seen[s.Name()] {
			return nil, fmt.Errorf("worker: two sources named %q", s.Name())
		}
		seen[s.Name()] = true
	}
	if ld == nil || store == nil {
		return nil, errors.New("worker: lightdash client and state store are required")
	}
	if err := opts.PlanOptions.Validate(); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	mp, err := NewMapper(opts.Mapping)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	opts.PlanOptions = opts.PlanOptions.withDefaults()
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.InviteTTL <= 0 {
		opts.InviteTTL = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return &Worker{sources: sources, ld: ld, store: store, opts: opts, mapper: mp, log: log, m: m}, nil
}

// inputs is everything a plan is computed from.
type inputs struct {
	snaps []*Snapshot
	cur   Current
	state *State
}

// Preflight checks that the groups feature is on and the token is an admin.
func (w *Worker) Preflight(ctx context.Context) error {
	on, err := w.ld.GroupsEnabled(ctx)
	if err != nil {
		return fmt.Errorf("preflight: read groups feature flag: %w", err)
	}
	if !on {
		return fmt.Errorf("preflight: %w", ErrGroupsDisabled)
	}
	me, err := w.ld.WhoAmI(ctx)
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

func (w *Worker) read(ctx context.Context, snaps []*Snapshot) (*inputs, error) {
	if err := w.Preflight(ctx); err != nil {
		return nil, err
	}
	in := &inputs{snaps: snaps}
	if in.snaps == nil {
		for _, s := range w.sources {
			snap, err := s.Snapshot(ctx)
			if err != nil {
				return nil, fmt.Errorf("read source %s: %w", s.Name(), err)
			}
			if snap == nil {
				return nil, fmt.Errorf("read source %s: no snapshot and no error", s.Name())
			}
			if snap.Source == "" {
				snap.Source = s.Name()
			}
			in.snaps = append(in.snaps, snap)
		}
	}
	var err error
	if in.cur.Users, err = w.ld.ListUsers(ctx); err != nil {
		return nil, fmt.Errorf("list lightdash users: %w", err)
	}
	if in.cur.Groups, err = w.ld.ListGroups(ctx); err != nil {
		return nil, fmt.Errorf("list lightdash groups: %w", err)
	}
	if in.state, err = w.store.Load(ctx); err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	return in, nil
}

func (w *Worker) compute(in *inputs, partial bool) *Plan {
	d := w.mapper.Map(in.snaps...)
	d.Partial = partial
	p := ComputePlan(d, in.cur, in.state, w.opts.PlanOptions, w.opts.Now())
	p.Fingerprints = Fingerprints{Directory: fingerprintSnapshots(in.snaps), Lightdash: fingerprintLightdash(in.cur)}
	w.m.observePlan(p)
	for _, pr := range p.Problems {
		w.log.Warn("mapping problem", zap.String("key", pr.Key), zap.String("group", pr.Name), zap.String("reason", pr.Reason), zap.Bool("blocking", pr.Blocking))
	}
	for _, c := range p.Conflicts {
		w.log.Warn("conflict", zap.String("key", c.Key), zap.String("group", c.Name), zap.String("reason", c.Reason))
	}
	if p.Blocked {
		w.log.Warn("deletions held back", zap.String("reason", p.BlockedReason))
	}
	w.log.Info("plan computed", zap.Bool("partial", partial), zap.Int("creates", len(p.Creates)), zap.Int("updates", len(p.Updates)),
		zap.Int("deletes", len(p.Deletes)), zap.Int("conflicts", len(p.Conflicts)), zap.Int("unmatched", len(p.Unmatched)),
		zap.Int("heldBack", len(p.HeldBack)), zap.Int("problems", len(p.Problems)))
	return p
}

// Plan reads the directory and Lightdash and computes the plan. It writes
// nothing, not even the state.
func (w *Worker) Plan(ctx context.Context) (*Plan, error) {
	in, err := w.read(ctx, nil)
	if err != nil {
		return nil, err
	}
	return w.compute(in, false), nil
}

// Reconcile plans and applies in one go.
func (w *Worker) Reconcile(ctx context.Context) (*Result, error) {
	start, calls0 := time.Now(), w.calls()
	p, err := w.Plan(ctx)
	if err != nil {
		w.m.result("error", time.Since(start))
		return nil, err
	}
	return w.apply(ctx, p, calls0, start)
}

// ReconcileGroups reconciles only the named directory groups of one
// source, for change events. It reads them with GroupReader when the
// source has it, and never deletes a group: an event alone is not proof
// that a group is gone.
func (w *Worker) ReconcileGroups(ctx context.Context, source string, groupIDs []string) (*Result, error) {
	start, calls0 := time.Now(), w.calls()
	var src Source
	for _, s := range w.sources {
		if s.Name() == source {
			src = s
		}
	}
	if src == nil {
		return nil, fmt.Errorf("reconcile groups: unknown source %q", source)
	}
	var snap *Snapshot
	var err error
	if gr, ok := src.(GroupReader); ok {
		snap, err = gr.ReadGroups(ctx, groupIDs)
	} else {
		snap, err = src.Snapshot(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("read source %s: %w", source, err)
	}
	if snap == nil {
		return nil, fmt.Errorf("read source %s: no snapshot and no error", source)
	}
	if snap.Source == "" {
		snap.Source = source
	}
	in, err := w.read(ctx, []*Snapshot{snap})
	if err != nil {
		w.m.result("error", time.Since(start))
		return nil, err
	}
	return w.apply(ctx, w.compute(in, true), calls0, start)
}

// ErrPlanStale is returned by ApplySaved when the world moved on since the
// plan was computed.
var ErrPlanStale = errors.New("saved plan no longer matches")

// ApplySaved applies a plan computed earlier (for example `plan --output
// json` reviewed by a person) only if the directory and Lightdash still
// hold what it was computed from.
func (w *Worker) ApplySaved(ctx context.Context, p *Plan) (*Result, error) {
	if p == nil {
		return nil, errors.New("apply saved plan: no plan")
	}
	if p.Format != PlanFormat {
		return nil, fmt.Errorf("apply saved plan: format %d, this build applies format %d", p.Format, PlanFormat)
	}
	if p.Partial {
		return nil, errors.New("apply saved plan: partial plans cannot be saved")
	}
	start, calls0 := time.Now(), w.calls()
	in, err := w.read(ctx, nil)
	if err != nil {
		return nil, err
	}
	var why []string
	if fp := fingerprintSnapshots(in.snaps); fp != p.Fingerprints.Directory {
		why = append(why, "the directory changed")
	}
	if fp := fingerprintLightdash(in.cur); fp != p.Fingerprints.Lightdash {
		why = append(why, "Lightdash groups or users changed")
	}
	if len(why) > 0 {
		return nil, fmt.Errorf("%w: %s since the plan was computed at %s; compute a new plan",
			ErrPlanStale, joinAnd(why), p.ComputedAt.Format(time.RFC3339))
	}
	return w.apply(ctx, p, calls0, start)
}

func joinAnd(l []string) string {
	if len(l) == 2 {
		return l[0] + " and " + l[1]
	}
	return l[0]
}
