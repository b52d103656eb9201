package worker

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// Current is what Lightdash holds: one users call and one
// groups-with-members call.
type Current struct {
	Users  []lightdash.OrgMember
	Groups []lightdash.GroupWithMembers
	// Self is the token's user uuid, set when an interrupted create's name
	// is listed (withSelf): only a group this user made is adopted on the
	// strength of the create's intent.
	Self string
	// Access is the group access read in a full run when the mapping
	// grants any; nil plans no access change.
	Access *AccessCurrent
	// ids indexes Users by email when the cached view already has the
	// index; ComputePlan builds it otherwise.
	ids *identities
}

// identities returns the index of the users by email.
func (c Current) identities() *identities {
	if c.ids != nil {
		return c.ids
	}
	return newIdentities(c.Users)
}

// ComputePlan is the pure heart of the worker: from what the directory
// wants, what Lightdash holds and what the worker owns, it decides every
// change and says why. It does no I/O and does not modify its arguments.
//
// The order of the phases matters: the safety limits count every deletion
// and removal, and renames come last because a rename may use the name of
// a group deleted in the same run (Apply deletes before it updates).
func ComputePlan(d *Desired, cur Current, st *State, opts PlanOptions, now time.Time) *Plan {
	pl := newPlanner(d, cur, st, opts, now)
	for _, dg := range pl.d.Groups {
		if !pl.held[dg.Key] {
			pl.desire(dg)
		}
	}
	pl.guardRemovals()
	pl.deletions()
	pl.access(cur.Access)
	pl.limit()
	pl.renames()
	pl.assemble()
	return pl.p
}

// planner is one ComputePlan: its inputs, indexes of them, and the plan
// the phases build.
type planner struct {
	d    *Desired
	st   *State
	opts PlanOptions
	now  time.Time
	p    *Plan

	self    string // Current.Self
	idx     *groupIndex
	held    map[string]bool // keys with a blocking problem: left alone
	desired map[string]bool // keys of the desired groups
	ids     *identities

	cands         []*candidate
	moving        map[string]bool // retired keys whose group moves (now or after the grace) to another key
	deletes       []DeleteGroup
	deleteAbsent  []AbsentGroup // for each of deletes, its absence should the limits hold it back
	accessChanges []AccessChangeItem

	unmatched      map[string]*UnmatchedUser
	unmatchedOrder []string
	inviteFor      map[string]Member
}

func newPlanner(d *Desired, cur Current, st *State, opts PlanOptions, now time.Time) *planner {
	if st == nil {
		st = NewState()
	}
	if d == nil {
		d = &Desired{}
	}
	opts = opts.withDefaults()
	pl := &planner{d: d, st: st, opts: opts, now: now, self: cur.Self,
		p: &Plan{Format: PlanFormat, ComputedAt: now, Options: opts, Partial: d.Partial,
			Problems: append([]Problem(nil), d.Problems...)},
		idx:  &groupIndex{groups: cur.Groups, st: st},
		held: map[string]bool{}, desired: make(map[string]bool, len(d.Groups)),
		ids: cur.identities(), moving: map[string]bool{},
		unmatched: map[string]*UnmatchedUser{}, inviteFor: map[string]Member{}}
	for _, pr := range d.Problems {
		if pr.Blocking && pr.Key != "" {
			pl.held[pr.Key] = true
		}
	}
	for _, dg := range d.Groups {
		pl.desired[dg.Key] = true
	}
	return pl
}

