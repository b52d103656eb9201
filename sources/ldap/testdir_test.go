package ldap

import (
	"context"
	"fmt"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// testDir is what the Envs of the real directory servers (Samba AD,
// 389-DS) share: a connection bound as an administrator, and the DN of
// each entry a test added, by the id the source reports for it.
type testDir struct {
	conn *goldap.Conn
	// idAttr is read back after an add and turned into the source's id by
	// idOf.
	idAttr string
	idOf   func(*goldap.Entry) (string, error)

	mu  sync.Mutex
	dns map[string]string // id → DN
}

// newTestDir binds with dial for the length of the test.
func newTestDir(t testing.TB, dial func() (*goldap.Conn, error), idAttr string, idOf func(*goldap.Entry) (string, error)) *testDir {
	t.Helper()
	c, err := dial()
	if err != nil {
		t.Fatalf("bind as the test's administrator: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &testDir{conn: c, idAttr: idAttr, idOf: idOf, dns: map[string]string{}}
}

// add creates dn with the non-empty attributes and returns its id.
func (d *testDir) add(dn string, attrs map[string][]string) (string, error) {
	req := goldap.NewAddRequest(dn, nil)
	for n, v := range attrs {
		if len(v) > 0 {
			req.Attribute(n, v)
		}
	}
	if err := d.conn.Add(req); err != nil {
		return "", fmt.Errorf("add %s: %w", dn, err)
	}
	res, err := d.conn.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{d.idAttr}, nil))
	if err != nil || len(res.Entries) != 1 {
		return "", fmt.Errorf("read %s of %s: %v", d.idAttr, dn, err)
	}
	id, err := d.idOf(res.Entries[0])
	if err != nil {
		return "", fmt.Errorf("read %s of %s: %w", d.idAttr, dn, err)
	}
	d.setDN(id, dn)
	return id, nil
}

func (d *testDir) dn(id string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dn, ok := d.dns[id]
	if !ok {
		return "", fmt.Errorf("no entry with id %q was added", id)
	}
	return dn, nil
}

// setDN records where the entry id is, after an add or a rename.
func (d *testDir) setDN(id, dn string) {
	d.mu.Lock()
	d.dns[id] = dn
	d.mu.Unlock()
}

// dnsOf returns the DNs of the ids of every list, in order.
func (d *testDir) dnsOf(lists ...[]string) ([]string, error) {
	var out []string
	for _, ids := range lists {
		for _, id := range ids {
			dn, err := d.dn(id)
			if err != nil {
				return nil, err
			}
			out = append(out, dn)
		}
	}
	return out, nil
}

func (d *testDir) modify(id string, f func(*goldap.ModifyRequest)) error {
	dn, err := d.dn(id)
	if err != nil {
		return err
	}
	req := goldap.NewModifyRequest(dn, nil)
	f(req)
	if err := d.conn.Modify(req); err != nil {
		return fmt.Errorf("modify %s: %w", dn, err)
	}
	return nil
}

func (d *testDir) DeleteGroup(_ context.Context, groupID string) error {
	dn, err := d.dn(groupID)
	if err != nil {
		return err
	}
	if err := d.conn.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		return fmt.Errorf("delete %s: %w", dn, err)
	}
	return nil
}
