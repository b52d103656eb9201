package admin

import (
	"sync"
	"time"
)

// DefaultStatusMaxAge is how long a rendered status page is served again
// while StatusVersion stays the same.
const DefaultStatusMaxAge = time.Second

// statusCache keeps the rendered /status and /status.json, so that a
// client polling them does not re-encode a large plan per request. A page
// is rendered again when the status version changes (a full
// reconciliation ended) or when it is older than the handler's max age
// (leadership, connections and queue depth change without a version).
type statusCache struct {
	mu      sync.Mutex
	version uint64
	at      time.Time
	pages   map[string][]byte
}

// get returns the page named format, rendering it when the cached one is
// of another version or too old. Requests wait for one rendering instead
// of each doing their own.
func (c *statusCache) get(format string, version uint64, now time.Time, maxAge time.Duration, render func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil || version != c.version || now.Sub(c.at) >= maxAge || now.Before(c.at) {
		c.pages, c.version, c.at = map[string][]byte{}, version, now
	}
	if p, ok := c.pages[format]; ok {
		return p, nil
	}
	p, err := render()
	if err != nil {
		return nil, err
	}
	c.pages[format] = p
	return p, nil
}
