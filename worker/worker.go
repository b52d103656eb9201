package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
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
	AddMember(ctx context.Context, groupUUID, userUUID string) (added bool, err error)
	RemoveMember(ctx context.Context, groupUUID, userUUID string) (removed bool, err error)
	CreateInviteLink(ctx context.Context, email string, expiresAt time.Time) (*lightdash.InviteLink, error)
}

// ErrNotAdmin is a preflight error: planning with a non-admin token (or,
// lightdash.ErrFeatureDisabled, with the groups feature off) would read "no
// groups" and act on it (duplicates, or deleting everything).
var ErrNotAdmin = errors.New("lightdash token is not an organization admin")

// Defaults of the Options fields that have one; a zero field takes it.
const (
	DefaultConcurrency         = 4
	DefaultInviteExpiry        = 7 * 24 * time.Hour
	DefaultCacheMaxAge         = 10 * time.Minute
	DefaultUserRefreshInterval = 30 * time.Second
)

// Options configure a Worker.
type Options struct {
	Mapping Mapping
	PlanOptions
	// Concurrency bounds the Lightdash writes in flight within one run (0
	// means DefaultConcurrency).
	Concurrency int
	// InviteExpiry is how long invite links stay valid (0 means
	// DefaultInviteExpiry).
	InviteExpiry time.Duration
	// DryRun computes and logs every plan but writes nothing: no Lightdash
	// write, no state save. Results say DryRun and count what would have
	// been done.
	DryRun bool
	// CacheMaxAge bounds how old the cached view of Lightdash that change
	// events plan against may be; an older view is
	// read again before use. Every full reconciliation reloads it. Zero
	// means DefaultCacheMaxAge.
	CacheMaxAge time.Duration
	// UserRefreshInterval is the least time between two reads of the
	// Lightdash users caused by directory users the view does not know (0
	// means DefaultUserRefreshInterval).
	UserRefreshInterval time.Duration
	// Now is the clock (nil means time.Now).
	Now func() time.Time
	// KeepLastRead keeps each full reconciliation's directory read and
	// plan findings until the next, so that ExplainLast can answer from
	// them (the daemon's /explain). It costs the directory read's memory
	// between runs.
	KeepLastRead bool
	// LightdashAfterFullReads reads Lightdash after the sources, not beside
	// them, when a source will read its directory in full
	// (sources.FullReadPredictor): less memory at once, the two reads' sum
	// in time. The daemon sets it.
	LightdashAfterFullReads bool
	// Progress, when set, hears how full runs advance.
	Progress Progress
}

// Worker plans and applies the sync. Reconcile, Plan, Apply and ApplySaved
// run one at a time and exclusively; ReconcileGroups may be called from
// many goroutines at once (the daemon's event workers), never concurrently
// with those. Within a run, Apply writes concurrently.
type Worker struct {
	sources []sources.Source
	ld      Lightdash
	store   StateStore
	opts    Options
	mapper  *Mapper
	log     *zap.Logger
	m       *metrics

	// runMu is held exclusively by full runs and shared by ReconcileGroups:
	// the one lock keeping them apart, for the daemon as for every caller.
	runMu sync.RWMutex
	// locks serialise ReconcileGroups calls that touch one Lightdash group.
	locks keyLocks
	// view is the cached Lightdash; refreshMu serialises its reloads.
	view      view
	refreshMu sync.Mutex
	// self is the token's user, for adopting interrupted creates.
	self selfCache
	// state is the ownership state, the truth between full runs; stateMu
	// guards it and its saves, so concurrent runs never save over each
	// other's updates.
	stateMu sync.Mutex
	// stateDirty is set when state holds a change not yet saved;
	// stateSaved is when it was last saved (both under stateMu).
	stateDirty bool
	stateSaved time.Time
	state      *State
	// last is the last full run's read, for ExplainLast (KeepLastRead).
	last atomic.Pointer[lastRead]
}

// New checks opts and builds a Worker.
func New(sources []sources.Source, ld Lightdash, store StateStore, opts Options, log *zap.Logger, reg prometheus.Registerer) (*Worker, error) {
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
	if opts.CacheMaxAge < 0 || opts.UserRefreshInterval < 0 {
		return nil, fmt.Errorf("worker: negative cache max age (%s) or user refresh interval (%s)", opts.CacheMaxAge, opts.UserRefreshInterval)
	}
	mp, err := NewMapper(opts.Mapping)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if refs, spaces := mp.AccessRefs(); (len(refs) > 0 || len(spaces) > 0) && accessAPI(ld) == nil {
		return nil, fmt.Errorf("worker: %w", errNoAccessAPI)
	}
	opts.PlanOptions = opts.PlanOptions.withDefaults()
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.InviteExpiry <= 0 {
		opts.InviteExpiry = DefaultInviteExpiry
	}
	if opts.CacheMaxAge == 0 {
		opts.CacheMaxAge = DefaultCacheMaxAge
	}
	if opts.UserRefreshInterval == 0 {
		opts.UserRefreshInterval = DefaultUserRefreshInterval
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
	snaps []*sources.Snapshot
	cur   Current
	state *State
}

// loadState returns a copy of the ownership state to plan with, reading
// the store when fresh is set or nothing was read yet.
func (w *Worker) loadState(ctx context.Context, fresh bool) (*State, error) {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	if fresh || w.state == nil {
		st, err := w.store.Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("load state: %w", err)
		}
		if st == nil {
			st = NewState()
		}
		if st.Groups == nil {
			st.Groups = map[string]*OwnedGroup{}
		}
		for _, g := range st.Groups {
			if g != nil && len(g.AddedMembers) > 0 {
				g.AddedMembers = w.keepAdded(g.AddedMembers)
				// A record authoritative mode drops is dropped from the
				// store by the next save, whether or not a write changes
				// the group's entry.
				w.stateDirty = w.stateDirty || len(g.AddedMembers) == 0
			}
		}
		w.state = st
	}
	return w.state.Clone(), nil
}

