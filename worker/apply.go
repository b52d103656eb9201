package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// ErrApplyFailed is wrapped by Apply's error when some changes failed; the
// Result lists them. The other changes were still made.
var ErrApplyFailed = errors.New("some changes failed")

// errOwnership is a write refused because the state no longer says the
// worker owns the group as the plan expected.
var errOwnership = errors.New("ownership changed since the plan was computed; not written")

// applier carries one Apply's progress; mu guards res and invited. The
// ownership state lives on the Worker, under its stateMu.
type applier struct {
	w       *Worker
	ld      Lightdash
	mu      sync.Mutex
	res     *Result
	invited map[string]string // email → new pending user uuid
	// stale is set when a write failed in a way that says the cached view
	// of Lightdash was wrong: 404 (group gone), 400 (unknown member), 409
	// (name taken).
	stale atomic.Bool
	// intentErr is set when the create intents could not be saved; no
	// create is sent then.
	intentErr error
	// priorIntent names the creates whose intent an earlier run left:
	// written by the intent save, read by create afterwards.
	priorIntent map[string]bool
	// budget is the plan's; nil when its limits were overridden.
	budget *Budget
	// adopt is set when the plan's options let an existing unowned group
	// be taken over.
	adopt bool
}

// Apply makes the plan's changes: invites first, then deletes (freeing
// names), then updates, then creates, each phase concurrently up to
// Options.Concurrency. A failed group does not stop the others. The state
// is saved after every successful write, and ownership is re-checked
// against it before every write, so an interrupted or concurrent run
// cannot write twice or touch a group it no longer owns. The state is read
// from the store first.
func (w *Worker) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if p == nil {
		return nil, errors.New("apply: no plan")
	}
	w.runMu.Lock()
	defer w.runMu.Unlock()
	start, ld := time.Now(), &counted{ld: w.ld}
	if _, err := w.loadState(ctx, true); err != nil {
		w.m.result("error", time.Since(start))
		return nil, err
	}
	res, _ := w.applyPlan(ctx, ld, p)
	return w.finish(res, ld, start)
}

// applyPlan applies p through ld (or, in a dry run, logs it). stale
// reports a failure that says the cached view was wrong.
func (w *Worker) applyPlan(ctx context.Context, ld Lightdash, p *Plan) (res *Result, stale bool) {
	a := &applier{w: w, ld: ld, res: &Result{Blocked: p.Blocked, BlockedReason: p.BlockedReason, DryRun: w.opts.DryRun, Plan: p},
		invited: map[string]string{}, priorIntent: map[string]bool{}, budget: p.Budget,
		adopt: p.Options.mayAdopt()}
	s := &a.res.Summary
	s.Conflicts, s.Unmatched = len(p.Conflicts), len(p.Unmatched)
	for _, h := range p.HeldBack {
		if h.Kind == "delete" {
			s.HeldBackDeletes++
		} else {
			s.HeldBackRemovals += len(h.Members)
		}
	}
	if w.opts.DryRun {
		w.logDryRun(p, s)
		return a.res, false
	}

	var pending []lightdash.OrgMember
	for _, inv := range p.Invites {
		link, err := ld.CreateInviteLink(ctx, inv.Email, w.opts.Now().Add(w.opts.InviteExpiry))
		if err == nil && (link == nil || link.UserUUID == "") {
			err = errors.New("invite link has no user uuid")
		}
		if err != nil {
			a.fail("", inv.Email, "invite", err)
			continue
		}
		a.invited[inv.Email] = link.UserUUID
		pending = append(pending, lightdash.OrgMember{UserUUID: link.UserUUID, Email: inv.Email, OrganizationUUID: link.OrganizationUUID, IsPending: true})
		s.Invited++
	}
	w.view.addUsers(pending)
	forEach(ctx, w.opts.Concurrency, p.Deletes, a.delete)
	forEach(ctx, w.opts.Concurrency, p.Updates, a.update)
	// Record every create's intent in one save before the first create:
	// if an answer is lost, the next run finds the group by name and
	// adopts it instead of creating a duplicate.
	if len(p.Creates) > 0 {
		a.intentErr = a.commit(ctx, func(st *State) {
			for _, c := range p.Creates {
				o := st.Groups[c.Key]
				if o != nil && o.Creating() && o.Name == c.Name {
					a.priorIntent[c.Key] = true
				}
				if o == nil || o.Creating() || (c.Replaces != "" && o.UUID == c.Replaces) {
					st.Groups[c.Key] = &OwnedGroup{Name: c.Name}
				}
			}
		})
	}
	forEach(ctx, w.opts.Concurrency, p.Creates, a.create)
	forEach(ctx, w.opts.Concurrency, p.Access, a.access)
	a.bookkeeping(ctx, p)
	if err := a.flush(ctx); err != nil {
		a.fail("", "state", "save", err)
	}
	return a.res, a.stale.Load()
}

