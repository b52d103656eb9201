package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// view is the worker's cached picture of Lightdash: the users (indexed by
// email) and every group with its members. Each Lightdash call costs the
// server a bcrypt check of the token (about 50 ms), so change events plan
// against this view and make only their write.
//
// The view is loaded by every full read (Reconcile, Plan, ApplySaved),
// updated in place from the answers of the worker's own writes, and
// reloaded when older than Options.CacheMaxAge. What others change in
// Lightdash is seen at the latest then; until then the guards catch what
// would make a write wrong (see Worker.viewFor and the retry in
// ReconcileGroups).
//
// current hands out the view's users, index and sorted groups without
// copying them (at directory scale a copy per event costs more than the
// event), so they are never edited in place: new users replace the index,
// and a write replaces the sorted groups by an edited copy (a copy, not a
// sort) — or, when current has not been asked since the last write (a
// full run's many writes), leaves them to be rebuilt by the next current.
type view struct {
	mu       sync.Mutex
	valid    bool
	loadedAt time.Time // users and groups read
	usersAt  time.Time // users last read
	ids      *identities
	groups   map[string]lightdash.GroupWithMembers // by uuid
	sorted   []lightdash.GroupWithMembers          // groups by uuid, or nil: rebuilt by current
	shared   bool                                  // sorted was handed out since it was made
	// seq counts writes through the view; touched records, per group
	// uuid, the seq of its last write. A reload that started before a
	// write keeps the written group rather than its own older read.
	seq     int64
	touched map[string]int64
	// missing holds the emails of directory users that the last full run
	// found with no Lightdash account, while ids still lacks them. An
	// event naming only these does not read the users again (see viewFor).
	missing map[string]bool
}

// keepMissingLocked drops from missing the emails ids knows.
func (v *view) keepMissingLocked(ids *identities) {
	for e := range v.missing {
		if ids != nil && ids.knows(e) {
			delete(v.missing, e)
		}
	}
}

// setMissing replaces missing with the emails, of a full run's unmatched
// users, that no cached user has.
func (v *view) setMissing(emails []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.missing = nil
	if v.ids == nil {
		return
	}
	for _, e := range emails {
		if e = normEmail(e); e != "" && !v.ids.knows(e) {
			if v.missing == nil {
				v.missing = map[string]bool{}
			}
			v.missing[e] = true
		}
	}
}

// isMissing reports whether the last full run found no account for e
// (normalised).
func (v *view) isMissing(e string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.missing[e]
}

// begin returns the write sequence a reload starting now must respect.
func (v *view) begin() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seq
}

// findGroup returns where uuid is or would be in groups (sorted by uuid).
func findGroup(groups []lightdash.GroupWithMembers, uuid string) (int, bool) {
	return slices.BinarySearchFunc(groups, uuid, func(g lightdash.GroupWithMembers, u string) int { return strings.Compare(g.UUID, u) })
}

// set replaces the view with a read that started at write sequence start.
// Groups written since then keep their written form (or stay deleted).
// cur.ids is the index of cur.Users when the caller built it already.
func (v *view) set(cur Current, start int64, now time.Time) {
	ids := cur.identities()
	fresh := make(map[string]lightdash.GroupWithMembers, len(cur.Groups))
	for _, g := range cur.Groups {
		fresh[g.UUID] = g
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for uuid, s := range v.touched {
		if s <= start {
			delete(v.touched, uuid)
			continue
		}
		if g, ok := v.groups[uuid]; ok {
			fresh[uuid] = g
		} else {
			delete(fresh, uuid)
		}
	}
	v.ids = ids
	v.keepMissingLocked(ids)
	v.groups, v.sorted, v.shared = fresh, nil, false
	v.valid, v.loadedAt, v.usersAt = true, now, now
}

// setUsers replaces the users only.
func (v *view) setUsers(ids *identities, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.ids = ids
	v.keepMissingLocked(ids)
	v.usersAt = now
}

// users returns the cached users, shared, not copied (see current).
func (v *view) users() []lightdash.OrgMember {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ids == nil {
		return nil
	}
	return v.ids.users
}

// fresh reports whether the view is loaded and younger than maxAge.
func (v *view) fresh(now time.Time, maxAge time.Duration) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.valid && now.Sub(v.loadedAt) < maxAge
}

// usersReadAt is when the users were last read.
func (v *view) usersReadAt() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.usersAt
}

// loadedTime is when the users and groups were last read.
func (v *view) loadedTime() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.loadedAt
}

// invalidate makes the next use reload everything.
func (v *view) invalidate() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.valid = false
}

// current returns what to plan with: the view's own users, index and
// groups (sorted by uuid, so plans do not depend on map order), shared,
// not copied. That is safe because the view replaces them and never edits
// them in place; the caller must not edit them either (ComputePlan does
// not). Member slices are shared the same way.
func (v *view) current() Current {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sorted == nil && len(v.groups) > 0 {
		v.sorted = make([]lightdash.GroupWithMembers, 0, len(v.groups))
		for _, g := range v.groups {
			v.sorted = append(v.sorted, g)
		}
		slices.SortFunc(v.sorted, func(a, b lightdash.GroupWithMembers) int { return strings.Compare(a.UUID, b.UUID) })
	}
	v.shared = true
	cur := Current{Groups: v.sorted, ids: v.ids}
	if v.ids != nil {
		cur.Users = slices.Clip(v.ids.users)
	}
	return cur
}

