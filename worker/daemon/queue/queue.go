// Package queue is the daemon's work queue: changes are keyed (by
// directory group); the first change to a quiet key is due at once
// (leading edge) and the changes that follow it within the debounce period
// are coalesced and due once the key has been quiet for that period
// (trailing edge, bounded by a maximum delay, so a key that changes
// constantly is still worked on). A key is handed out again only a
// debounce period after its last work ended, so the work on one key (its
// Lightdash writes) is at least that far apart, and it is never worked on
// twice at once. The number of
// pending keys is bounded — adding a new key to a full queue waits, so a
// source slows down rather than anything being dropped.
//
// Every scheduling decision takes the current time as an argument, so
// tests drive the queue with chosen times instead of sleeping.
package queue

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Queue is a debouncing, bounded, per-key exclusive work queue. It is safe
// for concurrent use.
type Queue struct {
	debounce time.Duration
	maxDelay time.Duration
	capacity int

	mu       sync.Mutex
	pending  map[string]*entry
	inFlight map[string]bool
	// done is when each key's last work ended, kept for a debounce
	// period: the key is not handed out again before that period is over.
	done map[string]time.Time
	// changed is closed and replaced whenever the queue changes, waking
	// everyone waiting for space or for work.
	changed chan struct{}
	closed  bool

	merges int64
}

type entry struct {
	first, last time.Time
	dones       []func(error)
	count       int
	// leading: the key was quiet when its first change came, so it is due
	// at once.
	leading bool
}

// Item is one key handed out for work, with the callbacks of every change
// coalesced into it.
type Item struct {
	Key string
	// Changes is how many changes were coalesced.
	Changes int
	// First is when the oldest coalesced change arrived.
	First time.Time
	dones []func(error)
}

// New returns a queue. A change to a key that is neither in flight nor
// was worked on in the last debounce is due at once; any other waits
// until its key has been quiet for debounce, and at most maxDelay after
// the first change it is coalesced with (maxDelay is raised to debounce
// if smaller), but never less than debounce after the key's last work
// ended; capacity bounds the pending keys (at least 1).
func New(debounce, maxDelay time.Duration, capacity int) *Queue {
	if maxDelay < debounce {
		maxDelay = debounce
	}
	if capacity < 1 {
		capacity = 1
	}
	return &Queue{
		debounce: debounce,
		maxDelay: maxDelay,
		capacity: capacity,
		pending:  map[string]*entry{},
		inFlight: map[string]bool{},
		done:     map[string]time.Time{},
		changed:  make(chan struct{}),
	}
}

func (q *Queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("queue: closed")

// Add records a change to key at now. done, when not nil, is called once
// with the result of the work the change is coalesced into. A change to a
// key already pending is merged and never waits; a new key waits while the
// queue is full, until there is room or ctx ends.
func (q *Queue) Add(ctx context.Context, key string, now time.Time, done func(error)) error {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return ErrClosed
		}
		if e, ok := q.pending[key]; ok {
			e.last = now
			e.count++
			if done != nil {
				e.dones = append(e.dones, done)
			}
			q.merges++
			q.broadcast()
			q.mu.Unlock()
			return nil
		}
		if len(q.pending) < q.capacity {
			e := &entry{first: now, last: now, count: 1, leading: q.quiet(key, now)}
			if done != nil {
				e.dones = append(e.dones, done)
			}
			q.pending[key] = e
			q.broadcast()
			q.mu.Unlock()
			return nil
		}
		wait := q.changed
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait:
		}
		q.mu.Lock()
	}
}

// quiet reports whether key is neither in flight nor was worked on in the
// debounce period before now.
func (q *Queue) quiet(key string, now time.Time) bool {
	if q.inFlight[key] {
		return false
	}
	t, ok := q.done[key]
	if ok && now.Before(t.Add(q.debounce)) {
		return false
	}
	delete(q.done, key)
	return true
}

// due is when e, pending for key, becomes workable.
func (q *Queue) due(key string, e *entry) time.Time {
	var d time.Time
	if e.leading {
		// The earliest change: a retry is added in the future, and a
		// redelivery of its change may bring it forward.
		d = e.first
		if e.last.Before(d) {
			d = e.last
		}
	} else {
		d = e.last.Add(q.debounce)
		if m := e.first.Add(q.maxDelay); m.Before(d) {
			d = m
		}
	}
	if t, ok := q.done[key]; ok && d.Before(t.Add(q.debounce)) {
		d = t.Add(q.debounce)
	}
	return d
}

// Next hands out the pending key due earliest at or before now that is not
// in flight, and marks it in flight. When none is due, ok is false and
// wake is the earliest time one will be (zero when nothing is pending
// that could become due without a Done first).
func (q *Queue) Next(now time.Time) (it Item, ok bool, wake time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var bestKey string
	var best time.Time
	for k, e := range q.pending {
		if q.inFlight[k] {
			continue
		}
		d := q.due(k, e)
		if bestKey == "" || d.Before(best) || (d.Equal(best) && k < bestKey) {
			bestKey, best = k, d
		}
	}
	if bestKey == "" {
		return Item{}, false, time.Time{}
	}
	if best.After(now) {
		return Item{}, false, best
	}
	e := q.pending[bestKey]
	delete(q.pending, bestKey)
	q.inFlight[bestKey] = true
	q.forget(now)
	q.broadcast()
	return Item{Key: bestKey, Changes: e.count, First: e.first, dones: e.dones}, true, time.Time{}
}

// forget drops the end times older than a debounce period once there are
// more of them than pending keys may be, so done stays bounded.
func (q *Queue) forget(now time.Time) {
	if len(q.done) < q.capacity {
		return
	}
	for k, t := range q.done {
		if !now.Before(t.Add(q.debounce)) {
			delete(q.done, k)
		}
	}
}

// Done reports the result of the work on it, which ended at now: every
// coalesced change's callback gets err, and the key may be handed out
// again a debounce period later.
func (q *Queue) Done(it Item, now time.Time, err error) {
	for _, d := range it.dones {
		d(err)
	}
	q.mu.Lock()
	delete(q.inFlight, it.Key)
	q.done[it.Key] = now
	q.broadcast()
	q.mu.Unlock()
}

// Changed returns a channel closed at the next change to the queue; a loop
// waits on it beside its timer.
func (q *Queue) Changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

// Len is the number of pending keys (not counting those in flight).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// InFlight is the number of keys being worked on.
func (q *Queue) InFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.inFlight)
}

// Merges is how many changes were coalesced into an already pending key.
func (q *Queue) Merges() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.merges
}

// Close makes Add fail from now on and wakes every waiter. Pending keys
// stay and can still be drained with Next. Drain hands back (calls with
// err) every pending change that will not be worked on.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		q.broadcast()
	}
}

// Drain removes every pending key, calling its callbacks with err: used at
// shutdown, so unacknowledged NATS events are redelivered to the next
// leader instead of being lost.
func (q *Queue) Drain(err error) int {
	q.mu.Lock()
	var dones []func(error)
	n := len(q.pending)
	for k, e := range q.pending {
		dones = append(dones, e.dones...)
		delete(q.pending, k)
	}
	q.broadcast()
	q.mu.Unlock()
	for _, d := range dones {
		d(err)
	}
	return n
}
