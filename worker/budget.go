package worker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// Spend counts the group deletions and member removals applied in the
// slice of time that ends At (see State.Spent).
type Spend struct {
	At      time.Time `json:"at"`
	Deleted int       `json:"deleted,omitempty"`
	Removed int       `json:"removed,omitempty"`
}

// spendSlices is how many slices a window is recorded in: the state keeps
// at most about this many Spend entries.
const spendSlices = 64

// spentWithin sums what was spent in the window that ends at now.
func (s *State) spentWithin(now time.Time, window time.Duration) Spend {
	var t Spend
	if window <= 0 {
		return t
	}
	for _, e := range s.Spent {
		if now.Sub(e.At) < window {
			t.Deleted += e.Deleted
			t.Removed += e.Removed
		}
	}
	return t
}

// spend records dels and rems at now and drops entries older than the
// window. It returns the entry's time, for unspend. A spend counts from the
// end of its slice, so it leaves the window late rather than early.
func (s *State) spend(now time.Time, window time.Duration, dels, rems int) time.Time {
	slice := max(window/spendSlices, time.Second)
	at := now.Truncate(slice).Add(slice)
	kept := s.Spent[:0]
	var cur *Spend
	for _, e := range s.Spent {
		if now.Sub(e.At) >= window {
			continue
		}
		kept = append(kept, e)
		if e.At.Equal(at) {
			cur = &kept[len(kept)-1]
		}
	}
	s.Spent = kept
	if cur == nil {
		s.Spent = append(s.Spent, Spend{At: at})
		cur = &s.Spent[len(s.Spent)-1]
	}
	cur.Deleted += dels
	cur.Removed += rems
	return at
}

// unspend takes back a spend recorded at at whose write failed.
func (s *State) unspend(at time.Time, dels, rems int) {
	for i := range s.Spent {
		if e := &s.Spent[i]; e.At.Equal(at) {
			e.Deleted = max(e.Deleted-dels, 0)
			e.Removed = max(e.Removed-rems, 0)
			return
		}
	}
}

// Budget is the most group deletions and member removals the safety
// limits allow within Limits.LimitWindow, earlier runs' included. -1 means no
// limit. Apply checks each deletion and removal against it again, so runs
// planned at the same time cannot together go over it.
type Budget struct {
	Deletes  int `json:"deletes"`
	Removals int `json:"removals"`
}

// budget applies the limits to the owned groups and memberships, counting
// those spent in the window as still there (the percentages are of what
// there was when the window began).
func (l Limits) budget(owned, memberships int, spent Spend) Budget {
	return Budget{
		Deletes:  most(l.MaxGroupDeletes, l.MaxGroupDeletesPercent, owned+spent.Deleted),
		Removals: most(l.MaxMemberRemovals, l.MaxMemberRemovalsPercent, memberships+spent.Removed),
	}
}

func most(limit int, percent float64, of int) int {
	n := -1
	if limit > 0 {
		n = limit
	}
	if percent > 0 && of > 0 {
		// The largest p that the percentage test in exceeded lets through.
		p := int(math.Floor(percent * float64(of) / 100))
		for float64(p+1)*100/float64(of) <= percent {
			p++
		}
		for p > 0 && float64(p)*100/float64(of) > percent {
			p--
		}
		if n < 0 || p < n {
			n = p
		}
	}
	return n
}

// allows reports whether spending dels and rems more stays within b.
func (b Budget) allows(spent Spend, dels, rems int) bool {
	return (dels == 0 || b.Deletes < 0 || spent.Deleted+dels <= b.Deletes) &&
		(rems == 0 || b.Removals < 0 || spent.Removed+rems <= b.Removals)
}