func forEach[T any](ctx context.Context, n int, items []T, fn func(context.Context, T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(ctx, it)
		}()
	}
	wg.Wait()
}

func (a *applier) fail(key, name, op string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.res.Failures = append(a.res.Failures, Failure{Key: key, Name: name, Op: op, Error: err.Error(), err: err})
	if staleView(err) {
		a.stale.Store(true)
		a.w.view.invalidate()
	}
	a.w.m.failures.WithLabelValues(op).Inc()
	a.w.log.Warn("lightdash change failed", zap.String("op", op), zap.String("group", name), zap.String("key", key), zap.Error(err))
}

// saveEvery bounds how long a recorded change may wait in memory before
// the state is saved. Saving after every write cost a whole-state write
// (and fsync) per group: quadratic in a cold run over thousands of groups.
const saveEvery = time.Second

// commit changes the worker's state and saves it now, under the state
// lock: for what must be durable before a Lightdash call (create intents).
// Concurrent runs each change their own groups' entries and save the
// whole, so a save always carries every run's updates.
func (a *applier) commit(ctx context.Context, change func(st *State)) error {
	return a.change(ctx, change, true)
}

// record changes the worker's state after a Lightdash write. The save may
// wait up to saveEvery (flush saves at the end of every apply): if the
// process dies in between, the next run re-plans those groups from
// Lightdash itself, and created groups are adopted through their intents.
func (a *applier) record(ctx context.Context, change func(st *State)) error {
	return a.change(ctx, change, false)
}

func (a *applier) change(ctx context.Context, change func(st *State), durable bool) error {
	w := a.w
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	if w.state == nil {
		w.state = NewState()
	}
	change(w.state)
	w.stateDirty = true
	if !durable && time.Since(w.stateSaved) < saveEvery {
		return nil
	}
	return w.saveLocked(ctx)
}

// flush saves the state if a recorded change is not saved yet.
func (a *applier) flush(ctx context.Context) error {
	w := a.w
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	if !w.stateDirty || w.state == nil {
		return nil
	}
	return w.saveLocked(ctx)
}

func (w *Worker) saveLocked(ctx context.Context) error {
	// A save is worth finishing even when the run's context ended: it
	// records writes Lightdash already made.
	if err := w.store.Save(context.WithoutCancel(ctx), w.state); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	w.stateDirty, w.stateSaved = false, time.Now()
	return nil
}

// owns runs check on the worker's state under the state lock.
func (a *applier) owns(check func(st *State) bool) bool {
	w := a.w
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	if w.state == nil {
		w.state = NewState()
	}
	return check(w.state)
}

func (a *applier) delete(ctx context.Context, d DeleteGroup) {
	if !a.owns(func(st *State) bool { o := st.Groups[d.Key]; return o != nil && o.UUID == d.UUID }) {
		a.fail(d.Key, d.Name, "delete", errOwnership)
		return
	}
	at, err := a.reserve(ctx, 1, 0)
	switch {
	case errors.Is(err, errOverBudget):
		a.overBudget(d.Key, d.Name, "delete", 1)
		return
	case err != nil:
		a.fail(d.Key, d.Name, "delete", err)
		return
	}
	err = a.ld.DeleteGroup(ctx, d.UUID)
	if err != nil && !errors.Is(err, lightdash.ErrNotFound) {
		a.refundIfRefused(err, at, 1, 0)
		a.fail(d.Key, d.Name, "delete", err)
		return
	}
	a.w.view.dropGroup(d.UUID)
	if err := a.record(ctx, func(st *State) { delete(st.Groups, d.Key) }); err != nil {
		a.fail(d.Key, d.Name, "delete", err)
		return
	}
	a.count(func(s *Summary) { s.Deleted++ })
}

func (a *applier) inviteeUUIDs(emails []string) []string {
	var out []string
	for _, e := range emails {
		if u := a.invited[e]; u != "" {
			out = append(out, u)
		}
	}
	return out
}

