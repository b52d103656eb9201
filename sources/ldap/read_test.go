package ldap

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestSnapshotPresets(t *testing.T) {
	srv := startDirectory(t)
	ids := func(uids ...string) []string { return sorted(userIDsByUID(srv, uids...)) }
	groupID := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }

	t.Run("openldap", func(t *testing.T) {
		snap, err := newSource(t, baseConfig(srv)).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !snap.Complete {
			t.Fatalf("complete: got false (%s), want true", snap.IncompleteReason)
		}
		if len(snap.Users) != 5 {
			t.Fatalf("users: got %d, want 5", len(snap.Users))
		}
		cases := []struct {
			group   string
			users   []string
			nested  []string
			present bool
		}{
			{"engineering", ids("alice", "bob"), []string{groupID("platform")}, true},
			{"platform", ids("carol"), nil, true},
			{"sales", ids("dave"), nil, true}, // groupOfUniqueNames
			{"cycle-a", ids("alice"), []string{groupID("cycle-b")}, true},
			{"cycle-b", ids("bob"), []string{groupID("cycle-a")}, true},
			{"ops*)(cn=*", ids("dave", "mallory*)(uid=\\2a"), nil, true},
			{"outsiders", ids("alice"), nil, true}, // member outside the user base is ignored
			{"posix-devs", nil, nil, false},        // posixGroup is not an openldap-preset group
		}
		for _, c := range cases {
			g := groupByName(snap, c.group)
			if (g != nil) != c.present {
				t.Fatalf("group %s present: got %v, want %v", c.group, g != nil, c.present)
			}
			if g == nil {
				continue
			}
			if got := sorted(g.MemberUsers); !slices.Equal(got, c.users) {
				t.Errorf("%s users: got %v, want %v", c.group, got, c.users)
			}
			if got := sorted(g.MemberGroups); !slices.Equal(got, sorted(c.nested)) {
				t.Errorf("%s groups: got %v, want %v", c.group, got, c.nested)
			}
			if g.ID != groupID(strings.ReplaceAll(c.group, "*)(cn=*", "*)(cn=\\2a")) {
				t.Errorf("%s id: got %s, want its entryUUID", c.group, g.ID)
			}
		}
		for _, u := range snap.Users {
			if u.Email == "" || u.DisplayName == "" || u.Disabled {
				t.Errorf("user %s: got %+v, want email and name, enabled", u.DN, u)
			}
			if strings.HasPrefix(u.DN, "uid=carol") && !slices.Equal(u.AltEmails, []string{"carol.clark@example.org"}) {
				t.Errorf("carol alt emails: got %v", u.AltEmails)
			}
		}
	})

	t.Run("rfc2307 memberUid", func(t *testing.T) {
		cfg := baseConfig(srv)
		cfg.Schema = PresetRFC2307
		snap, err := newSource(t, cfg).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Groups) != 1 {
			t.Fatalf("groups: got %d, want only posix-devs", len(snap.Groups))
		}
		// "Carol" matches case-insensitively; "*" and the hostile value
		// must not match everyone.
		want := ids("alice", "carol", "mallory*)(uid=\\2a")
		if got := sorted(snap.Groups[0].MemberUsers); !slices.Equal(got, want) {
			t.Fatalf("posix-devs users: got %v, want %v", got, want)
		}
	})

	t.Run("attribute overrides and disabled", func(t *testing.T) {
		cfg := baseConfig(srv)
		cfg.GroupObjectClasses = []string{"groupOfUniqueNames"}
		cfg.MemberAttributes = []string{"uniqueMember"}
		cfg.EmailAttributes = []string{"uid", "mail"}
		cfg.Disabled = DisabledAttribute
		cfg.DisabledAttribute = "sn"
		cfg.DisabledValues = []string{"DOE"}
		snap, err := newSource(t, cfg).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Groups) != 1 || snap.Groups[0].Name != "sales" {
			t.Fatalf("groups: got %+v, want only sales", snap.Groups)
		}
		for _, u := range snap.Users {
			if wantDisabled := strings.HasPrefix(u.DN, "uid=dave"); u.Disabled != wantDisabled {
				t.Errorf("%s disabled: got %v, want %v", u.DN, u.Disabled, wantDisabled)
			}
			if strings.HasPrefix(u.DN, "uid=bob") && (u.Email != "bob" || u.AltEmails[0] != "bob@example.com") {
				t.Errorf("bob emails: got %q %v", u.Email, u.AltEmails)
			}
		}
	})
}

