package ldap

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/prometheus/client_golang/prometheus"
)

func TestGUIDRoundTrip(t *testing.T) {
	// objectGUID bytes as AD sends them, and the string AD tools show.
	raw := []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	got, err := guidString(raw)
	if err != nil || got != "12345678-9abc-def0-0123-456789abcdef" {
		t.Fatalf("guidString: got %q, %v", got, err)
	}
	back, err := guidBytes(got)
	if err != nil || !slices.Equal(back, raw) {
		t.Fatalf("guidBytes: got %x, %v; want %x", back, err, raw)
	}
	if _, err := guidString(raw[:5]); err == nil {
		t.Fatal("short GUID: got no error")
	}
	for _, bad := range []string{"", "zz", "12345678-9abc-def0-0123-456789abcdeg", "*)(objectClass=*"} {
		if _, err := guidBytes(bad); err == nil {
			t.Errorf("guidBytes(%q): got no error", bad)
		}
	}
	d := decoder{cfg: &Config{IDAttribute: "objectGUID"}}
	f, err := d.idFilter(got)
	if err != nil || f != `(objectGUID=\78\56\34\12\bc\9a\f0\de\01\23\45\67\89\ab\cd\ef)` {
		t.Fatalf("idFilter: got %q, %v", f, err)
	}
	d = decoder{cfg: &Config{IDAttribute: "entryUUID"}}
	if f, _ := d.idFilter("*)(uid=*"); f != `(entryUUID=\2a\29\28uid=\2a)` {
		t.Fatalf("escaped id filter: got %q", f)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{URLs: []string{"ldap://127.0.0.1"}, BindDN: "cn=x", BindPassword: "s3cret-pw", GroupBaseDN: "dc=x", UserBaseDN: "dc=x"}
	cases := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"no urls", func(c *Config) { c.URLs = nil }, "urls"},
		{"bad scheme", func(c *Config) { c.URLs = []string{"http://x"} }, "urls"},
		{"starttls on ldaps", func(c *Config) { c.URLs = []string{"ldaps://x"}; c.StartTLS = true }, "start_tls"},
		{"no bind", func(c *Config) { c.BindDN = "" }, "bind_dn"},
		{"anonymous", func(c *Config) { c.BindDN, c.BindPassword, c.Anonymous = "", "", true }, ""},
		{"empty password", func(c *Config) { c.BindPassword = "" }, "bind_password"},
		{"half client cert", func(c *Config) { c.CertFile = "x" }, "cert_file"},
		{"bad base", func(c *Config) { c.GroupBaseDN = "not a dn" }, "group_base_dn"},
		{"bad scope", func(c *Config) { c.UserScope = "deep" }, "user_scope"},
		{"bad filter", func(c *Config) { c.GroupFilter = "(cn=x" }, "group_filter"},
		{"bad preset", func(c *Config) { c.Schema = "novell" }, "schema"},
		{"bad watch", func(c *Config) { c.Watch = "push" }, "watch"},
		{"bad disabled", func(c *Config) { c.Disabled = "maybe" }, "disabled"},
		{"attribute disabled needs attr", func(c *Config) { c.Disabled = DisabledAttribute; c.Schema = PresetOpenLDAP }, "disabled_attribute"},
		{"bad member value", func(c *Config) { c.MemberValue = "guid" }, "member_value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.mutate(&cfg)
			_, err := New(cfg, nil, nil, nil)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %v, want an error naming %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), cfg.BindPassword) && cfg.BindPassword != "" {
				t.Fatalf("password in error: %v", err)
			}
		})
	}
}

func TestPresets(t *testing.T) {
	base := Config{URLs: []string{"ldap://x"}, Anonymous: true, GroupBaseDN: "dc=x", UserBaseDN: "dc=x"}
	for _, c := range []struct {
		preset, id, member, memberValue, disabled string
	}{
		{PresetOpenLDAP, "entryUUID", "member", MemberValueDN, DisabledNone},
		{PresetRFC2307bis, "entryUUID", "member", MemberValueDN, DisabledNone},
		{PresetRFC2307, "entryUUID", "memberUid", MemberValueUID, DisabledNone},
		{Preset389DS, "nsUniqueId", "member", MemberValueDN, DisabledAttribute},
		{PresetActiveDirectory, "objectGUID", "member", MemberValueDN, DisabledAD},
	} {
		cfg := base
		cfg.Schema = c.preset
		s, err := New(cfg, nil, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.preset, err)
		}
		got := s.cfg
		if got.IDAttribute != c.id || got.MemberAttributes[0] != c.member || got.MemberValue != c.memberValue || got.Disabled != c.disabled {
			t.Errorf("%s: got id %s member %v value %s disabled %s", c.preset, got.IDAttribute, got.MemberAttributes, got.MemberValue, got.Disabled)
		}
	}
}

func TestDisabledAD(t *testing.T) {
	d := decoder{cfg: &Config{Disabled: DisabledAD}}
	for _, c := range []struct {
		uac  string
		want bool
		err  bool
	}{{"512", false, false}, {"514", true, false}, {"66050", true, false}, {"", false, false}, {"abc", false, true}} {
		e := &goldap.Entry{DN: "cn=u", Attributes: []*goldap.EntryAttribute{{Name: "userAccountControl", Values: []string{c.uac}}}}
		got, err := d.disabled(e)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("uac %q: got %v, %v; want %v, error %v", c.uac, got, err, c.want, c.err)
		}
	}
}