// desire decides what becomes of one desired group: an update of the
// group it owns, the adoption of a group an interrupted create made under
// the group's old name, or whatever claim decides.
func (pl *planner) desire(dg DesiredGroup) {
	c := pl.resolve(dg)
	owned := pl.st.Groups[dg.Key]
	if owned != nil && !owned.Creating() {
		if g := pl.idx.group(owned.UUID); g != nil {
			if owned.AbsentSince != nil || owned.AbsentReads > 0 {
				pl.p.Reappeared = append(pl.p.Reappeared, dg.Key)
			}
			if pl.opts.mayUpdate() {
				pl.update(c, g, UpdateGroup{Reason: "owned group differs from the directory"}, owned.AddedMembers)
				if g.Name != dg.Name {
					c.renameTo = dg.Name
				}
			}
			return
		}
	}
	// A create in flight under the group's old name: if Lightdash made
	// it, adopt it and rename it, rather than leave it orphaned.
	if owned != nil && owned.Creating() && owned.Name != dg.Name && pl.opts.mayUpdate() {
		if t := pl.idx.named(owned.Name); t != nil && pl.idx.owner(t.UUID) == "" && madeBy(t, pl.self) {
			pl.update(c, t, UpdateGroup{Adopt: true, Reason: "created by an interrupted run under its old name; adopted"}, t.MemberUUIDs)
			c.renameTo = dg.Name
			return
		}
	}
	pl.claim(c, owned)
}

// resolve starts the candidate for dg: the Lightdash uuids of its members,
// sorted and unique, and the emails to invite. Members with no uuid are
// recorded as unmatched.
func (pl *planner) resolve(dg DesiredGroup) *candidate {
	c := &candidate{dg: dg}
	want := make([]string, 0, len(dg.Members))
	var invSet map[string]bool
	for i := range dg.Members {
		m := &dg.Members[i]
		r := pl.ids.resolve(m.DirUser, pl.opts.Unmatched)
		if r.uuid != "" {
			want = append(want, r.uuid)
			continue
		}
		pl.unmatch(m, r, dg.Name)
		if r.invite != "" && !invSet[r.invite] {
			if invSet == nil {
				invSet = map[string]bool{}
			}
			invSet[r.invite] = true
			c.invitees = append(c.invitees, r.invite)
			pl.inviteFor[r.invite] = *m
		}
	}
	slices.Sort(want)
	c.want = slices.Compact(want)
	sort.Strings(c.invitees)
	return c
}

// unmatch records member m of group as unmatched, once per user.
func (pl *planner) unmatch(m *Member, r resolution, group string) {
	uk := m.Source + "\x00" + m.ID
	u := pl.unmatched[uk]
	if u == nil {
		u = &UnmatchedUser{Source: m.Source, UserID: m.ID, Email: m.Email, Reason: r.reason, InvalidEmail: r.refused}
		pl.unmatched[uk] = u
		pl.unmatchedOrder = append(pl.unmatchedOrder, uk)
	}
	u.Groups = append(u.Groups, group)
}

// claim decides a desired group that has no live owned group, by the
// Lightdash group holding its name: none (create), one owned for another
// key (takeOver), one an interrupted create made, or an unowned one
// (adopted only when the policy says so).
func (pl *planner) claim(c *candidate, owned *OwnedGroup) {
	dg := c.dg
	t := pl.idx.named(dg.Name)
	switch {
	case t == nil:
		pl.create(c, owned)
	case pl.idx.owner(t.UUID) != "":
		pl.takeOver(c, t, pl.idx.owner(t.UUID))
	case owned != nil && owned.Creating() && owned.Name == dg.Name && madeBy(t, pl.self):
		// Lightdash created it but the answer was lost: it is ours, with
		// the members sent at creation.
		u := UpdateGroup{Adopt: true, Reason: "created by an interrupted run; adopted"}
		if pl.opts.mayUpdate() {
			pl.update(c, t, u, t.MemberUUIDs)
			return
		}
		u.Added = append([]string(nil), t.MemberUUIDs...)
		pl.keep(c, t, u)
	case pl.opts.mayAdopt():
		pl.update(c, t, UpdateGroup{Adopt: true, Reason: "existing unowned group adopted (adopt: true)"}, nil)
	case pl.opts.mayUpdate():
		pl.conflict(c, t, "a Lightdash group with this name exists and is not owned by lightdash-sync; set adopt: true to take it over, or change the mapping")
	default:
		pl.conflict(c, t, "a Lightdash group with this name exists and is not owned; create-only never adopts")
	}
}