func (a *applier) update(ctx context.Context, u UpdateGroup) {
	ok := a.owns(func(st *State) bool {
		cur := st.Groups[u.Key]
		if !u.Adopt {
			return cur != nil && cur.UUID == u.UUID
		}
		if cur != nil && !cur.Creating() {
			return false
		}
		if u.AdoptFrom != "" {
			from := st.Groups[u.AdoptFrom]
			return from != nil && from.UUID == u.UUID
		}
		return st.ownerOf(u.UUID) == ""
	})
	if !ok {
		a.fail(u.Key, u.Name, "update", errOwnership)
		return
	}
	var at time.Time
	if len(u.Remove) > 0 {
		var err error
		if at, err = a.reserve(ctx, 0, len(u.Remove)); err != nil { // only errOverBudget: removals are not saved first
			a.overBudget(u.Key, u.Name, "remove-members", len(u.Remove))
			u = u.withoutRemovals()
		}
	}
	inv := a.inviteeUUIDs(u.Invitees)
	mw, err := a.writeUpdate(ctx, u, inv)
	if err != nil {
		added, removed := u.membersWritten(mw, inv)
		a.refundIfRefused(err, at, 0, max(0, len(u.Remove)-removed))
		if mw.wrote {
			a.recordPartial(ctx, u, mw, inv)
		}
		if added+removed > 0 {
			a.count(func(s *Summary) { s.MembersAdded += added; s.MembersRemoved += removed })
			err = fmt.Errorf("stopped after %d members added and %d removed: %w", added, removed, err)
		}
		a.fail(u.Key, u.Name, "update", err)
		return
	}
	name, added := u.Name, u.Added
	if mw.last != nil {
		name = mw.last.Name
	}
	if u.membersChange(inv) {
		added = minus(applyDiff(u.Added, inv, nil), mw.dropped)
	}
	if err := a.recordUpdated(ctx, u, &OwnedGroup{UUID: u.UUID, Name: name, AddedMembers: a.w.keepAdded(added)}); err != nil {
		a.fail(u.Key, u.Name, "update", err)
		return
	}
	a.count(func(s *Summary) {
		if u.NewName != "" {
			s.Renamed++
		}
		if u.membersChange(inv) {
			s.Updated++
		}
		if u.Adopt {
			s.Adopted++
		}
		s.MembersAdded += len(u.Add) + len(inv) - len(mw.dropped)
		s.MembersRemoved += len(u.Remove)
	})
}

// recordUpdated records o as the state of u's group after its write. A
// write that leaves the entry as it was (a membership change in
// authoritative mode records no members) changes nothing to save: saving
// the whole state after every such event cost more than the event.
func (a *applier) recordUpdated(ctx context.Context, u UpdateGroup, o *OwnedGroup) error {
	if u.AdoptFrom == "" && a.owns(func(st *State) bool {
		o.Granted = keptGrants(st, u)
		return o.same(st.Groups[u.Key])
	}) {
		return nil
	}
	return a.record(ctx, func(st *State) {
		o.Granted = keptGrants(st, u)
		if u.AdoptFrom != "" {
			delete(st.Groups, u.AdoptFrom)
		}
		st.Groups[u.Key] = o
	})
}

// membersWritten is how many members mw added to and removed from the
// group, as far as the answers showed: what a change that stopped midway did.
func (u UpdateGroup) membersWritten(mw *memberWrite, inv []string) (added, removed int) {
	if !u.membersChange(inv) {
		return 0, 0
	}
	from := applyDiff(u.Members, u.Remove, u.Add)
	return len(minus(mw.cur, from)), len(minus(from, mw.cur))
}

// membersChange reports whether u changes the group's members.
func (u UpdateGroup) membersChange(inv []string) bool {
	return len(u.Add) > 0 || len(u.Remove) > 0 || len(inv) > 0
}

// writeUpdate makes u's writes: the rename, and the member change from
// the members the plan saw to u.Members and the invitees.
func (a *applier) writeUpdate(ctx context.Context, u UpdateGroup, inv []string) (*memberWrite, error) {
	mw := &memberWrite{uuid: u.UUID}
	if u.NewName != "" {
		mw.name = &u.NewName
	}
	if u.membersChange(inv) {
		mw.want = applyDiff(u.Members, inv, nil)
		mw.cur = applyDiff(u.Members, u.Remove, u.Add)
	}
	if !u.Writes() {
		return mw, nil
	}
	if err := a.writeMembers(ctx, mw); err != nil {
		return mw, err
	}
	if u.membersChange(inv) {
		a.putMembers(mw)
	} else if mw.last != nil {
		a.w.view.putGroup(*mw.last, nil)
	}
	return mw, nil
}