// exceeded says which limit deleting dels of owned groups and removing
// rems of memberships would break, counting what was spent in the window
// before, or "". A limit already broken (by an override) blocks only runs
// that would add to it.
func (l Limits) exceeded(spent Spend, dels, owned, rems, memberships int) string {
	d, ofD := spent.Deleted+dels, owned+spent.Deleted
	r, ofR := spent.Removed+rems, memberships+spent.Removed
	var why []string
	if dels > 0 && l.MaxGroupDeletes > 0 && d > l.MaxGroupDeletes {
		why = append(why, fmt.Sprintf("%d group deletions%s exceed maxDeletedGroups %d", d, l.earlier(spent.Deleted), l.MaxGroupDeletes))
	}
	if dels > 0 && l.MaxGroupDeletesPercent > 0 && ofD > 0 && float64(d)*100/float64(ofD) > l.MaxGroupDeletesPercent {
		why = append(why, fmt.Sprintf("%d of %d owned groups (%.0f%%)%s exceed maxDeletedGroupsPercent %g", d, ofD, float64(d)*100/float64(ofD), l.earlier(spent.Deleted), l.MaxGroupDeletesPercent))
	}
	if rems > 0 && l.MaxMemberRemovals > 0 && r > l.MaxMemberRemovals {
		why = append(why, fmt.Sprintf("%d member removals%s exceed maxRemovedMembers %d", r, l.earlier(spent.Removed), l.MaxMemberRemovals))
	}
	if rems > 0 && l.MaxMemberRemovalsPercent > 0 && ofR > 0 && float64(r)*100/float64(ofR) > l.MaxMemberRemovalsPercent {
		why = append(why, fmt.Sprintf("%d of %d memberships (%.0f%%)%s exceed maxRemovedMembersPercent %g", r, ofR, float64(r)*100/float64(ofR), l.earlier(spent.Removed), l.MaxMemberRemovalsPercent))
	}
	return strings.Join(why, "; ")
}

func (l Limits) earlier(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of them applied in the last %s)", n, l.LimitWindow)
}

// reserve records dels and rems as spent before the write that spends
// them, if the plan's budget still allows it with what other runs spent
// since. at is for refund when the write fails. A deletion's reservation
// is saved before the delete (there are few), so a process that dies
// right after it cannot spend the window again; a removal's is saved
// with the next state save, within saveEvery.
func (a *applier) reserve(ctx context.Context, dels, rems int) (at time.Time, err error) {
	w := a.w
	win := w.opts.Limits.LimitWindow
	if win <= 0 {
		return time.Time{}, nil
	}
	now := w.opts.Now()
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	if w.state == nil {
		w.state = NewState()
	}
	if b := a.budget; b != nil && !b.allows(w.state.spentWithin(now, win), dels, rems) {
		return time.Time{}, errOverBudget
	}
	w.stateDirty = true
	at = w.state.spend(now, win, dels, rems)
	if dels > 0 {
		if err := w.saveLocked(ctx); err != nil {
			w.state.unspend(at, dels, rems)
			return time.Time{}, fmt.Errorf("save the deletion's budget before deleting: %w", err)
		}
	}
	return at, nil
}

// errOverBudget: the window's budget was spent by other runs since the
// plan was computed.
var errOverBudget = errors.New("over the safety limits' budget")

// refundIfRefused takes back a reservation when err proves the write did
// not happen (Lightdash refused it). After a lost answer or a 5xx it may
// have, so the spending stays.
func (a *applier) refundIfRefused(err error, at time.Time, dels, rems int) {
	var ae *lightdash.APIError
	if errors.As(err, &ae) && ae.StatusCode < 500 || errors.Is(err, lightdash.ErrRedirect) {
		a.refund(at, dels, rems)
	}
}

// refund takes back a reservation whose write did not happen.
func (a *applier) refund(at time.Time, dels, rems int) {
	if at.IsZero() {
		return
	}
	w := a.w
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	w.state.unspend(at, dels, rems)
	w.stateDirty = true
}

// overBudget reports a deletion or removals held back at apply time: runs
// applied since the plan was computed spent the window's budget.
func (a *applier) overBudget(key, name, kind string, n int) {
	const why = "held back: the safety limits' budget for the window was spent by other runs since this plan was computed"
	a.mu.Lock()
	a.res.Blocked = true
	if a.res.BlockedReason == "" {
		a.res.BlockedReason = why
	}
	if kind == "delete" {
		a.res.Summary.HeldBackDeletes++
	} else {
		a.res.Summary.HeldBackRemovals += n
	}
	a.mu.Unlock()
	a.w.log.Warn(why, zap.String("key", key), zap.String("group", name), zap.String("kind", kind), zap.Int("count", n))
}