// create plans the creation of c's group, saying why it does not exist.
func (pl *planner) create(c *candidate, owned *OwnedGroup) {
	reason, replaces := "new directory group", ""
	if owned != nil && owned.Creating() {
		reason = "an earlier create was not confirmed and no group has this name; creating"
	} else if owned != nil {
		reason = fmt.Sprintf("owned group %s no longer exists in Lightdash; recreating", owned.UUID)
		replaces = owned.UUID
	}
	dg := c.dg
	c.create = &CreateGroup{Key: dg.Key, Name: dg.Name, Members: c.want, From: dg.From, Replaces: replaces, Reason: reason}
	pl.cands = append(pl.cands, c)
}

// takeOver moves group t, owned for key from, to c's key. Ownership moves
// only when from is no longer wanted, on a full and complete read, under a
// policy that updates, and once from has been absent as long as a
// deletion would wait; otherwise the name is a conflict.
func (pl *planner) takeOver(c *candidate, t *lightdash.GroupWithMembers, from string) {
	why := ""
	switch {
	case pl.desired[from] || pl.held[from]:
		why = "retried on the next run"
	case pl.d.Partial:
		why = "ownership moves on a full run"
	case !pl.opts.mayUpdate():
		why = "create-only does not move ownership"
	case !pl.d.Complete:
		why = fmt.Sprintf("ownership does not move on an incomplete read (%s)", pl.d.IncompleteReason)
	default:
		pl.moving[from] = true
		if ab := absenceOf(from, pl.st.Groups[from], pl.now); !pl.opts.Limits.graceOver(ab) {
			pl.p.Absent = append(pl.p.Absent, ab.waiting(pl.opts.Limits, "its group moves to "+c.dg.Key))
			why = fmt.Sprintf("ownership moves once %s has been absent for the deletion grace period", from)
		}
	}
	if why != "" {
		pl.conflict(c, t, fmt.Sprintf("name is used by the group owned for %s; %s", from, why))
		return
	}
	pl.update(c, t, UpdateGroup{Adopt: true, AdoptFrom: from,
		Reason: fmt.Sprintf("taken over from %s, which no longer maps to it", from)}, pl.st.Groups[from].AddedMembers)
}

// update makes c update u of group g, with the member changes the
// membership mode allows given the members the worker added before.
func (pl *planner) update(c *candidate, g *lightdash.GroupWithMembers, u UpdateGroup, prevAdded []string) {
	pl.keep(c, g, u)
	c.diff(prevAdded, pl.opts.mayRemoveManual())
}

// keep makes c update u of group g, as it is.
func (pl *planner) keep(c *candidate, g *lightdash.GroupWithMembers, u UpdateGroup) {
	u.Key, u.UUID, u.Name = c.dg.Key, g.UUID, g.Name
	c.upd, c.cur = &u, g.MemberUUIDs
	pl.cands = append(pl.cands, c)
}

// conflict reports that c's name is held by group t.
func (pl *planner) conflict(c *candidate, t *lightdash.GroupWithMembers, reason string) {
	pl.p.Conflicts = append(pl.p.Conflicts, Conflict{Key: c.dg.Key, Name: c.dg.Name, UUID: t.UUID, Reason: reason})
}

// guardRemovals drops member removals that are unsafe: all of them on an
// incomplete read (held back and reported), and on a partial read those
// of groups that other directory groups also feed (the next full run
// decides).
func (pl *planner) guardRemovals() {
	for _, c := range pl.cands {
		if c.upd == nil || len(c.upd.Remove) == 0 {
			continue
		}
		switch {
		case !pl.d.Complete:
			pl.p.HeldBack = append(pl.p.HeldBack, HeldBack{Key: c.dg.Key, UUID: c.upd.UUID, Name: c.dg.Name, Kind: "remove-members",
				Members: c.upd.Remove, Reason: "directory read incomplete: " + pl.d.IncompleteReason})
			c.dropRemovals()
		case pl.d.Partial && !strings.HasPrefix(c.dg.Key, "group:"):
			c.dropRemovals()
		}
	}
}

