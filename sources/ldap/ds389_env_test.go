package ldap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	*testDir
	t      testing.TB
	srv    *ldaptest.DS389
	people string
	groups string
}

var dsDirs atomic.Int64

func newDSDir(t testing.TB) *dsDir {
	t.Helper()
	srv := ldaptest.Shared389DS(t)
	top := "ou=t" + strconv.FormatInt(dsDirs.Add(1), 10) + "," + ldaptest.DS389Suffix
	d := &dsDir{testDir: newTestDir(t, srv.Dial, "nsUniqueId", nsUniqueID), t: t, srv: srv, people: "ou=people," + top, groups: "ou=groups," + top}
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

// nsUniqueID is the entry's nsUniqueId as the source reports it.
func nsUniqueID(e *goldap.Entry) (string, error) {
	id := strings.ToLower(e.GetAttributeValue("nsUniqueId"))
	if id == "" {
		return "", errors.New("no nsUniqueId")
	}
	return id, nil
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
	out, err := d.dnsOf(users, groups)
	if err != nil {
		return nil, err
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

// replace replaces the attributes of the entry id.
func (d *dsDir) replace(id string, attrs map[string][]string) error {
	return d.modify(id, func(r *goldap.ModifyRequest) {
		for n, v := range attrs {
			r.Replace(n, v)
		}
	})
}

func (d *dsDir) SetMembers(_ context.Context, groupID string, users, groups []string) error {
	m, err := d.members(users, groups)
	if err != nil {
		return err
	}
	return d.replace(groupID, map[string][]string{"member": m})
}

func (d *dsDir) UpdateUser(_ context.Context, u sources.DirUser) error {
	return d.replace(u.ID, map[string][]string{
		"cn": {u.DisplayName}, "mail": append(nonEmpty(u.Email), u.AltEmails...), "nsAccountLock": locked(u.Disabled),
	})
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