// putMembers tells the view what mw left in the group.
func (a *applier) putMembers(mw *memberWrite) {
	if mw.last == nil {
		a.w.view.putMembers(mw.uuid, mw.cur)
		return
	}
	g := *mw.last
	g.MemberUUIDs = mw.cur
	a.w.view.putGroup(g, mw.cur)
}

// recordPartial records, after a member change failed midway, the owned
// members the writes so far left in the group, so the next run completes
// the change from there.
func (a *applier) recordPartial(ctx context.Context, u UpdateGroup, mw *memberWrite, inv []string) {
	a.w.view.invalidate()
	_ = a.record(ctx, func(st *State) {
		var old []string
		if o := st.Groups[u.Key]; o != nil && o.UUID == u.UUID {
			old = o.AddedMembers
		}
		granted := keptGrants(st, u)
		if u.AdoptFrom != "" {
			delete(st.Groups, u.AdoptFrom)
		}
		name := u.Name
		if mw.last != nil {
			name = mw.last.Name
		}
		added := intersect(mw.cur, union(sortedUnique(old), applyDiff(u.Added, inv, nil)))
		st.Groups[u.Key] = &OwnedGroup{UUID: u.UUID, Name: name, AddedMembers: a.w.keepAdded(added), Granted: granted}
	})
}

// keptGrants is what the state records as granted to u's group (under its
// key, or the key it is adopted from): a change of the group's members or
// name keeps the record, which preserve-manual revokes from.
func keptGrants(st *State, u UpdateGroup) []string {
	for _, k := range []string{u.Key, u.AdoptFrom} {
		if o := st.Groups[k]; k != "" && o != nil && o.UUID == u.UUID {
			return o.Granted
		}
	}
	return nil
}

func (a *applier) create(ctx context.Context, c CreateGroup) {
	if !a.owns(func(st *State) bool {
		o := st.Groups[c.Key]
		return o == nil || o.Creating() || (c.Replaces != "" && o.UUID == c.Replaces)
	}) {
		a.fail(c.Key, c.Name, "create", errOwnership)
		return
	}
	if a.intentErr != nil {
		a.fail(c.Key, c.Name, "create", a.intentErr)
		return
	}
	members := applyDiff(c.Members, a.inviteeUUIDs(c.Invitees), nil)
	g, err := a.ld.CreateGroup(ctx, c.Name, head(members, lightdash.MaxMembersPerInsert))
	if err == nil && g == nil {
		err = errors.New("empty answer")
	}
	var got lightdash.GroupWithMembers
	want := members
	switch {
	case err == nil:
		got = g.GroupWithMembers
		if len(g.DroppedMembers) > 0 {
			want = minus(members, sortedUnique(g.DroppedMembers))
			// The cached users named someone Lightdash no longer has.
			a.w.view.invalidate()
			a.w.log.Warn("lightdash dropped unknown members from a new group", zap.String("group", c.Name), zap.Strings("members", g.DroppedMembers))
		}
	case errors.Is(err, lightdash.ErrAlreadyExists) && (a.adopt || a.priorIntent[c.Key] || c.Replaces != ""):
		// The name is taken. Take the group only if the policy adopts, if
		// an earlier attempt of this create, whose outcome is unknown, may
		// have made it, or if it is the owned group the plan took for gone.
		only := ""
		if !a.adopt && !a.priorIntent[c.Key] {
			only = c.Replaces
		}
		adopted, aerr := a.adoptCreated(ctx, c, only)
		if aerr != nil {
			if !a.priorIntent[c.Key] {
				a.dropIntent(ctx, c.Key) // this run made nothing
			}
			a.fail(c.Key, c.Name, "create", fmt.Errorf("%w; adopting the existing group: %w", err, aerr))
			return
		}
		got = *adopted
	default:
		var ae *lightdash.APIError
		if errors.As(err, &ae) && ae.StatusCode < 500 {
			a.dropIntent(ctx, c.Key) // refused outright: nothing was created
		}
		if errors.Is(err, lightdash.ErrAlreadyExists) {
			err = fmt.Errorf("%w: a group with this name was made outside lightdash-sync since the groups were read; it is left alone (adopt: true takes it over)", err)
		}
		a.fail(c.Key, c.Name, "create", err)
		return
	}
	a.finishCreate(ctx, c, got, members, want)
}