func TestChooseMode(t *testing.T) {
	for _, c := range []struct {
		controls []string
		want     string
	}{
		{[]string{"1.2.840.113556.1.4.319", oidSyncRequest}, WatchSyncrepl},
		{[]string{"1.2.840.113556.1.4.319", oidDirSync}, WatchDirSync},
		{[]string{"1.2.840.113556.1.4.319"}, WatchPoll},
	} {
		if got := chooseMode(c.controls); got != c.want {
			t.Errorf("%v: got %s, want %s", c.controls, got, c.want)
		}
	}
}

func TestBackoffGrowsWithJitterAndCaps(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	limits := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, l := range limits {
		d := b.next()
		max := l * time.Millisecond
		if d < max/2 || d > max {
			t.Fatalf("step %d: got %v, want within [%v, %v]", i, d, max/2, max)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Fatalf("after reset: got %v", d)
	}
}

func TestMetricsSharedBetweenSources(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := Config{URLs: []string{"ldap://x"}, Anonymous: true, GroupBaseDN: "dc=x", UserBaseDN: "dc=x"}
	for _, name := range []string{"a", "b"} {
		cfg.Name = name
		if _, err := New(cfg, nil, nil, reg); err != nil {
			t.Fatalf("source %s: %v", name, err)
		}
	}
}

// recordedSearcher replays responses as an Active Directory server sent
// them: base searches keyed by the requested attribute, paged searches
// keyed by the exact filter (an unrecorded filter is an error).
type recordedSearcher struct {
	responses map[string]*goldap.SearchResult
	asked     []string
	paged     map[string]recordedPage
	filters   []string
}

// recordedPage is the answer to one paged search: entries read, then err.
type recordedPage struct {
	res *goldap.SearchResult
	err error
}

func (r *recordedSearcher) Search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	if goldap.FindControl(req.Controls, goldap.ControlTypePaging) != nil {
		// A paged search: one recorded page, answered without a cookie.
		r.filters = append(r.filters, req.Filter)
		p, ok := r.paged[req.Filter]
		if !ok {
			return nil, errors.New("not recorded: " + req.Filter)
		}
		return p.res, p.err
	}
	r.asked = append(r.asked, req.Attributes[0])
	res, ok := r.responses[req.Attributes[0]]
	if !ok {
		return nil, errors.New("unexpected request " + req.Attributes[0])
	}
	return res, nil
}

func members(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, prefix+string(rune('0'+i/1000%10))+string(rune('0'+i/100%10))+string(rune('0'+i/10%10))+string(rune('0'+i%10)))
	}
	return out
}

func TestRangeRetrieval(t *testing.T) {
	const dn = "CN=Big,OU=Groups,DC=corp,DC=example"
	page := func(name string, vals []string) *goldap.SearchResult {
		return &goldap.SearchResult{Entries: []*goldap.Entry{{DN: dn, Attributes: []*goldap.EntryAttribute{{Name: name, Values: vals}}}}}
	}
	rec := &recordedSearcher{responses: map[string]*goldap.SearchResult{
		"member;range=1500-*": page("member;range=1500-2999", members("CN=u", 1500, 2999)),
		"member;range=3000-*": page("member;range=3000-*", members("CN=u", 3000, 3199)),
	}}
	s, err := New(Config{URLs: []string{"ldap://x"}, Anonymous: true, GroupBaseDN: "dc=x", UserBaseDN: "dc=x", Schema: PresetActiveDirectory}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{s: s, conn: rec}
	e := &goldap.Entry{DN: dn, Attributes: []*goldap.EntryAttribute{
		{Name: "cn", Values: []string{"Big"}},
		{Name: "member;range=0-1499", Values: members("CN=u", 0, 1499)},
	}}
	if err := r.expandRanges(e); err != nil {
		t.Fatal(err)
	}
	got := attrValues(e, "member")
	if len(got) != 3200 || got[0] != "CN=u0000" || got[3199] != "CN=u3199" {
		t.Fatalf("members: got %d (%v..), want 3200", len(got), got[:1])
	}
	if !slices.Equal(rec.asked, []string{"member;range=1500-*", "member;range=3000-*"}) {
		t.Fatalf("requests: got %v", rec.asked)
	}

	// A server answering the wrong range is an error (the group is then
	// left out and the snapshot marked incomplete), never a short list.
	bad := &recordedSearcher{responses: map[string]*goldap.SearchResult{
		"member;range=2-*": page("member;range=5-*", []string{"CN=x"}),
	}}
	r = &reader{s: s, conn: bad}
	e = &goldap.Entry{DN: dn, Attributes: []*goldap.EntryAttribute{{Name: "member;range=0-1", Values: []string{"CN=a", "CN=b"}}}}
	if err := r.expandRanges(e); err == nil {
		t.Fatal("mismatched range: got no error")
	}
}