// putGroup records a group as a write's answer returned it. sent is the
// member list the write sent, if any. The answer's uuids are swapped for
// the equal strings the view already holds (those of sent, which come
// from the users list, or of the group's previous members): decoded
// answers are fresh strings, which would otherwise be kept, one copy per
// write, for as long as the view.
func (v *view) putGroup(g lightdash.GroupWithMembers, sent []string) {
	g.Members = nil // only the uuids are used
	v.mu.Lock()
	defer v.mu.Unlock()
	g.MemberUUIDs = reuse(g.MemberUUIDs, sent, v.groups[g.UUID].MemberUUIDs)
	if v.groups == nil {
		v.groups = map[string]lightdash.GroupWithMembers{}
	}
	v.groups[g.UUID] = g
	if v.sorted != nil && v.shared {
		i, found := findGroup(v.sorted, g.UUID)
		sorted := make([]lightdash.GroupWithMembers, 0, len(v.sorted)+1)
		sorted = append(append(sorted, v.sorted[:i]...), g)
		if found {
			i++
		}
		v.sorted, v.shared = append(sorted, v.sorted[i:]...), false
	} else {
		v.sorted = nil
	}
	v.touchLocked(g.UUID)
}

// reuse returns a copy of got in which each string equal to one of known's
// is that one.
func reuse(got []string, known ...[]string) []string {
	have := map[string]string{}
	for _, k := range known {
		for _, s := range k {
			have[s] = s
		}
	}
	out := make([]string, len(got))
	for i, s := range got {
		if c, ok := have[s]; ok {
			s = c
		}
		out[i] = s
	}
	return out
}

// putMembers records a group's members after per-member writes, keeping
// the rest of what the view knows of it; an unknown group is left to the
// next read.
func (v *view) putMembers(uuid string, members []string) {
	v.mu.Lock()
	g, ok := v.groups[uuid]
	v.mu.Unlock()
	if ok {
		g.MemberUUIDs = members
		v.putGroup(g, members)
	}
}

// dropGroup records a deleted group.
func (v *view) dropGroup(uuid string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.groups, uuid)
	if i, found := findGroup(v.sorted, uuid); found && v.shared {
		v.sorted, v.shared = slices.Concat(v.sorted[:i], v.sorted[i+1:]), false
	} else if found {
		v.sorted = nil
	}
	v.touchLocked(uuid)
}

func (v *view) touchLocked(uuid string) {
	v.seq++
	if v.touched == nil {
		v.touched = map[string]int64{}
	}
	v.touched[uuid] = v.seq
}

// addUsers records the pending users made by invites, in one new index.
func (v *view) addUsers(us []lightdash.OrgMember) {
	if len(us) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := v.ids
	if ids == nil {
		ids = newIdentities(nil)
	}
	v.ids = ids.withAll(us)
}

// viewFor returns the view to plan d against, reading Lightdash only when
// it must:
//   - the view was never loaded, was invalidated, or is older than
//     Options.CacheMaxAge: users and groups are read again (and the
//     preflight made if the groups list is empty, see readLightdash);
//   - a member of d has an email no cached user has: the users are read
//     again, at most once per Options.UserRefreshInterval, so a flood of
//     events about people without a Lightdash account does not become a
//     flood of calls. They are still reported as unmatched. Members the
//     last full run already found without an account do not count, or
//     every event naming one of them would pay a full users read once per
//     interval. Whether they have an account since is seen by the next
//     full run or cached-view reload.
//
// refreshMu keeps concurrent events from reading the same thing twice.
func (w *Worker) viewFor(ctx context.Context, ld Lightdash, d *Desired) (Current, error) {
	w.refreshMu.Lock()
	defer w.refreshMu.Unlock()
	now := w.opts.Now()
	if !w.view.fresh(now, w.opts.CacheMaxAge) {
		w.log.Debug("reading Lightdash: cached view missing or too old")
		return w.readLightdash(ctx, ld)
	}
	cur := w.view.current()
	if unknown := unknownMembers(d, cur.identities(), w.view.isMissing); unknown != "" && now.Sub(w.view.usersReadAt()) >= w.opts.UserRefreshInterval {
		w.log.Debug("reading Lightdash users: a directory user has no cached account", zap.String("email", unknown))
		users, err := ld.ListUsers(ctx)
		if err != nil {
			return cur, w.lightdashReadFailed(fmt.Errorf("read lightdash: %w", err))
		}
		slimRead(users)
		ids := newIdentities(users)
		w.view.setUsers(ids, now)
		cur.Users, cur.ids = users, ids
	}
	return cur, nil
}

// unknownMembers returns the first email of a member of d that matches no
// Lightdash user at all and that known (when not nil) does not hold, or "".
func unknownMembers(d *Desired, ids *identities, known func(email string) bool) string {
	for _, g := range d.Groups {
		for i := range g.Members {
			u := g.Members[i].DirUser
			first, found := "", false
			for k := 0; k < 1+len(u.AltEmails); k++ {
				e := emailAt(u, k)
				if e == "" {
					continue
				}
				if first == "" {
					first = e
				}
				if ids.knows(e) {
					found = true
					break
				}
			}
			if first != "" && !found && (known == nil || !known(first)) {
				return first
			}
		}
	}
	return ""
}