// keepAdded returns the added members to record in the state: none in
// authoritative mode, which never reads them (see OwnedGroup.AddedMembers).
func (w *Worker) keepAdded(added []string) []string {
	if w.opts.mayRemoveManual() {
		return nil
	}
	return added
}

// compute maps the snapshots (unless d is given) and plans.
//
// A full plan's fingerprints are hashed while the plan is computed (they
// read the same inputs and change nothing). Afterwards the snapshots and
// the Lightdash lists are dropped from in: the plan, the view and the
// state hold what applying needs, and at directory scale the inputs are
// the largest thing a run holds while its writes go out.
func (w *Worker) compute(in *inputs, d *Desired) *Plan {
	partial := d != nil
	var fp Fingerprints
	var hashed sync.WaitGroup
	if !partial {
		snaps, cur := in.snaps, in.cur
		hashed.Go(func() {
			fp = Fingerprints{Directory: fingerprintSnapshots(snaps), Lightdash: fingerprintLightdash(cur)}
		})
		d = w.mapper.Map(in.snaps...)
	}
	d.Partial = partial
	p := ComputePlan(d, in.cur, in.state, w.opts.PlanOptions, w.opts.Now())
	hashed.Wait()
	snaps := in.snaps
	in.snaps, in.cur = nil, Current{}
	lvl := zap.InfoLevel
	if partial {
		// Event plans cover a few groups: the gauges describe full runs,
		// but for the unmatched users an event can add or resolve.
		w.m.observeEventPlan(snaps, d, p)
		if !p.HasChanges() && len(p.Conflicts) == 0 && len(p.Problems) == 0 {
			lvl = zap.DebugLevel
		}
	} else {
		p.Fingerprints = fp
		w.m.observePlan(p)
		// Events need not read the users again for these (viewFor).
		emails := make([]string, len(p.Unmatched))
		for i, u := range p.Unmatched {
			emails[i] = u.Email
		}
		w.view.setMissing(emails)
	}
	for _, pr := range p.Problems {
		w.log.Warn("mapping problem", zap.String("key", pr.Key), zap.String("group", pr.Name), zap.String("reason", pr.Reason), zap.Bool("blocking", pr.Blocking))
	}
	logRefusedEmails(w.log, p)
	for _, c := range p.Conflicts {
		w.log.Warn("conflict", zap.String("key", c.Key), zap.String("group", c.Name), zap.String("reason", c.Reason))
	}
	if p.Blocked {
		w.log.Warn("deletions held back", zap.String("reason", p.BlockedReason))
	}
	w.log.Log(lvl, "plan computed", zap.Bool("partial", partial), zap.Bool("dryRun", w.opts.DryRun), zap.Int("creates", len(p.Creates)), zap.Int("updates", len(p.Updates)),
		zap.Int("deletes", len(p.Deletes)), zap.Int("conflicts", len(p.Conflicts)), zap.Int("unmatched", len(p.Unmatched)),
		zap.Int("heldBack", len(p.HeldBack)), zap.Int("problems", len(p.Problems)), zap.Int("access", len(p.Access)))
	return p
}

// Plan reads the directory and Lightdash and computes the plan. It writes
// nothing, not even the state; it reloads the cached view of Lightdash.
func (w *Worker) Plan(ctx context.Context) (*Plan, error) {
	w.runMu.Lock()
	defer w.runMu.Unlock()
	rep := w.reportRun()
	defer rep.pr.Phase("")
	in, err := w.read(ctx, rep)
	if err != nil {
		return nil, err
	}
	w.withSelf(ctx, w.ld, &in.cur, in.state)
	rep.pr.Phase("planning")
	return w.compute(in, nil), nil
}

// Reconcile reads everything afresh (reloading the cached view), plans and
// applies in one go.
func (w *Worker) Reconcile(ctx context.Context) (*Result, error) {
	w.runMu.Lock()
	defer w.runMu.Unlock()
	rep := w.reportRun()
	defer rep.pr.Phase("")
	start, ld := time.Now(), &counted{ld: rep}
	in, err := w.read(ctx, ld)
	if err != nil {
		w.m.failed(err, time.Since(start))
		return nil, err
	}
	w.withSelf(ctx, ld, &in.cur, in.state)
	snaps, access := in.snaps, in.cur.Access
	reads := directoryReads(snaps) // before compute, which lets the snapshots go
	rep.pr.Phase("planning")
	p := w.compute(in, nil)
	w.keepLast(snaps, access, p)
	rep.writing(p, w.opts.DryRun)
	res, _ := w.applyPlan(ctx, ld, p)
	w.keepApplied(res.accessMade)
	res.DirectoryRead = reads
	return w.finish(res, ld, start)
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
	w.runMu.Lock()
	defer w.runMu.Unlock()
	rep := w.reportRun()
	defer rep.pr.Phase("")
	start, ld := time.Now(), &counted{ld: rep}
	in, err := w.read(ctx, ld)
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
	rep.writing(p, w.opts.DryRun)
	res, _ := w.applyPlan(ctx, ld, p)
	return w.finish(res, ld, start)
}

func joinAnd(l []string) string {
	if len(l) == 2 {
		return l[0] + " and " + l[1]
	}
	return l[0]
}
