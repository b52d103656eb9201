package worker

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// view is the worker's cached picture of Lightdash: the preflight result,
// the users and every group with its members. Each Lightdash call costs
// the server a bcrypt check of the token (about 50 ms), so change events
// plan against this view and make only their write.
//
// The view is loaded by every full read (Reconcile, Plan, ApplySaved),
// updated in place from the answers of the worker's own writes, and
// reloaded when older than Options.CacheMaxAge. What others change in
// Lightdash is seen at the latest then; until then the guards catch what
// would make a write wrong (see Worker.viewFor and the retry in
// ReconcileGroups).
type view struct {
	mu       sync.Mutex
	valid    bool
	loadedAt time.Time // preflight, users and groups read
	usersAt  time.Time // users last read
	users    []lightdash.OrgMember
	groups   map[string]lightdash.GroupWithMembers // by uuid
	// seq counts writes through the view; touched records, per group
	// uuid, the seq of its last write. A reload that started before a
	// write keeps the written group rather than its own older read.
	seq     int64
	touched map[string]int64
}

// begin returns the write sequence a reload starting now must respect.
func (v *view) begin() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seq
}

// set replaces the view with a read that started at write sequence start.
// Groups written since then keep their written form (or stay deleted).
func (v *view) set(cur Current, start int64, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fresh := make(map[string]lightdash.GroupWithMembers, len(cur.Groups))
	for _, g := range cur.Groups {
		fresh[g.UUID] = g
	}
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
	v.users = append([]lightdash.OrgMember(nil), cur.Users...)
	v.groups = fresh
	v.valid, v.loadedAt, v.usersAt = true, now, now
}

// setUsers replaces the users only.
func (v *view) setUsers(users []lightdash.OrgMember, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.users = append([]lightdash.OrgMember(nil), users...)
	v.usersAt = now
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

// invalidate makes the next use reload everything.
func (v *view) invalidate() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.valid = false
}

// current returns a copy to plan with. Groups are sorted by uuid so plans
// do not depend on map order; their member slices are shared, which is
// safe because the view replaces a group's slice and never edits it.
func (v *view) current() Current {
	v.mu.Lock()
	defer v.mu.Unlock()
	cur := Current{Users: append([]lightdash.OrgMember(nil), v.users...), Groups: make([]lightdash.GroupWithMembers, 0, len(v.groups))}
	for _, g := range v.groups {
		cur.Groups = append(cur.Groups, g)
	}
	sort.Slice(cur.Groups, func(i, j int) bool { return cur.Groups[i].UUID < cur.Groups[j].UUID })
	return cur
}

// putGroup records a group as a write's answer returned it.
func (v *view) putGroup(g lightdash.GroupWithMembers) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.groups == nil {
		v.groups = map[string]lightdash.GroupWithMembers{}
	}
	g.MemberUUIDs = append([]string(nil), g.MemberUUIDs...)
	v.groups[g.UUID] = g
	v.touchLocked(g.UUID)
}

// dropGroup records a deleted group.
func (v *view) dropGroup(uuid string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.groups, uuid)
	v.touchLocked(uuid)
}

func (v *view) touchLocked(uuid string) {
	v.seq++
	if v.touched == nil {
		v.touched = map[string]int64{}
	}
	v.touched[uuid] = v.seq
}

// addUser records a pending user made by an invite.
func (v *view) addUser(u lightdash.OrgMember) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.users = append(v.users, u)
}

// viewFor returns the view to plan d against, reading Lightdash only when
// it must:
//   - the view was never loaded, was invalidated, or is older than
//     Options.CacheMaxAge: users and groups are read again (and the
//     preflight made if the groups list is empty, see readLightdash);
//   - a member of d has an email no cached user has: the users are read
//     again, at most once per Options.UserRefreshInterval, so a flood of
//     events about people without a Lightdash account does not become a
//     flood of calls. They are still reported as unmatched.
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
	if unknown := unknownMembers(d, cur.Users); unknown != "" && now.Sub(w.view.usersReadAt()) >= w.opts.UserRefreshInterval {
		w.log.Debug("reading Lightdash users: a directory user has no cached account", zap.String("email", unknown))
		users, err := ld.ListUsers(ctx)
		if err != nil {
			return cur, fmt.Errorf("list lightdash users: %w", err)
		}
		w.view.setUsers(users, now)
		cur.Users = users
	}
	return cur, nil
}

// unknownMembers returns the first email of a member of d that matches no
// Lightdash user at all, or "".
func unknownMembers(d *Desired, users []lightdash.OrgMember) string {
	known := make(map[string]bool, len(users))
	for _, u := range users {
		known[normEmail(u.Email)] = true
	}
	for _, g := range d.Groups {
		for _, m := range g.Members {
			first, found := "", false
			for _, e := range append([]string{m.Email}, m.AltEmails...) {
				if e = normEmail(e); e == "" {
					continue
				}
				if first == "" {
					first = e
				}
				if known[e] {
					found = true
					break
				}
			}
			if first != "" && !found {
				return first
			}
		}
	}
	return ""
}