// deletions decides the owned groups no longer wanted, in key order. A
// partial plan deletes nothing: the groups it did not read are not absent.
func (pl *planner) deletions() {
	if pl.d.Partial {
		return
	}
	for _, k := range sortedKeys(pl.st.Groups) {
		if !pl.desired[k] && !pl.held[k] && !pl.moving[k] {
			pl.retire(k, pl.st.Groups[k])
		}
	}
}

// retire decides one owned group no longer wanted: forget an entry whose
// group does not exist, and delete a group under a policy that deletes,
// on a complete read, once its absence has lasted the grace period.
func (pl *planner) retire(k string, o *OwnedGroup) {
	g := pl.idx.group(o.UUID)
	switch {
	case o.Creating():
		pl.p.Forgets = append(pl.p.Forgets, ForgetGroup{Key: k, Reason: fmt.Sprintf("create of %q was never confirmed and the group is no longer wanted", o.Name)})
		return
	case g == nil:
		pl.p.Forgets = append(pl.p.Forgets, ForgetGroup{Key: k, Reason: fmt.Sprintf("group %q (%s) was deleted outside lightdash-sync", o.Name, o.UUID)})
		return
	case !pl.opts.mayDelete():
		return
	case !pl.d.Complete:
		pl.p.HeldBack = append(pl.p.HeldBack, HeldBack{Key: k, UUID: g.UUID, Name: g.Name, Kind: "delete",
			Reason: "directory read incomplete: " + pl.d.IncompleteReason})
		return
	}
	ab := absenceOf(k, o, pl.now)
	if !pl.opts.Limits.graceOver(ab) {
		pl.p.Absent = append(pl.p.Absent, ab.waiting(pl.opts.Limits, "deleted"))
		return
	}
	pl.deletes = append(pl.deletes, DeleteGroup{Key: k, UUID: g.UUID, Name: g.Name,
		Reason: fmt.Sprintf("directory group gone for %s and %d complete reads", ab.waited.Round(time.Second), ab.Reads)})
	ab.Reason = "deletion held back"
	pl.deleteAbsent = append(pl.deleteAbsent, ab.AbsentGroup)
}

// renames gives the updates their new names, unless another group holds
// the name. A group deleted in this run frees its name.
func (pl *planner) renames() {
	freed := map[string]bool{}
	for _, dl := range pl.p.Deletes {
		freed[dl.UUID] = true
	}
	for _, c := range pl.cands {
		if c.upd == nil || c.renameTo == "" {
			continue
		}
		if t := pl.idx.named(c.renameTo); t != nil && t.UUID != c.upd.UUID && !freed[t.UUID] {
			who := "a group lightdash-sync does not own"
			if k := pl.idx.owner(t.UUID); k != "" {
				who = "the group owned for " + k
			}
			pl.p.Conflicts = append(pl.p.Conflicts, Conflict{Key: c.dg.Key, Name: c.renameTo, UUID: c.upd.UUID,
				Reason: fmt.Sprintf("cannot rename %q: the name is used by %s; retried on the next run", c.upd.Name, who)})
			continue
		}
		c.upd.NewName = c.renameTo
	}
}

// assemble puts the candidates into the plan, then the invites (only for
// groups that are written) and the unmatched users.
func (pl *planner) assemble() {
	invited := map[string][]string{}
	for _, c := range pl.cands {
		if !pl.emit(c) {
			continue
		}
		for _, e := range c.invitees {
			invited[e] = append(invited[e], c.dg.Key)
		}
	}
	for _, e := range sortedKeys(invited) {
		m := pl.inviteFor[e]
		pl.p.Invites = append(pl.p.Invites, Invite{Email: e, Source: m.Source, UserID: m.ID, Groups: invited[e]})
	}
	for _, uk := range pl.unmatchedOrder {
		pl.p.Unmatched = append(pl.p.Unmatched, *pl.unmatched[uk])
	}
	pl.p.Access = pl.accessChanges
}

