package worker

import (
	"context"
	"sort"
	"sync"
)

// keyLocks serialises work on the same Lightdash group across concurrent
// ReconcileGroups calls. Two directory groups may feed one Lightdash group
// (a rule's Target, an allowMerge union): each event's plan adds its own
// members to the group's current list, so two writes computed from the
// same list would each drop the other's additions. Holding the group's
// lock from planning to the cache update after the write prevents that.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // capacity 1: full while held
	refs int           // goroutines holding or waiting
}

// lock takes every key's lock, in sorted order so that two callers with
// overlapping keys cannot deadlock, and returns the function releasing
// them. It gives up with ctx's error when ctx ends first.
func (l *keyLocks) lock(ctx context.Context, keys []string) (func(), error) {
	keys = sortedKeys(setOf(keys))
	var got []string
	unlock := func() {
		for i := len(got) - 1; i >= 0; i-- {
			l.release(got[i])
		}
	}
	for _, k := range keys {
		e := l.ref(k)
		select {
		case e.ch <- struct{}{}:
			got = append(got, k)
		case <-ctx.Done():
			l.unref(k)
			unlock()
			return nil, ctx.Err()
		}
	}
	return unlock, nil
}

func (l *keyLocks) ref(k string) *keyLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]*keyLock{}
	}
	e := l.held[k]
	if e == nil {
		e = &keyLock{ch: make(chan struct{}, 1)}
		l.held[k] = e
	}
	e.refs++
	return e
}

func (l *keyLocks) unref(k string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.held[k]; e != nil {
		if e.refs--; e.refs == 0 {
			delete(l.held, k)
		}
	}
}

func (l *keyLocks) release(k string) {
	l.mu.Lock()
	e := l.held[k]
	l.mu.Unlock()
	<-e.ch
	l.unref(k)
}

// lockKeys names what a partial plan of d may write: each desired group's
// ownership key and its Lightdash name (two keys wanting one name must not
// both create it).
func lockKeys(d *Desired) []string {
	var keys []string
	for _, g := range d.Groups {
		keys = append(keys, "key\x00"+g.Key, "name\x00"+g.Name)
	}
	sort.Strings(keys)
	return keys
}
