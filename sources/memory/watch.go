package memory

import (
	"context"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// watcher queues changes without bound, so setters never block and no
// change is dropped while the daemon is busy (the Watcher contract).
type watcher struct {
	queue  []sources.Change
	notify chan struct{} // capacity 1: "the queue may be non-empty"
}

// emitLocked queues c for every watcher.
func (s *Source) emitLocked(c sources.Change) {
	c.Source = s.name
	for w := range s.watchers {
		c := c
		c.GroupIDs = append([]string(nil), c.GroupIDs...)
		c.UserIDs = append([]string(nil), c.UserIDs...)
		w.queue = append(w.queue, c)
		select {
		case w.notify <- struct{}{}:
		default:
		}
	}
}

// Watch implements sources.Watcher: every change made after Watch starts is
// sent on changes, in order, until ctx is done. It returns ctx.Err().
func (s *Source) Watch(ctx context.Context, changes chan<- sources.Change) error {
	w := &watcher{notify: make(chan struct{}, 1)}
	s.mu.Lock()
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		var next *sources.Change
		if len(w.queue) > 0 {
			c := w.queue[0]
			w.queue = w.queue[1:]
			next = &c
		}
		s.mu.Unlock()
		if next == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-w.notify:
				continue
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case changes <- *next:
		}
	}
}

// Watching reports how many Watch calls are running, so tests can wait
// for a watcher to be in place before changing the directory.
func (s *Source) Watching() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.watchers)
}
