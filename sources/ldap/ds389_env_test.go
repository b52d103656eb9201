package ldap

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/worker/sourcetest"
)

// dsDir is a part of the shared 389-DS instance owned by one test:
// ou=t<n> with ou=people and ou=groups below it.
type dsDir struct {
	t      testing.TB
	srv    *ldaptest.DS389
	conn   *goldap.Conn
	people string
	groups string

	mu  sync.Mutex
	dns map[string]string // nsUniqueId → DN
}

var dsDirs atomic.Int64

func newDSDir(t testing.TB) *dsDir {
	t.Helper()
	srv := ldaptest.Shared389DS(t)
	c, err := srv.Dial()
	if err != nil {
		t.Fatalf("bind to 389-DS: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	top := "ou=t" + strconv.FormatInt(dsDirs.Add(1), 10) + "," + ldaptest.DS389Suffix
	d := &dsDir{t: t, srv: srv, conn: c, people: "ou=people," + top, groups: "ou=groups," + top, dns: map[string]string{}}
	for _, ou := range []string{top, d.people, d.groups} {
		if _, err := d.add(ou, map[string][]string{"objectClass": {"organizationalUnit"}}); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// config is the 389ds preset bound as the Directory Manager, watched with
// syncrepl (Content Synchronization).
func (d *dsDir) config() Config {
	return Config{
		Name:         "corp",
		URLs:         []string{d.srv.URL()},
		BindDN:       ldaptest.DS389RootDN,
		BindPassword: ldaptest.DS389Password,
		Schema:       Preset389DS,
		GroupBaseDN:  d.groups,
		UserBaseDN:   d.people,
		Watch:        WatchSyncrepl,
		ReconnectMin: 20_000_000,
		ReconnectMax: 200_000_000,
	}
}

func (d *dsDir) add(dn string, attrs map[string][]string) (string, error) {
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
		"(objectClass=*)", []string{"nsUniqueId"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return "", fmt.Errorf("read nsUniqueId of %s: %v", dn, err)
	}
	id := strings.ToLower(res.Entries[0].GetAttributeValue("nsUniqueId"))
	d.mu.Lock()
	d.dns[id] = dn
	d.mu.Unlock()
	return id, nil
}

func (d *dsDir) dn(id string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dn, ok := d.dns[id]
	if !ok {
		return "", fmt.Errorf("no entry with id %q was added", id)
	}
	return dn, nil
}

func locked(disabled bool) []string {
	if disabled {
		return []string{"true"}
	}
	return []string{"false"}
}

func (d *dsDir) AddUser(_ context.Context, u sources.DirUser) (string, error) {
	uid := strings.ToLower(u.DisplayName)
	return d.add("uid="+goldap.EscapeDN(uid)+","+d.people, map[string][]string{
		"objectClass":   {"inetOrgPerson"},
		"uid":           {uid},
		"cn":            {u.DisplayName},
		"sn":            {u.DisplayName},
		"mail":          append(nonEmpty(u.Email), u.AltEmails...),
		"nsAccountLock": locked(u.Disabled),
	})
}

// members lists member DNs; groupOfNames needs one, so an empty group
// names the suffix (neither a user nor a group).
func (d *dsDir) members(users, groups []string) ([]string, error) {
	var out []string
	for _, id := range append(append([]string{}, users...), groups...) {
		dn, err := d.dn(id)
		if err != nil {
			return nil, err
		}
		out = append(out, dn)
	}
	if len(out) == 0 {
		out = []string{ldaptest.DS389Suffix}
	}
	return out, nil
}

func (d *dsDir) AddGroup(_ context.Context, g sources.DirGroup) (string, error) {
	m, err := d.members(g.MemberUsers, g.MemberGroups)
	if err != nil {
		return "", err
	}
	return d.add("cn="+goldap.EscapeDN(g.Name)+","+d.groups, map[string][]string{
		"objectClass": {"groupOfNames"}, "cn": {g.Name}, "member": m,
	})
}

func (d *dsDir) modify(id string, attrs map[string][]string) error {
	dn, err := d.dn(id)
	if err != nil {
		return err
	}
	req := goldap.NewModifyRequest(dn, nil)
	for n, v := range attrs {
		req.Replace(n, v)
	}
	if err := d.conn.Modify(req); err != nil {
		return fmt.Errorf("modify %s: %w", dn, err)
	}
	return nil
}

func (d *dsDir) SetMembers(_ context.Context, groupID string, users, groups []string) error {
	m, err := d.members(users, groups)
	if err != nil {
		return err
	}
	return d.modify(groupID, map[string][]string{"member": m})
}

func (d *dsDir) UpdateUser(_ context.Context, u sources.DirUser) error {
	return d.modify(u.ID, map[string][]string{
		"cn": {u.DisplayName}, "mail": append(nonEmpty(u.Email), u.AltEmails...), "nsAccountLock": locked(u.Disabled),
	})
}

func (d *dsDir) DeleteGroup(_ context.Context, groupID string) error {
	dn, err := d.dn(groupID)
	if err != nil {
		return err
	}
	if err := d.conn.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		return fmt.Errorf("delete %s: %w", dn, err)
	}
	return nil
}

// dsEnv is the contract suite's directory on 389-DS.
type dsEnv struct {
	*dsDir
	src   *Source
	ready chan struct{}
}

func (e *dsEnv) Source() sources.Source { return e.src }

func (e *dsEnv) WatchReady(ctx context.Context) error {
	select {
	case <-e.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("syncrepl refresh did not end: %w", ctx.Err())
	}
}

func newDSEnv(t testing.TB) *dsEnv {
	d := newDSDir(t)
	e := &dsEnv{dsDir: d, src: newSource(t, d.config()), ready: make(chan struct{}, 1)}
	e.src.onRefreshDone = func() {
		select {
		case e.ready <- struct{}{}:
		default:
		}
	}
	return e
}

var (
	_ sourcetest.Env          = (*dsEnv)(nil)
	_ sourcetest.WatchReadier = (*dsEnv)(nil)
)

func (d *dsDir) addUser(name string, disabled bool) string {
	d.t.Helper()
	id, err := d.AddUser(context.Background(), sources.DirUser{DisplayName: name, Email: name + "@example.com", Disabled: disabled})
	if err != nil {
		d.t.Fatal(err)
	}
	return id
}

func (d *dsDir) addGroup(name string, users ...string) string {
	d.t.Helper()
	id, err := d.AddGroup(context.Background(), sources.DirGroup{Name: name, MemberUsers: users})
	if err != nil {
		d.t.Fatal(err)
	}
	return id
}
