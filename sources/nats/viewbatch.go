package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// viewConcurrency bounds the keys read or written at once, by a batch of
// events or by ReadGroups. The round trips to the server, not the CPU, are
// what they wait on, so they are overlapped; the bound keeps one batch
// from flooding the connection.
const viewConcurrency = 32

// concurrently calls fn(i) for every i in [0, n), at most viewConcurrency
// at a time, and returns once every call has returned.
func concurrently(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, viewConcurrency)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// outcome is what applying one event of a batch did.
type outcome struct {
	applied
	rejected error // a *RejectError: refused, nothing written
	err      error
}

// step is one event folded into a key's state.
type step struct {
	stale    bool
	rejected error   // why admit refused the event
	n        *record // the state after the event
	oldEmail string  // the user's email before the event
}

// applyAll applies events, in stream order, with the result apply would have
// one event at a time, at the cost of one read and at most one write per key
// rather than per event: the events for one group (or user) are folded into
// its state in order and the result written once. Different keys are
// independent, so they are read and written concurrently. An event's
// outcome is only final once its key's write succeeded, so the caller acks
// nothing whose effect is not durable; if a key's write fails, every event
// for that key fails with it, so none of them is acknowledged ahead of an
// earlier one that will be redelivered.
//
// Redelivery stays idempotent: the event last applied to a key writes
// nothing and reports the same groups again. Writes are compare-and-set on
// the entry's revision, so two instances sharing the bucket cannot lose
// each other's updates; a conflict re-reads the key and folds again.
func (v *view) applyAll(ctx context.Context, events []*Event) []outcome {
	var keys []string
	keyOf := make([]string, len(events))
	byKey := map[string][]int{}
	for i, e := range events {
		k := eventKey(e)
		keyOf[i] = k
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	steps := make([]step, len(events))
	errs := make(map[string]error)
	var mu sync.Mutex // errs
	concurrently(len(keys), func(n int) {
		k := keys[n]
		idx := byKey[k]
		evs := make([]*Event, len(idx))
		for j, i := range idx {
			evs[j] = events[i]
		}
		st, err := v.fold(ctx, k, evs)
		if err != nil {
			mu.Lock()
			errs[k] = err
			mu.Unlock()
			return
		}
		for j, i := range idx {
			steps[i] = st[j] // distinct indexes per key: no two goroutines share one
		}
	})
	// The index takes each key's state after the batch, once, and every
	// event's change is computed against it. Computed one event at a time,
	// a change could also name a group related to it only in the middle of
	// the batch; such a group has an event of its own in the batch, which
	// names it. And indexing a group is O(members): once per event, it was
	// most of the cost of a burst on big groups.
	for _, k := range keys {
		if errs[k] != nil {
			continue
		}
		for _, i := range slices.Backward(byKey[k]) {
			if steps[i].n != nil { // neither stale nor rejected
				v.idx.put(steps[i].n)
				break
			}
		}
	}
	out := make([]outcome, len(events))
	for i, e := range events {
		switch st := steps[i]; {
		case errs[keyOf[i]] != nil:
			out[i].err = errs[keyOf[i]]
		case st.rejected != nil:
			out[i].rejected = st.rejected
		case st.stale:
			out[i].Stale = true
		default:
			out[i].applied = v.affected(e, st.n, st.oldEmail)
		}
	}
	return out
}

// eventKey is the view key an event writes.
func eventKey(e *Event) string {
	if e.Type.IsGroup() {
		return kvKey(kindGroup, e.Data.ID)
	}
	return kvKey(kindUser, e.Data.ID)
}

// fold reads key, applies evs (all for key, in order) to its state and
// writes the result once, retrying from the read when another writer got
// there first.
func (v *view) fold(ctx context.Context, key string, evs []*Event) ([]step, error) {
	for attempt := 0; ; attempt++ {
		cur, rev, known := v.cache.get(key)
		if !known {
			var err error
			cur, rev, err = v.get(ctx, key)
			if err != nil && rev == 0 {
				return nil, err
			}
			// An unparsable entry (rev > 0, err set) is overwritten by the events.
		}
		steps, last, dirty := foldEvents(cur, evs, v.maxSeqJump, v.floor.get(), v.now())
		if !dirty && known {
			// Nothing to write is decided on the bucket's word only: the
			// entry may have been deleted under the cache.
			v.cache.forget(key)
			continue
		}
		if !dirty {
			return steps, nil
		}
		b, err := json.Marshal(last)
		if err != nil {
			return nil, fmt.Errorf("encode view entry: %w", err)
		}
		if rev == 0 {
			rev, err = v.kv.Create(ctx, key, b)
		} else {
			rev, err = v.kv.Update(ctx, key, b, rev)
		}
		if err != nil {
			v.cache.forget(key)
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			if attempt < 5 {
				continue // someone else wrote it first: re-read and decide again
			}
		}
		if err != nil {
			return nil, fmt.Errorf("write view entry: %w", err)
		}
		v.cache.put(key, last, rev)
		return steps, nil
	}
}

// foldEvents applies evs to cur in order, without I/O: a stale or
// refused event (see admit) is skipped, the event last applied (a
// redelivery) changes nothing, any other event moves the state on. For a
// key with no record, an event at or before floor is stale: its tombstone
// may have expired. A new tombstone is stamped with now. dirty says
// whether last differs from cur and must be written.
//
// A run of members_added events on a group is applied to one memberSet,
// not a copy of the list per event: the records of the run's steps but
// the last carry no members (a step's record is only read for its kind,
// id and email, see affected), and last gets the set's list.
func foldEvents(cur *record, evs []*Event, maxSeqJump uint64, floor, now time.Time) (steps []step, last *record, dirty bool) {
	steps = make([]step, len(evs))
	state := cur
	var set *memberSet // state's members, when a run of additions holds them
	for i, e := range evs {
		if state == nil && !floor.IsZero() && !e.Time.After(floor) {
			steps[i].stale = true
			continue
		}
		if stale, err := admit(state, e, maxSeqJump); stale || err != nil {
			steps[i].stale, steps[i].rejected = stale, err
			continue
		}
		var oldEmail string
		if state != nil {
			oldEmail = state.Email
		}
		n := state
		if state == nil || state.EventID != e.ID {
			n, set = nextInSet(state, e, set)
			dirty = true
			if n.Deleted {
				n.DeletedAt = now.UTC()
			}
		}
		steps[i] = step{n: n, oldEmail: oldEmail}
		state = n
	}
	if set != nil {
		state.Members = set.list
	}
	return steps, state, dirty
}

// nextInSet is next for a fold: a members_added event on a live group
// adds to set (started from r's members if nil) and returns a record
// without members; any other event first puts set's list back into r.
func nextInSet(r *record, e *Event, set *memberSet) (*record, *memberSet) {
	if e.Type != TypeMembersAdded || r == nil || r.Deleted {
		if set != nil {
			r.Members = set.list // r is this fold's own record
		}
		return next(r, e), nil
	}
	if set == nil {
		set = newMemberSet(r.Members)
	}
	set.add(e.Data.Members)
	// next without the members, which are in set.
	d := &e.Data
	n := &record{Kind: kindGroup, ID: d.ID, Source: e.Source, Sequence: e.Sequence, Time: e.Time, EventID: e.ID,
		Name: r.Name, MemberGroups: union(r.MemberGroups, d.MemberGroups)}
	return n, set
}
