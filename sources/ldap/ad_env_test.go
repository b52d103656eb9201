package ldap

import (
	"context"
	"strconv"
	"strings"
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
	*testDir
	t      testing.TB
	srv    *ldaptest.Samba
	n      string
	users  string // OU DN
	groups string // OU DN
}

var adDirs atomic.Int64

func newADDir(t testing.TB) *adDir {
	t.Helper()
	srv := ldaptest.SharedSamba(t)
	n := strconv.FormatInt(adDirs.Add(1), 10)
	objectGUID := func(e *goldap.Entry) (string, error) { return guidString(e.GetRawAttributeValue("objectGUID")) }
	d := &adDir{testDir: newTestDir(t, srv.Dial, "objectGUID", objectGUID), t: t, srv: srv, n: n,
		users:  "OU=t" + n + "users," + ldaptest.SambaBaseDN,
		groups: "OU=t" + n + "groups," + ldaptest.SambaBaseDN}
	for _, ou := range []string{d.users, d.groups} {
		d.must(d.add(ou, map[string][]string{"objectClass": {"organizationalUnit"}}))
	}
	// Gone after the test: user principal names are unique in the domain.
	t.Cleanup(func() {
		for _, ou := range []string{d.users, d.groups} {
			_ = d.conn.Del(goldap.NewDelRequest(ou, []goldap.Control{goldap.NewControlSubtreeDelete()}))
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

func (d *adDir) AddGroup(_ context.Context, g sources.DirGroup) (string, error) {
	m, err := d.dnsOf(g.MemberUsers, g.MemberGroups)
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

func (d *adDir) SetMembers(_ context.Context, groupID string, users, groups []string) error {
	m, err := d.dnsOf(users, groups)
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
