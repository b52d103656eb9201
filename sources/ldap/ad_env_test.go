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
)

// adDir is a part of the shared Samba domain owned by one test: an OU for
// its users and one for its groups, directly under the domain root (the
// DirSync search base must be a naming context root). Names carry the
// test's number, as sAMAccountName is unique across the domain.
type adDir struct {
	t      testing.TB
	srv    *ldaptest.Samba
	conn   *goldap.Conn
	n      string
	users  string // OU DN
	groups string // OU DN

	mu  sync.Mutex
	dns map[string]string // id → DN
}

var adDirs atomic.Int64

func newADDir(t testing.TB) *adDir {
	t.Helper()
	srv := ldaptest.SharedSamba(t)
	c, err := srv.Dial()
	if err != nil {
		t.Fatalf("bind to samba: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	n := strconv.FormatInt(adDirs.Add(1), 10)
	d := &adDir{t: t, srv: srv, conn: c, n: n, dns: map[string]string{},
		users:  "OU=t" + n + "users," + ldaptest.SambaBaseDN,
		groups: "OU=t" + n + "groups," + ldaptest.SambaBaseDN}
	for _, ou := range []string{d.users, d.groups} {
		d.must(d.add(ou, map[string][]string{"objectClass": {"organizationalUnit"}}))
	}
	// Gone after the test: user principal names are unique in the domain.
	t.Cleanup(func() {
		for _, ou := range []string{d.users, d.groups} {
			_ = c.Del(goldap.NewDelRequest(ou, []goldap.Control{goldap.NewControlSubtreeDelete()}))
		}
	})
	return d
}

func (d *adDir) must(_ string, err error) {
	d.t.Helper()
	if err != nil {
		d.t.Fatal(err)
	}
}

// config is the activedirectory preset over LDAPS, bound as Administrator.
func (d *adDir) config() Config {
	return Config{
		Name:         "corp",
		URLs:         []string{d.srv.LDAPSURL()},
		CAFile:       d.srv.TLS().CAFile,
		BindDN:       ldaptest.SambaAdminDN,
		BindPassword: ldaptest.SambaPassword,
		Schema:       PresetActiveDirectory,
		GroupBaseDN:  d.groups,
		UserBaseDN:   d.users,
		Watch:        WatchDirSync,
		PollInterval: 100_000_000, // 100ms
		ReconnectMin: 20_000_000,
		ReconnectMax: 200_000_000,
	}
}

// add creates dn and returns its objectGUID as the source formats it.
func (d *adDir) add(dn string, attrs map[string][]string) (string, error) {
	req := goldap.NewAddRequest(dn, nil)
	for n, v := range attrs {
		if len(v) > 0 {
			req.Attribute(n, v)
		}
	}
	if err := d.conn.Add(req); err != nil {
		return "", fmt.Errorf("add %s: %w", dn, err)
	}
	id, err := d.guid(dn)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.dns[id] = dn
	d.mu.Unlock()
	return id, nil
}

func (d *adDir) guid(dn string) (string, error) {
	res, err := d.conn.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectGUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return "", fmt.Errorf("read objectGUID of %s: %v", dn, err)
	}
	return guidString(res.Entries[0].GetRawAttributeValue("objectGUID"))
}

func (d *adDir) dn(id string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dn, ok := d.dns[id]
	if !ok {
		return "", fmt.Errorf("no entry with id %q was added", id)
	}
	return dn, nil
}

func (d *adDir) setDN(id, dn string) {
	d.mu.Lock()
	d.dns[id] = dn
	d.mu.Unlock()
}

// addUser creates an enabled (or disabled) user CN=<name> with a password,
// so that userAccountControl 512 is allowed.
func (d *adDir) addUser(name, email string, disabled bool) string {
	d.t.Helper()
	id, err := d.AddUser(context.Background(), sources.DirUser{DisplayName: name, Email: email, Disabled: disabled})
	if err != nil {
		d.t.Fatal(err)
	}
	return id
}

func uac(disabled bool) string {
	if disabled {
		return "514"
	}
	return "512"
}

func (d *adDir) AddUser(_ context.Context, u sources.DirUser) (string, error) {
	sam := "t" + d.n + "-" + strings.ToLower(u.DisplayName)
	if len(sam) > 20 {
		sam = sam[:20]
	}
	upn := sam + "@corp.example"
	if len(u.AltEmails) > 0 {
		upn = u.AltEmails[0]
	}
	attrs := map[string][]string{
		"objectClass":        {"user"},
		"cn":                 {u.DisplayName},
		"displayName":        {u.DisplayName},
		"sAMAccountName":     {sam},
		"userPrincipalName":  {upn},
		"mail":               nonEmpty(u.Email),
		"unicodePwd":         {ldaptest.UnicodePwd("Us3r-Passw0rd!")},
		"userAccountControl": {uac(u.Disabled)},
	}
	return d.add("CN="+goldap.EscapeDN(u.DisplayName)+","+d.users, attrs)
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

func (d *adDir) members(users, groups []string) ([]string, error) {
	var out []string
	for _, id := range append(append([]string{}, users...), groups...) {
		dn, err := d.dn(id)
		if err != nil {
			return nil, err
		}
		out = append(out, dn)
	}
	return out, nil
}

func (d *adDir) AddGroup(_ context.Context, g sources.DirGroup) (string, error) {
	m, err := d.members(g.MemberUsers, g.MemberGroups)
	if err != nil {
		return "", err
	}
	sam := "t" + d.n + "-" + strings.ToLower(g.Name)
	if len(sam) > 20 {
		sam = sam[:20]
	}
	return d.add("CN="+goldap.EscapeDN(g.Name)+","+d.groups, map[string][]string{
		"objectClass": {"group"}, "cn": {g.Name}, "sAMAccountName": {sam}, "member": m,
	})
}

func (d *adDir) modify(id string, f func(*goldap.ModifyRequest)) error {
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

func (d *adDir) SetMembers(_ context.Context, groupID string, users, groups []string) error {
	m, err := d.members(users, groups)
	if err != nil {
		return err
	}
	return d.modify(groupID, func(r *goldap.ModifyRequest) {
		if len(m) == 0 {
			r.Delete("member", nil)
			return
		}
		r.Replace("member", m)
	})
}

func (d *adDir) UpdateUser(_ context.Context, u sources.DirUser) error {
	return d.modify(u.ID, func(r *goldap.ModifyRequest) {
		r.Replace("mail", nonEmpty(u.Email))
		r.Replace("displayName", []string{u.DisplayName})
		r.Replace("userAccountControl", []string{uac(u.Disabled)})
	})
}

func (d *adDir) DeleteGroup(_ context.Context, groupID string) error {
	dn, err := d.dn(groupID)
	if err != nil {
		return err
	}
	if err := d.conn.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		return fmt.Errorf("delete %s: %w", dn, err)
	}
	return nil
}
