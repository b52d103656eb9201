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
// The order of decisions matters: first every desired group (update an
// owned group, create, adopt, take over from a retired key, or conflict),
// then deletions of owned groups no longer wanted (grace periods), then the
// safety limits over all deletions and removals, and last the renames,
// because a rename may use the name of a group deleted in the same run
// (Apply deletes before it updates).
func ComputePlan(d *Desired, cur Current, st *State, opts PlanOptions, now time.Time) *Plan {
	opts = opts.withDefaults()
	if st == nil {
		st = NewState()
	}
	if d == nil {
		d = &Desired{}
	}
	p := &Plan{Format: PlanFormat, ComputedAt: now, Options: opts, Partial: d.Partial,
		Problems: append([]Problem(nil), d.Problems...)}

	byUUID := make(map[string]*lightdash.GroupWithMembers, len(cur.Groups))
	byName := make(map[string]*lightdash.GroupWithMembers, len(cur.Groups))
	for i := range cur.Groups {
		g := &cur.Groups[i]
		byUUID[g.UUID] = g
		byName[lightdash.TrimName(g.Name)] = g
	}
	held := map[string]bool{}
	for _, pr := range d.Problems {
		if pr.Blocking && pr.Key != "" {
			held[pr.Key] = true
		}
	}
	ownerOf := make(map[string]string, len(st.Groups)) // Lightdash uuid → owning key (the least, if several)
	for k, o := range st.Groups {
		if u := o.UUID; u != "" && (ownerOf[u] == "" || k < ownerOf[u]) {
			ownerOf[u] = k
		}
	}
	desiredKeys := make(map[string]bool, len(d.Groups))
	for _, dg := range d.Groups {
		desiredKeys[dg.Key] = true
	}
	ids := cur.identities()
	unmatched := map[string]*UnmatchedUser{}
	var unmatchedOrder []string
	inviteFor := map[string]Member{}

	// Phase A: every desired group.
	var cands []*candidate
	moving := map[string]bool{} // retired keys whose group moves (now or after the grace) to another key
	for _, dg := range d.Groups {
		if held[dg.Key] {
			continue
		}
		c := &candidate{dg: dg}
		want := make([]string, 0, len(dg.Members))
		var invSet map[string]bool
		for i := range dg.Members {
			m := &dg.Members[i]
			r := ids.resolve(m.DirUser, opts.Unmatched)
			if r.uuid != "" {
				want = append(want, r.uuid)
				continue
			}
			uk := m.Source + "\x00" + m.ID
			u := unmatched[uk]
			if u == nil {
				u = &UnmatchedUser{Source: m.Source, UserID: m.ID, Email: m.Email, Reason: r.reason, InvalidEmail: r.refused}
				unmatched[uk] = u
				unmatchedOrder = append(unmatchedOrder, uk)
			}
			u.Groups = append(u.Groups, dg.Name)
			if r.invite != "" && !invSet[r.invite] {
				if invSet == nil {
					invSet = map[string]bool{}
				}
				invSet[r.invite] = true
				c.invitees = append(c.invitees, r.invite)
				inviteFor[r.invite] = *m
			}
		}
		slices.Sort(want)
		c.want = slices.Compact(want)
		sort.Strings(c.invitees)
		owned := st.Groups[dg.Key]

		if owned != nil && !owned.Creating() {
			if g := byUUID[owned.UUID]; g != nil {
				if owned.AbsentSince != nil || owned.AbsentReads > 0 {
					p.Reappeared = append(p.Reappeared, dg.Key)
				}
				if !opts.mayUpdate() {
					continue
				}
				c.upd = &UpdateGroup{Key: dg.Key, UUID: g.UUID, Name: g.Name, Reason: "owned group differs from the directory"}
				c.cur = g.MemberUUIDs
				c.diff(owned.AddedMembers, opts.mayRemoveManual())
				if g.Name != dg.Name {
					c.renameTo = dg.Name
				}
				cands = append(cands, c)
				continue
			}
		}
		// A create in flight under the group's old name: if Lightdash made
		// it, adopt it and rename it, rather than leave it orphaned.
		if owned != nil && owned.Creating() && owned.Name != dg.Name && opts.mayUpdate() {
			if t := byName[owned.Name]; t != nil && ownerOf[t.UUID] == "" {
				c.upd = &UpdateGroup{Key: dg.Key, UUID: t.UUID, Name: t.Name, Adopt: true,
					Reason: "created by an interrupted run under its old name; adopted"}
				c.cur = t.MemberUUIDs
				c.diff(t.MemberUUIDs, opts.mayRemoveManual())
				c.renameTo = dg.Name
				cands = append(cands, c)
				continue
			}
		}
		// Not owned (or owned but gone from Lightdash, or a create in flight).
		t := byName[dg.Name]
		switch {
		case t == nil:
			reason, replaces := "new directory group", ""
			if owned != nil && owned.Creating() {
				reason = "an earlier create was not confirmed and no group has this name; creating"
			} else if owned != nil {
				reason = fmt.Sprintf("owned group %s no longer exists in Lightdash; recreating", owned.UUID)
				replaces = owned.UUID
			}
			c.create = &CreateGroup{Key: dg.Key, Name: dg.Name, Members: c.want, From: dg.From, Replaces: replaces, Reason: reason}
			cands = append(cands, c)
		case ownerOf[t.UUID] != "":
			k2 := ownerOf[t.UUID]
			switch {
			case desiredKeys[k2] || held[k2]:
				p.Conflicts = append(p.Conflicts, Conflict{Key: dg.Key, Name: dg.Name, UUID: t.UUID,
					Reason: fmt.Sprintf("name is used by the group owned for %s; retried on the next run", k2)})
			case d.Partial:
				p.Conflicts = append(p.Conflicts, Conflict{Key: dg.Key, Name: dg.Name, UUID: t.UUID,
					Reason: fmt.Sprintf("name is used by the group owned for %s; ownership moves on a full run", k2)})
			case !opts.mayUpdate():
				p.Conflicts = append(p.Conflicts, Conflict{Key: dg.Key, Name: dg.Name, UUID: t.UUID,
					Reason: fmt.Sprintf("name is used by the group owned for %s; create-only does not move ownership", k2)})
			case !d.Complete:
				p.Conflicts = append(p.Conflicts, Conflict{Key: dg.Key, Name: dg.Name, UUID: t.UUID,
					Reason: fmt.Sprintf("name is used by the group owned for %s; ownership does not move on an incomplete read (%s)", k2, d.IncompleteReason)})
			default:
				moving[k2] = true
				// The old key must be gone as long as before a deletion.
				if ab := absenceOf(k2, st.Groups[k2], now); !opts.Limits.graceOver(ab) {
					ab.Reason = fmt.Sprintf("absent from the directory for %s and %d complete reads; its group moves to %s after %s and %d reads",
						ab.waited.Round(time.Second), ab.Reads, dg.Key, opts.Limits.AbsentGrace, opts.Limits.AbsentReads)
					p.Absent = append(p.Absent, ab.AbsentGroup)
					p.Conflicts = append(p.Conflicts, Conflict{Key: dg.Key, Name: dg.Name, UUID: t.UUID,
						Reason: fmt.Sprintf("name is used by the group owned for %s; ownership moves once %s has been absent for the deletion grace period", k2, k2)})
					break
				}
				c.upd = &UpdateGroup{Key: dg.Key, UUID: t.UUID, Name: t.Name, Adopt: true, AdoptFrom: k2,
					Reason: fmt.Sprintf("taken over from %s, which no longer maps to it", k2)}
				c.cur = t.MemberUUIDs
				c.diff(st.Groups[k2].AddedMembers, opts.mayRemoveManual())
				cands = append(cands, c)
			}
		case owned != nil && owned.Creating() && owned.Name == dg.Name:
			// Lightdash created it but the answer was lost: it is ours, with
			// the members sent at creation.
			c.upd = &UpdateGroup{Key: dg.Key, UUID: t.UUID, Name: t.Name, Adopt: true,
				Reason: "created by an interrupted run; adopted"}
			c.cur = t.MemberUUIDs
			if !opts.mayUpdate() {
				c.upd.Added = append([]string(nil), t.MemberUUIDs...)
			} else {
				c.diff(t.MemberUUIDs, opts.mayRemoveManual())
			}
			cands = append(cands, c)
		case opts.mayAdopt():
			c.upd = &UpdateGroup{Key: dg.Key, UUID: t.UUID, Name: t.Name, Adopt: true,
				Reason: "existing unowned group adopted (adopt: true)"}
			c.cur = t.MemberUUIDs
			c.diff(nil, opts.mayRemoveManual())
			cands = append(cands, c)
		default:
			reason := "a Lightdash group with this name exists and is not owned by lightdash-sync; set adopt: true to take it over, or change the mapping"
			if !opts.mayUpdate() {
				reason = "a Lightdash group with this name exists and is not owned; create-only never adopts"
			}
			p.Conflicts = append(p.Conflicts, Conflict{Key: dg.Key, Name: dg.Name, UUID: t.UUID, Reason: reason})
		}
	}

	// Removals are unsafe on an incomplete read, and on a partial read of a
	// group that other directory groups also feed.
	for _, c := range cands {
		if c.upd == nil || len(c.upd.Remove) == 0 {
			continue
		}
		switch {
		case !d.Complete:
			p.HeldBack = append(p.HeldBack, HeldBack{Key: c.dg.Key, UUID: c.upd.UUID, Name: c.dg.Name, Kind: "remove-members",
				Members: c.upd.Remove, Reason: "directory read incomplete: " + d.IncompleteReason})
			c.dropRemovals()
		case d.Partial && !strings.HasPrefix(c.dg.Key, "group:"):
			c.dropRemovals() // the next full run decides
		}
	}

	// Phase B: owned groups no longer wanted.
	var deletes []DeleteGroup
	var deleteAbsent []AbsentGroup
	ownedLive, memberships := 0, 0
	for _, o := range st.Groups {
		if g := byUUID[o.UUID]; g != nil {
			ownedLive++
			memberships += len(g.MemberUUIDs)
		}
	}
	var phaseB []string // a partial plan deletes nothing: no need to sort
	if !d.Partial {
		phaseB = sortedKeys(st.Groups)
	}
	for _, k := range phaseB {
		o := st.Groups[k]
		g := byUUID[o.UUID]
		if desiredKeys[k] || held[k] || moving[k] {
			continue
		}
		switch {
		case o.Creating():
			p.Forgets = append(p.Forgets, ForgetGroup{Key: k, Reason: fmt.Sprintf("create of %q was never confirmed and the group is no longer wanted", o.Name)})
			continue
		case g == nil:
			p.Forgets = append(p.Forgets, ForgetGroup{Key: k, Reason: fmt.Sprintf("group %q (%s) was deleted outside lightdash-sync", o.Name, o.UUID)})
			continue
		case !opts.mayDelete():
			continue
		case !d.Complete:
			p.HeldBack = append(p.HeldBack, HeldBack{Key: k, UUID: g.UUID, Name: g.Name, Kind: "delete",
				Reason: "directory read incomplete: " + d.IncompleteReason})
			continue
		}
		ab := absenceOf(k, o, now)
		l := opts.Limits
		if !l.graceOver(ab) {
			ab.Reason = fmt.Sprintf("absent from the directory for %s and %d complete reads; deleted after %s and %d reads",
				ab.waited.Round(time.Second), ab.Reads, l.AbsentGrace, l.AbsentReads)
			p.Absent = append(p.Absent, ab.AbsentGroup)
			continue
		}
		deletes = append(deletes, DeleteGroup{Key: k, UUID: g.UUID, Name: g.Name,
			Reason: fmt.Sprintf("directory group gone for %s and %d complete reads", ab.waited.Round(time.Second), ab.Reads)})
		ab.Reason = "deletion held back"
		deleteAbsent = append(deleteAbsent, ab.AbsentGroup)
	}

	// Phase C: safety limits over the rolling window.
	p.Deletes = limit(p, cands, deletes, deleteAbsent, opts, st.spentWithin(now, opts.Limits.Window), ownedLive, memberships)

	// Phase D: renames, which may reuse the names of deleted groups.
	freed := map[string]bool{}
	for _, dl := range p.Deletes {
		freed[dl.UUID] = true
	}
	for _, c := range cands {
		if c.upd == nil || c.renameTo == "" {
			continue
		}
		if t := byName[c.renameTo]; t != nil && t.UUID != c.upd.UUID && !freed[t.UUID] {
			who := "a group lightdash-sync does not own"
			if k := ownerOf[t.UUID]; k != "" {
				who = "the group owned for " + k
			}
			p.Conflicts = append(p.Conflicts, Conflict{Key: c.dg.Key, Name: c.renameTo, UUID: c.upd.UUID,
				Reason: fmt.Sprintf("cannot rename %q: the name is used by %s; retried on the next run", c.upd.Name, who)})
			continue
		}
		c.upd.NewName = c.renameTo
	}

	// Assemble, attaching invitees only to groups that are written.
	invited := map[string][]string{}
	for _, c := range cands {
		switch {
		case c.create != nil:
			c.create.Invitees = c.invitees
			p.Creates = append(p.Creates, *c.create)
		case c.upd != nil:
			c.upd.Invitees = c.invitees
			if len(c.upd.Add) > 0 || len(c.upd.Remove) > 0 || len(c.upd.Invitees) > 0 {
				c.upd.Members = c.members()
			}
			if !c.upd.Writes() && !c.upd.Adopt {
				continue
			}
			c.upd.Reason += changeDetail(c.upd)
			p.Updates = append(p.Updates, *c.upd)
		default:
			continue
		}
		for _, e := range c.invitees {
			invited[e] = append(invited[e], c.dg.Key)
		}
	}
	for _, e := range sortedKeys(invited) {
		m := inviteFor[e]
		p.Invites = append(p.Invites, Invite{Email: e, Source: m.Source, UserID: m.ID, Groups: invited[e]})
	}
	for _, uk := range unmatchedOrder {
		p.Unmatched = append(p.Unmatched, *unmatched[uk])
	}
	return p
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

// limit checks the run's deletions and removals, with what was spent in
// the window before, against the safety limits. Over them, it holds every
// deletion and removal back and blocks the plan; it returns the deletions
// that go ahead.
func limit(p *Plan, cands []*candidate, deletes []DeleteGroup, deleteAbsent []AbsentGroup, opts PlanOptions, spent Spend, owned, memberships int) []DeleteGroup {
	if !opts.enforcesLimits() {
		return deletes
	}
	removals := 0
	for _, c := range cands {
		if c.upd != nil {
			removals += len(c.upd.Remove)
		}
	}
	if b := opts.Limits.budget(owned, memberships, spent); b.Deletes >= 0 || b.Removals >= 0 {
		p.Budget = &b
	}
	why := opts.Limits.exceeded(spent, len(deletes), owned, removals, memberships)
	if why == "" {
		return deletes
	}
	p.Blocked = true
	p.BlockedReason = why + "; additions still apply; re-run with the override to apply the held-back changes"
	for i, dl := range deletes {
		p.HeldBack = append(p.HeldBack, HeldBack{Key: dl.Key, UUID: dl.UUID, Name: dl.Name, Kind: "delete", Reason: why})
		p.Absent = append(p.Absent, deleteAbsent[i])
	}
	for _, c := range cands {
		if c.upd != nil && len(c.upd.Remove) > 0 {
			p.HeldBack = append(p.HeldBack, HeldBack{Key: c.dg.Key, UUID: c.upd.UUID, Name: c.dg.Name, Kind: "remove-members",
				Members: c.upd.Remove, Reason: why})
			c.dropRemovals()
		}
	}
	return nil
}
