package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// CookieFile keeps the LDAP sources' watch cookies (syncrepl, DirSync) in
// a small file of their own beside the state file, apart from the
// ownership state: watchers save cookies at any moment while the worker
// saves its state whole. The file is small (a cookie per LDAP source): each
// call reads it, so two stores on one file (a reload's old and new daemon)
// keep each other's cookies, and a save rewrites it atomically. It
// implements ldap.CookieStore.
//
// The file is JSON with a version and a "cookies" map, the form the
// cookies were saved in before (a State holding only cookies), so a file
// written by either is read by the other.
type CookieFile struct {
	Path string

	mu sync.Mutex // serialises each read and rewrite
}

// cookieFile is the file's JSON.
type cookieFile struct {
	Version int               `json:"version"`
	Cookies map[string][]byte `json:"cookies"`
}

// NewCookieFile returns a store at path. The directory must exist.
func NewCookieFile(path string) *CookieFile { return &CookieFile{Path: path} }

// LoadCookie returns the saved cookie, or nil.
func (c *CookieFile) LoadCookie(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cookies, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	return cookies[key], nil
}

// SaveCookie stores a copy of cookie; an empty cookie forgets the key.
func (c *CookieFile) SaveCookie(ctx context.Context, key string, cookie []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cookies, err := c.read(ctx)
	if err != nil {
		return err
	}
	if len(cookie) == 0 {
		delete(cookies, key)
	} else {
		cookies[key] = cookie
	}
	b, err := json.Marshal(cookieFile{Version: 1, Cookies: cookies})
	if err != nil {
		return fmt.Errorf("save cookie: %w", err)
	}
	if err := writeFileAtomic(c.Path, b); err != nil {
		return fmt.Errorf("save cookie: %w", err)
	}
	return nil
}

// read returns the cookies in the file; a missing file holds none.
func (c *CookieFile) read(ctx context.Context) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var f cookieFile
	b, err := os.ReadFile(c.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read cookies: %w", err)
	default:
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrStateCorrupt, c.Path, err)
		}
	}
	if f.Cookies == nil {
		f.Cookies = map[string][]byte{}
	}
	return f.Cookies, nil
}
