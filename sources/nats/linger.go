package nats

import (
	"errors"
	"sync"
	"time"
)

// errLingerOver ends a batch: no event came within batchLinger.
var errLingerOver = errors.New("no more events within the batch linger")

// linger is the context a batch's further Next calls wait on: it is done
// once batchLinger passes without the wait being restarted. One timer
// serves the whole batch, restarted before each wait, where NextMaxWait
// makes a timer per event.
type linger struct {
	t    *time.Timer
	done chan struct{}
	once sync.Once
}

func newLinger() *linger {
	l := &linger{done: make(chan struct{})}
	l.t = time.AfterFunc(batchLinger, func() { l.once.Do(func() { close(l.done) }) })
	return l
}

// restart starts the wait for the next event afresh; once the linger is
// over it stays over.
func (l *linger) restart() { l.t.Reset(batchLinger) }

// stop releases the timer.
func (l *linger) stop() { l.t.Stop() }

func (l *linger) Deadline() (time.Time, bool) { return time.Time{}, false }
func (l *linger) Done() <-chan struct{}       { return l.done }
func (l *linger) Value(any) any               { return nil }

func (l *linger) Err() error {
	select {
	case <-l.done:
		return errLingerOver
	default:
		return nil
	}
}