// emit adds c's create or update to the plan with its invitees, unless it
// is an update that neither writes nor adopts, and reports whether it did.
func (pl *planner) emit(c *candidate) bool {
	switch {
	case c.create != nil:
		c.create.Invitees = c.invitees
		pl.p.Creates = append(pl.p.Creates, *c.create)
		return true
	case c.upd != nil:
		c.upd.Invitees = c.invitees
		if len(c.upd.Add) > 0 || len(c.upd.Remove) > 0 || len(c.upd.Invitees) > 0 {
			c.upd.Members = c.members()
		}
		if !c.upd.Writes() && !c.upd.Adopt {
			return false
		}
		c.upd.Reason += changeDetail(c.upd)
		pl.p.Updates = append(pl.p.Updates, *c.upd)
		return true
	}
	return false
}

// absence is an owned group's absence from the directory, counting the
// complete read being planned.
type absence struct {
	AbsentGroup
	waited time.Duration
}

func absenceOf(key string, o *OwnedGroup, now time.Time) absence {
	since := now
	if o.AbsentSince != nil {
		since = *o.AbsentSince
	}
	return absence{AbsentGroup: AbsentGroup{Key: key, Since: since, Reads: o.AbsentReads + 1}, waited: now.Sub(since)}
}

// waiting is the absence to record while the grace period runs; then
// says what happens after it.
func (ab absence) waiting(l Limits, then string) AbsentGroup {
	ab.Reason = fmt.Sprintf("absent from the directory for %s and %d complete reads; %s after %s and %d reads",
		ab.waited.Round(time.Second), ab.Reads, then, l.DeleteGracePeriod, l.DeleteAfterReads)
	return ab.AbsentGroup
}

// limit checks the run's deletions and removals, with what was spent in
// the window before, against the safety limits. Over them, it holds every
// deletion and removal back and blocks the plan; otherwise, or when the
// limits are overridden, the deletions go ahead.
func (pl *planner) limit() {
	if !pl.opts.enforcesLimits() {
		pl.p.Deletes = pl.deletes
		return
	}
	p, l := pl.p, pl.opts.Limits
	removals := pl.revokes()
	for _, c := range pl.cands {
		if c.upd != nil {
			removals += len(c.upd.Remove)
		}
	}
	if pl.d.Partial && removals == 0 && len(pl.deletes) == 0 {
		// An event's plan that spends nothing needs no budget, and
		// counting what is owned is a pass over every owned group.
		return
	}
	spent := pl.st.spentWithin(pl.now, l.LimitWindow)
	owned, memberships := pl.ownedSize()
	if b := l.budget(owned, memberships, spent); b.Deletes >= 0 || b.Removals >= 0 {
		p.Budget = &b
	}
	why := l.exceeded(spent, len(pl.deletes), owned, removals, memberships)
	if why == "" {
		p.Deletes = pl.deletes
		return
	}
	p.Blocked = true
	p.BlockedReason = why + "; additions still apply; re-run with the override to apply the held-back changes"
	pl.holdRevokes(why)
	for i, dl := range pl.deletes {
		p.HeldBack = append(p.HeldBack, HeldBack{Key: dl.Key, UUID: dl.UUID, Name: dl.Name, Kind: "delete", Reason: why})
		p.Absent = append(p.Absent, pl.deleteAbsent[i])
	}
	for _, c := range pl.cands {
		if c.upd != nil && len(c.upd.Remove) > 0 {
			p.HeldBack = append(p.HeldBack, HeldBack{Key: c.dg.Key, UUID: c.upd.UUID, Name: c.dg.Name, Kind: "remove-members",
				Members: c.upd.Remove, Reason: why})
			c.dropRemovals()
		}
	}
}

// ownedSize counts the owned groups that exist in Lightdash and their
// memberships: what the limits' percentages are of.
func (pl *planner) ownedSize() (groups, memberships int) {
	for _, o := range pl.st.Groups {
		if g := pl.idx.group(o.UUID); g != nil {
			groups++
			memberships += len(g.MemberUUIDs)
		}
	}
	return groups, memberships
}