func TestReadGroups(t *testing.T) {
	srv := startDirectory(t)
	src := newSource(t, baseConfig(srv))
	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	cases := []struct {
		name       string
		ids        []string
		wantGroups []string
		wantUsers  []string
	}{
		{"nested", []string{gid("engineering")}, []string{"engineering", "platform"}, []string{"alice", "bob", "carol"}},
		{"cycle", []string{gid("cycle-a")}, []string{"cycle-a", "cycle-b"}, []string{"alice", "bob"}},
		{"hostile names", []string{gid("ops*)(cn=\\2a")}, []string{"ops*)(cn=*"}, []string{"dave", "mallory*)(uid=\\2a"}},
		{"hostile id", []string{"*", ")(objectClass=*"}, nil, nil},
		{"unknown id", []string{"00000000-0000-0000-0000-000000000000"}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap, err := src.ReadGroups(context.Background(), c.ids)
			if err != nil {
				t.Fatal(err)
			}
			if !snap.Complete {
				t.Fatalf("incomplete: %s", snap.IncompleteReason)
			}
			var names []string
			for _, g := range snap.Groups {
				names = append(names, g.Name)
			}
			if got := sorted(names); !slices.Equal(got, sorted(c.wantGroups)) {
				t.Errorf("groups: got %v, want %v", got, c.wantGroups)
			}
			var users []string
			for _, u := range snap.Users {
				users = append(users, u.ID)
			}
			if got, want := sorted(users), sorted(userIDsByUID(srv, c.wantUsers...)); !slices.Equal(got, want) {
				t.Errorf("users: got %v, want %v", got, want)
			}
		})
	}
}

func manyUsers(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "dn: uid=user%04d,%s\nobjectClass: inetOrgPerson\nuid: user%04d\ncn: User %d\nsn: U\nmail: user%04d@example.com\n\n", i, people, i, i, i)
	}
	b.WriteString("dn: cn=everyone," + groups + "\nobjectClass: groupOfNames\ncn: everyone\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "member: uid=user%04d,%s\n", i, people)
	}
	return []byte(b.String())
}

func TestSnapshotPaging(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.WithSeed(manyUsers(1200)))
	cfg := baseConfig(srv)
	cfg.PageSize = 100
	snap, err := newSource(t, cfg).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Complete || len(snap.Users) != 1200 {
		t.Fatalf("got %d users complete=%v (%s), want 1200 complete", len(snap.Users), snap.Complete, snap.IncompleteReason)
	}
	if g := groupByName(snap, "everyone"); g == nil || len(g.MemberUsers) != 1200 {
		t.Fatalf("everyone: got %v, want 1200 members", g)
	}
}

func TestSizeLimitMakesSnapshotIncomplete(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.WithSeed(manyUsers(120)), ldaptest.WithSizeLimit(50))
	cfg := baseConfig(srv)
	cfg.PageSize = 20
	snap, err := newSource(t, cfg).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Complete {
		t.Fatalf("complete: got true with %d of 120 users, want false", len(snap.Users))
	}
	if !strings.Contains(snap.IncompleteReason, "Size Limit Exceeded") {
		t.Fatalf("reason: got %q, want it to name the size limit", snap.IncompleteReason)
	}
	if len(snap.Users) == 0 || len(snap.Users) >= 120 {
		t.Fatalf("users: got %d, want the partial read", len(snap.Users))
	}
}

func TestTLSConnections(t *testing.T) {
	srv := startDirectory(t, ldaptest.WithTLS())
	cases := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"starttls", func(c *Config) { c.StartTLS = true; c.CAFile = srv.TLS().CAFile }, ""},
		{"ldaps", func(c *Config) { c.URLs = []string{srv.LDAPSURL()}; c.CAFile = srv.TLS().CAFile }, ""},
		{"ldaps server name", func(c *Config) {
			c.URLs = []string{srv.LDAPSURL()}
			c.CAFile = srv.TLS().CAFile
			c.ServerName = "localhost"
		}, ""},
		{"unknown CA", func(c *Config) { c.URLs = []string{srv.LDAPSURL()} }, "certificate"},
		{"wrong server name", func(c *Config) {
			c.URLs = []string{srv.LDAPSURL()}
			c.CAFile = srv.TLS().CAFile
			c.ServerName = "ldap.example.net"
		}, "certificate"},
		{"insecure", func(c *Config) { c.URLs = []string{srv.LDAPSURL()}; c.InsecureSkipVerify = true }, ""},
		{"failover", func(c *Config) { c.URLs = []string{"ldap://127.0.0.1:1", srv.URL()} }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := baseConfig(srv)
			c.mutate(&cfg)
			snap, err := newSource(t, cfg).Snapshot(context.Background())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !snap.Complete || len(snap.Users) != 5 {
				t.Fatalf("got %d users complete=%v", len(snap.Users), snap.Complete)
			}
		})
	}
}

