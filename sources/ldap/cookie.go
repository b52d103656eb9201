package ldap

import (
	"context"
	"sync"
)

// CookieStore persists watch cookies (syncrepl, DirSync) so a restarted
// daemon resumes where it stopped instead of reading everything again.
// worker.CookieFile and natsstate.Cookies implement it beside the state
// store; a nil store given to New keeps cookies in memory only. LoadCookie returns nil, nil for an unknown key.
type CookieStore interface {
	LoadCookie(ctx context.Context, key string) ([]byte, error)
	SaveCookie(ctx context.Context, key string, cookie []byte) error
}

// MemoryCookieStore is a CookieStore in memory, for tests and for running
// without a state file.
type MemoryCookieStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemoryCookieStore returns an empty store.
func NewMemoryCookieStore() *MemoryCookieStore { return &MemoryCookieStore{m: map[string][]byte{}} }

// LoadCookie returns a copy of the saved cookie, or nil.
func (m *MemoryCookieStore) LoadCookie(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), c...), nil
}

// SaveCookie stores a copy of cookie; an empty cookie forgets the key.
func (m *MemoryCookieStore) SaveCookie(_ context.Context, key string, cookie []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(cookie) == 0 {
		delete(m.m, key)
		return nil
	}
	m.m[key] = append([]byte(nil), cookie...)
	return nil
}
