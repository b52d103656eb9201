package ldap

import (
	"context"
	"sync"

	"go.uber.org/zap"
)

// cookieSaver saves the newest syncrepl cookie in the background, so the
// watcher never waits for the store (a file rewrite and two fsyncs, tens
// of milliseconds on a busy disk) before it reads the next change. Only
// the newest cookie matters: one not saved yet is replaced by the next.
// stop saves what is still pending. A cookie saved late at worst makes a
// restarted daemon replay a few changes, which events tolerate.
type cookieSaver struct {
	store CookieStore
	key   string
	log   *zap.Logger

	mu      sync.Mutex
	pending []byte
	dirty   bool

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func startCookieSaver(store CookieStore, key string, log *zap.Logger) *cookieSaver {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cookieSaver{store: store, key: key, log: log, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// save asks for cookie to be saved; nil forgets the saved one.
func (c *cookieSaver) save(cookie []byte) {
	c.mu.Lock()
	c.pending, c.dirty = cookie, true
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default: // a save is already due; it takes the newest cookie
	}
}

func (c *cookieSaver) run(ctx context.Context) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
			c.flush()
		}
	}
}

// flush saves the pending cookie, if any.
func (c *cookieSaver) flush() {
	c.mu.Lock()
	cookie, dirty := c.pending, c.dirty
	c.dirty = false
	c.mu.Unlock()
	if !dirty {
		return
	}
	if err := c.store.SaveCookie(context.Background(), c.key, cookie); err != nil {
		c.log.Warn("ldap syncrepl: save cookie", zap.Error(err))
	}
}

// stop ends the saver once its current save is done, and saves the
// cookie still pending.
func (c *cookieSaver) stop() {
	c.cancel()
	<-c.done
	c.flush()
}
