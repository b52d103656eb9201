package natsstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Cookies keeps the LDAP sources' watch cookies (syncrepl, DirSync) in the
// state bucket, one key per cookie: "<key>.cookie.<hash of the cookie's
// name>". A watcher saves its cookie at any moment, so each save writes
// that cookie alone, never a document shared with the ownership state or
// with the other cookies. It implements ldap.CookieStore.
type Cookies struct {
	kv  jetstream.KeyValue
	key string

	// legacy is the document cookies were kept in before ("<key>-cookies",
	// a whole State); a cookie missing from its own key is read from it
	// once, so an upgrade resumes the watch instead of refreshing in full.
	legacy   *Store
	mu       sync.Mutex
	legacyOK bool
	old      map[string][]byte
}

// NewCookies opens the cookies of the unit whose state is at key in bucket,
// creating the bucket as New does.
func NewCookies(ctx context.Context, js jetstream.JetStream, bucket, key string) (*Cookies, error) {
	legacy, err := New(ctx, js, bucket, key+"-cookies")
	if err != nil {
		return nil, err
	}
	return &Cookies{kv: legacy.kv, key: key, legacy: legacy}, nil
}

// cookieKey is the key holding the cookie named name: cookie names hold
// DNs, which a key may not, so the name is hashed.
func (c *Cookies) cookieKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return c.key + ".cookie." + hex.EncodeToString(sum[:16])
}

// LoadCookie returns the saved cookie, or nil.
func (c *Cookies) LoadCookie(ctx context.Context, name string) ([]byte, error) {
	e, err := retry(ctx, DefaultRequestTimeout, func(ctx context.Context) (jetstream.KeyValueEntry, error) {
		return c.kv.Get(ctx, c.cookieKey(name))
	})
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return c.migrate(ctx, name)
	case err != nil:
		return nil, fmt.Errorf("load cookie %s: %w", name, err)
	case len(e.Value()) == 0:
		return nil, nil
	}
	return e.Value(), nil
}

// SaveCookie stores cookie under its own key. An empty cookie forgets it:
// it is stored empty, not deleted, so that the legacy document's cookie is
// never read for this name again.
func (c *Cookies) SaveCookie(ctx context.Context, name string, cookie []byte) error {
	_, err := retry(ctx, DefaultRequestTimeout, func(ctx context.Context) (uint64, error) {
		return c.kv.Put(ctx, c.cookieKey(name), cookie)
	})
	if err != nil {
		return fmt.Errorf("save cookie %s: %w", name, err)
	}
	return nil
}

// migrate returns the cookie the legacy document holds for name, or nil,
// for a name never saved under its own key. The document is read once and
// left in place.
func (c *Cookies) migrate(ctx context.Context, name string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.legacyOK {
		st, err := c.legacy.Load(ctx)
		if err != nil {
			return nil, fmt.Errorf("load cookie %s from %s: %w", name, c.legacy.where(), err)
		}
		c.old, c.legacyOK = st.Cookies, true
	}
	return c.old[name], nil
}