// finishCreate records a created (or adopted) group, then adds the wanted
// members it lacks: those one create could not carry
// (lightdash.MaxMembersPerInsert) or an adopted group did not have. The
// group is recorded as owned first, so a fill that fails midway leaves it
// for the next run to complete, never to create again.
func (a *applier) finishCreate(ctx context.Context, c CreateGroup, got lightdash.GroupWithMembers, members, want []string) {
	a.w.view.putGroup(got, members)
	cur := sortedUnique(got.MemberUUIDs)
	if !a.recordCreated(ctx, c, got, cur, members) {
		return
	}
	var fillErr error
	if missing := minus(want, cur); len(missing) > 0 {
		mw := &memberWrite{uuid: got.UUID, cur: cur, want: union(cur, missing)}
		fillErr = a.writeMembers(ctx, mw)
		a.putMembers(mw)
		if cur = mw.cur; !a.recordCreated(ctx, c, got, cur, members) {
			return
		}
	}
	a.count(func(s *Summary) { s.Created++; s.MembersAdded += len(intersect(cur, members)) })
	if fillErr != nil {
		a.w.view.invalidate()
		a.fail(c.Key, c.Name, "create", fmt.Errorf("group %s created with %d of its %d members; adding the rest: %w",
			got.UUID, len(intersect(cur, want)), len(want), fillErr))
	}
}

// recordCreated records got as the group of c's key, owning the members
// of cur it was asked for.
func (a *applier) recordCreated(ctx context.Context, c CreateGroup, got lightdash.GroupWithMembers, cur, members []string) bool {
	err := a.record(ctx, func(st *State) {
		st.Groups[c.Key] = &OwnedGroup{UUID: got.UUID, Name: got.Name, AddedMembers: a.w.keepAdded(intersect(cur, members))}
	})
	if err != nil {
		a.fail(c.Key, c.Name, "create", err)
	}
	return err == nil
}

// dropIntent forgets the intent of a create that made nothing, so no later
// run adopts a same-named group on its strength.
func (a *applier) dropIntent(ctx context.Context, key string) {
	_ = a.record(ctx, func(st *State) {
		if o := st.Groups[key]; o != nil && o.Creating() {
			delete(st.Groups, key)
		}
	})
}

// adoptCreated finds the group a 409 says exists (the group with uuid only,
// when set); finishCreate adds the wanted members. None is removed: the
// next plan does, under the membership mode and the safety limits.
func (a *applier) adoptCreated(ctx context.Context, c CreateGroup, only string) (*lightdash.GroupWithMembers, error) {
	groups, err := a.ld.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	for i := range groups {
		g := &groups[i]
		if g.Name != c.Name {
			continue
		}
		if only != "" && g.UUID != only {
			return nil, fmt.Errorf("group %s is not the group %s owned before; set adopt: true to take it over", g.UUID, only)
		}
		if !a.adopt && only == "" && !madeBy(g, a.w.self.get(ctx, a.ld, a.w.log)) {
			return nil, fmt.Errorf("group %s was made by user %q, not by this token's user; it is left alone (adopt: true takes it over)", g.UUID, g.CreatedByUserUUID)
		}
		if !a.owns(func(st *State) bool { return st.ownerOf(g.UUID) == "" }) {
			return nil, fmt.Errorf("group %s is owned for another key", g.UUID)
		}
		return g, nil
	}
	return nil, errors.New("no group with this name is listed")
}

func (a *applier) count(f func(*Summary)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.res.Summary)
}

// bookkeeping records absence counters, reappearances and forgotten
// groups; none needs a Lightdash call.
func (a *applier) bookkeeping(ctx context.Context, p *Plan) {
	if len(p.Absent) == 0 && len(p.Reappeared) == 0 && len(p.Forgets) == 0 {
		return
	}
	err := a.record(ctx, func(st *State) {
		for _, f := range p.Forgets {
			delete(st.Groups, f.Key)
		}
		for _, ab := range p.Absent {
			if o := st.Groups[ab.Key]; o != nil {
				since := ab.Since
				o.AbsentSince, o.AbsentReads = &since, ab.Reads
			}
		}
		for _, k := range p.Reappeared {
			if o := st.Groups[k]; o != nil {
				o.AbsentSince, o.AbsentReads = nil, 0
			}
		}
	})
	if err != nil {
		a.fail("", "state", "bookkeeping", err)
	}
}