func TestBindErrorsLeakNoPassword(t *testing.T) {
	srv := startDirectory(t)
	cfg := baseConfig(srv)
	cfg.BindPassword = "hunter2-very-secret"
	src := newSource(t, cfg)
	_, err := src.Snapshot(context.Background())
	if err == nil {
		t.Fatal("wrong password: got no error")
	}
	for _, s := range []string{err.Error(), src.String(), fmt.Sprintf("%+v", src)} {
		if strings.Contains(s, cfg.BindPassword) {
			t.Fatalf("password leaked: %s", s)
		}
	}
	if !strings.Contains(err.Error(), "Invalid Credentials") {
		t.Fatalf("got %v, want invalid credentials", err)
	}
}

func TestAnonymousBind(t *testing.T) {
	srv := startDirectory(t)
	cfg := baseConfig(srv)
	cfg.BindDN, cfg.BindPassword, cfg.Anonymous = "", "", true
	snap, err := newSource(t, cfg).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Users) != 5 {
		t.Fatalf("anonymous read: got %d users, want 5", len(snap.Users))
	}
}

func TestReadGroupsMemberUID(t *testing.T) {
	srv := startDirectory(t)
	cfg := baseConfig(srv)
	cfg.Schema = PresetRFC2307
	snap, err := newSource(t, cfg).ReadGroups(context.Background(), []string{srv.EntryUUID("cn=posix-devs," + groups)})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, u := range snap.Users {
		users = append(users, u.ID)
	}
	// "*" and the hostile memberUid are looked up escaped: they find
	// nobody but mallory herself.
	if got, want := sorted(users), sorted(userIDsByUID(srv, "alice", "carol", "mallory*)(uid=\\2a")); !slices.Equal(got, want) {
		t.Fatalf("users: got %v, want %v", got, want)
	}
	if len(snap.Groups) != 1 || len(snap.Groups[0].MemberUsers) != 3 || !snap.Complete {
		t.Fatalf("groups: got %+v complete %v", snap.Groups, snap.Complete)
	}
}

// TestMemberUIDLookalikeIsNotTheUser: a user whose uid is "\u212Aate"
// (U+212A KELVIN SIGN, which Unicode lower-casing folds to "k") is not the
// member that memberUid "kate" names: uids are keyed with ASCII case
// rules, as LDAP compares memberUid (IA5).
func TestMemberUIDLookalikeIsNotTheUser(t *testing.T) {
	srv := startDirectory(t)
	posix := func(uid, cn, mail, n string) map[string][]string {
		return map[string][]string{"objectClass": {"inetOrgPerson", "posixAccount"}, "uid": {uid}, "cn": {cn}, "sn": {cn},
			"mail": {mail}, "uidNumber": {n}, "gidNumber": {"1000"}, "homeDirectory": {"/home/" + n}}
	}
	srv.Add("uid=kate,"+people, posix("kate", "Kate", "kate@example.com", "2001"))
	// slapd folds the sign in DNs, so the lookalike is named by its cn.
	srv.Add("cn=mallory-k,"+people, posix("\u212Aate", "mallory-k", "mallory@example.com", "2002"))
	srv.Add("cn=kates,"+groups, map[string][]string{"objectClass": {"posixGroup"}, "cn": {"kates"}, "gidNumber": {"5001"}, "memberUid": {"kate"}})
	cfg := baseConfig(srv)
	cfg.Schema = PresetRFC2307
	snap, err := newSource(t, cfg).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := groupByName(snap, "kates")
	if g == nil {
		t.Fatal("group kates not read")
	}
	if want := userIDsByUID(srv, "kate"); !slices.Equal(g.MemberUsers, want) {
		t.Errorf("kates members %v, want only kate %v (the lookalike is %s)", g.MemberUsers, want, srv.EntryUUID("cn=mallory-k,"+people))
	}
}
