package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// memberWrite is one group's member change in flight: nextMemberStep
// chooses each call from cur and want, and each answer updates cur.
type memberWrite struct {
	uuid string
	name *string // a rename still to send, with the first PATCH
	cur  []string
	want []string
	// last is the latest PATCH answer (its memberUuids may be older than cur).
	last *lightdash.GroupWithMembers
	// dropped are wanted users a PUT did not add (204): Lightdash does
	// not have them, or they were members already.
	dropped []string
	// wrote is set once a write changed the group.
	wrote bool
}

// writeMembers makes mw's change, renaming with its first PATCH (or with
// a PATCH of its own when every call is per member). Every step must
// bring cur closer to want (a PATCH that removed nothing is followed by
// per-member calls, which must), or it stops with an error. On any
// error cur is what Lightdash holds as far as the answers showed.
func (a *applier) writeMembers(ctx context.Context, mw *memberWrite) error {
	left, idle := memberDistance(mw.cur, mw.want), false
	var last stepOutcome
	for {
		st := nextMemberStep(mw.cur, mw.want, last)
		if st.Op != opPatch && mw.name != nil {
			if err := a.patchMembers(ctx, mw, nil, false); err != nil {
				return err
			}
		}
		if st.Op == "" {
			return nil
		}
		before := mw.cur
		if err := a.memberStep(ctx, mw, st); err != nil {
			return err
		}
		last = stepOutcome{Op: st.Op, Removed: len(minus(before, mw.cur))}
		now := memberDistance(mw.cur, mw.want)
		if now > left || now == left && (st.Op != opPatch || idle) {
			return fmt.Errorf("member writes made no progress: %d changes left (a concurrent writer?)", now)
		}
		idle, left = now == left, now
	}
}

func memberDistance(cur, want []string) int {
	return len(minus(want, cur)) + len(minus(cur, want))
}

func (a *applier) memberStep(ctx context.Context, mw *memberWrite, st memberStep) error {
	switch st.Op {
	case opPatch:
		return a.patchMembers(ctx, mw, st.Users, true)
	case opPut:
		added, err := a.perMember(ctx, st.Users, func(ctx context.Context, u string) (bool, error) {
			return a.ld.AddMember(ctx, mw.uuid, u)
		})
		mw.wrote = mw.wrote || len(added) > 0
		notAdded := minus(sortedUnique(st.Users), added)
		if err == nil && len(notAdded) > 0 {
			mw.dropped = union(mw.dropped, notAdded)
			mw.want = minus(mw.want, notAdded)
			a.w.view.invalidate() // the cached users named someone Lightdash lacks
		}
		mw.cur = union(mw.cur, added)
		return err
	default:
		removed, err := a.perMember(ctx, st.Users, func(ctx context.Context, u string) (bool, error) {
			_, err := a.ld.RemoveMember(ctx, mw.uuid, u)
			return true, err // 204: not a member, which is as good
		})
		mw.wrote = mw.wrote || len(removed) > 0
		mw.cur = minus(mw.cur, removed)
		return err
	}
}

// patchMembers sends mw's pending rename and, with withMembers, the full
// member list; cur becomes the members the answer shows.
func (a *applier) patchMembers(ctx context.Context, mw *memberWrite, members []string, withMembers bool) error {
	var upd lightdash.GroupUpdate
	upd.Name, mw.name = mw.name, nil
	if withMembers {
		list := append([]string{}, members...)
		upd.Members = &list
	}
	g, err := a.ld.UpdateGroup(ctx, mw.uuid, upd)
	if err == nil && g == nil {
		err = errors.New("empty answer")
	}
	if err != nil {
		return err
	}
	mw.last, mw.wrote = g, true
	if upd.Members != nil {
		mw.cur = sortedUnique(g.MemberUUIDs)
	}
	return nil
}

// perMember calls fn for each user, up to Options.Concurrency at once,
// and returns the users for which it reported true. The first error
// cancels the calls not yet made.
func (a *applier) perMember(ctx context.Context, users []string, fn func(context.Context, string) (bool, error)) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		done  []string
		first error
	)
	forEach(ctx, a.w.opts.Concurrency, users, func(ctx context.Context, u string) {
		if ctx.Err() != nil {
			return
		}
		ok, err := fn(ctx, u)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil && first == nil:
			first = err
			cancel()
		case err == nil && ok:
			done = append(done, u)
		}
	})
	return sortedUnique(done), first
}
