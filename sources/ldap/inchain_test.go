package ldap

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// The in_chain tests replay Active Directory answers (slapd cannot
// evaluate LDAP_MATCHING_RULE_IN_CHAIN) through recordedSearcher.
const (
	adUsers  = "OU=Users,DC=corp,DC=example"
	adGroups = "OU=Groups,DC=corp,DC=example"
	// engDN is hostile: an escaped comma, parentheses and a star, which
	// must reach the filter escaped.
	engDN = `CN=Eng\, R&D (all)*,OU=Groups,DC=corp,DC=example`
	subDN = "CN=Sub,OU=Groups,DC=corp,DC=example"

	adUserFilter  = "(&(|(objectClass=user))(objectCategory=person))"
	adGroupFilter = "(&(|(objectClass=group)))"
	// engChain is the filter the source must send for engDN, written out
	// by hand rather than built with the code under test.
	engChain = `(&(|(objectClass=user))(objectCategory=person)(memberOf:1.2.840.113556.1.4.1941:=CN=Eng\5c, R&D \28all\29\2a,OU=Groups,DC=corp,DC=example))`
	subChain = `(&(|(objectClass=user))(objectCategory=person)(memberOf:1.2.840.113556.1.4.1941:=CN=Sub,OU=Groups,DC=corp,DC=example))`
)

type adDirectory struct {
	alice, bob, carol, eng, sub *goldap.Entry
}

func newADDirectory() adDirectory {
	user := func(cn string, guid byte) *goldap.Entry {
		return adEntry("CN="+cn+","+adUsers, guid, map[string][]string{"objectClass": {"top", "person", "user"},
			"mail": {strings.ToLower(cn) + "@corp.example"}, "userAccountControl": {"512"}})
	}
	return adDirectory{
		alice: user("Alice", 1), bob: user("Bob", 2), carol: user("Carol", 3),
		// Eng holds Alice directly and Bob through Sub.
		eng: adEntry(engDN, 10, map[string][]string{"objectClass": {"top", "group"}, "cn": {"Eng, R&D (all)*"}, "member": {"CN=Alice," + adUsers, subDN}}),
		sub: adEntry(subDN, 11, map[string][]string{"objectClass": {"top", "group"}, "cn": {"Sub"}, "member": {"CN=Bob," + adUsers}}),
	}
}

func result(es ...*goldap.Entry) recordedPage {
	return recordedPage{res: &goldap.SearchResult{Entries: es}}
}

// fullRead records the answers to a full read; chain answers override.
func (d adDirectory) fullRead(eng, sub recordedPage) *recordedSearcher {
	return &recordedSearcher{paged: map[string]recordedPage{
		adUserFilter:  result(d.alice, d.bob, d.carol),
		adGroupFilter: result(d.eng, d.sub),
		engChain:      eng,
		subChain:      sub,
	}}
}

func inChainSource(t *testing.T) *Source {
	t.Helper()
	s, err := New(Config{Name: "ad", URLs: []string{"ldaps://dc.invalid"}, Anonymous: true, Schema: PresetActiveDirectory,
		GroupBaseDN: adGroups, UserBaseDN: adUsers, NestedGroups: NestedInChain}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInChainFullRead(t *testing.T) {
	d := newADDirectory()
	s := inChainSource(t)
	rec := d.fullRead(result(d.alice, d.bob), result(d.bob))
	snap, err := (&reader{s: s, conn: rec}).snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Complete {
		t.Fatalf("incomplete: %s", snap.IncompleteReason)
	}
	if !slices.Contains(rec.filters, engChain) || !slices.Contains(rec.filters, subChain) {
		t.Fatalf("filters sent: %q\nwant %q among them", rec.filters, engChain)
	}
	want := map[string][]string{guidOf(10): {guidOf(1), guidOf(2)}, guidOf(11): {guidOf(2)}}
	if len(snap.Groups) != 2 {
		t.Fatalf("groups: got %d, want 2", len(snap.Groups))
	}
	for _, g := range snap.Groups {
		if !slices.Equal(g.MemberUsers, want[g.ID]) || g.MemberGroups != nil {
			t.Errorf("%s: users %v groups %v, want users %v and no groups (already flat)", g.DN, g.MemberUsers, g.MemberGroups, want[g.ID])
		}
	}
	if len(snap.Users) != 3 {
		t.Fatalf("users: got %d, want 3", len(snap.Users))
	}
}

func TestInChainIncompleteOrFailed(t *testing.T) {
	d := newADDirectory()
	sizeLimit := recordedPage{res: &goldap.SearchResult{Entries: []*goldap.Entry{d.alice}},
		err: goldap.NewError(goldap.LDAPResultSizeLimitExceeded, errors.New("size limit exceeded"))}
	rejected := recordedPage{err: goldap.NewError(goldap.LDAPResultInappropriateMatching, errors.New("unknown matching rule"))}
	cases := []struct {
		name       string
		eng        recordedPage
		wantReason string // incomplete with this in the reason
		wantErr    string // or a failed read with this in the error
	}{
		{"size limit", sizeLimit, "Size Limit Exceeded", ""},
		// OpenLDAP treats an unknown matching rule as undefined and
		// returns nobody: Eng's direct member Alice is then missing.
		{"rule ignored", result(), `direct member user(s) missing from its LDAP_MATCHING_RULE_IN_CHAIN search (first "cn=alice,ou=users,dc=corp,dc=example")`, ""},
		{"direct user missing", result(d.bob), "1 direct member user(s) missing", ""},
		{"rule rejected", rejected, "", "use nested_groups: walk"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := inChainSource(t)
			snap, err := (&reader{s: s, conn: d.fullRead(c.eng, result(d.bob))}).snapshot()
			if c.wantErr != "" {
				var le *goldap.Error
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.As(err, &le) || le.ResultCode != goldap.LDAPResultInappropriateMatching {
					t.Fatalf("got %v, want a wrapped LDAP error mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if snap.Complete || !strings.Contains(snap.IncompleteReason, c.wantReason) {
				t.Fatalf("complete %v reason %q, want incomplete with %q", snap.Complete, snap.IncompleteReason, c.wantReason)
			}
		})
	}
}

func TestInChainReadGroups(t *testing.T) {
	d := newADDirectory()
	s := inChainSource(t)
	idf, err := s.dec.idFilter(guidOf(10))
	if err != nil {
		t.Fatal(err)
	}
	byID := s.groupFilter("(|" + idf + ")")
	aliceRDN, _ := rdnFilter(normDN("CN=Alice," + adUsers))
	lookup := s.userFilter("(|" + aliceRDN + ")")

	rec := &recordedSearcher{paged: map[string]recordedPage{byID: result(d.eng), engChain: result(d.alice, d.bob)}}
	snap, err := (&reader{s: s, conn: rec}).groupsSnapshot([]string{guidOf(10)})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Complete || len(snap.Groups) != 1 || !slices.Equal(snap.Groups[0].MemberUsers, []string{guidOf(1), guidOf(2)}) || snap.Groups[0].MemberGroups != nil {
		t.Fatalf("got complete %v %q groups %+v", snap.Complete, snap.IncompleteReason, snap.Groups)
	}
	if len(snap.Users) != 2 {
		t.Fatalf("users: got %d, want 2", len(snap.Users))
	}
	// A working server cost one search per group, no member lookups.
	if !slices.Equal(rec.filters, []string{byID, engChain}) {
		t.Fatalf("filters sent: %q", rec.filters)
	}

	// A server that returns nobody: the direct members are looked up, and
	// Alice being a user makes the read incomplete.
	rec = &recordedSearcher{paged: map[string]recordedPage{byID: result(d.eng), engChain: result(), lookup: result(d.alice)}}
	snap, err = (&reader{s: s, conn: rec}).groupsSnapshot([]string{guidOf(10)})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Complete || !strings.Contains(snap.IncompleteReason, "LDAP_MATCHING_RULE_IN_CHAIN") {
		t.Fatalf("complete %v reason %q, want incomplete naming the rule", snap.Complete, snap.IncompleteReason)
	}
	// An empty group stays complete and empty.
	empty := adEntry(engDN, 10, map[string][]string{"objectClass": {"group"}, "cn": {"Eng"}})
	rec = &recordedSearcher{paged: map[string]recordedPage{byID: result(empty), engChain: result()}}
	snap, err = (&reader{s: s, conn: rec}).groupsSnapshot([]string{guidOf(10)})
	if err != nil || !snap.Complete || len(snap.Groups) != 1 || len(snap.Groups[0].MemberUsers) != 0 {
		t.Fatalf("empty group: err %v snap %+v", err, snap)
	}
}

func TestNestedGroupsConfig(t *testing.T) {
	base := Config{URLs: []string{"ldap://x"}, Anonymous: true, GroupBaseDN: "dc=x", UserBaseDN: "dc=x"}
	for _, c := range []struct {
		nested, schema, want string // want: "" valid, else in the error
	}{
		{"", "", ""},
		{NestedWalk, PresetRFC2307, ""},
		{NestedInChain, PresetActiveDirectory, ""},
		{NestedInChain, PresetRFC2307, "member_value: dn"},
		{"chain", "", `nested_groups: "chain"`},
	} {
		cfg := base
		cfg.NestedGroups, cfg.Schema = c.nested, c.schema
		full, err := cfg.withDefaults()
		if c.want == "" {
			if err != nil {
				t.Errorf("%q/%q: %v", c.nested, c.schema, err)
			} else if c.nested == "" && full.NestedGroups != NestedWalk {
				t.Errorf("default: got %q, want walk", full.NestedGroups)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q/%q: got %v, want an error with %q", c.nested, c.schema, err, c.want)
		}
	}
}

// TestInChainAgainstOpenLDAP: slapd does not know the AD matching rule and
// answers the chain searches with nobody, no error (seen with slapd 2.5). The source must notice
// (groups with direct users came back empty) rather than report empty
// groups as a complete snapshot, which would remove everyone from Lightdash.
func TestInChainAgainstOpenLDAP(t *testing.T) {
	srv := startDirectory(t)
	cfg := baseConfig(srv)
	cfg.NestedGroups = NestedInChain
	for name, read := range map[string]func(*Source) (*sources.Snapshot, error){
		"Snapshot": func(s *Source) (*sources.Snapshot, error) { return s.Snapshot(context.Background()) },
		"ReadGroups": func(s *Source) (*sources.Snapshot, error) {
			return s.ReadGroups(context.Background(), []string{srv.EntryUUID("cn=engineering," + groups)})
		},
	} {
		snap, err := read(newSource(t, cfg))
		if err != nil {
			// A server may also reject the rule; the error must say what to do.
			if !strings.Contains(err.Error(), "nested_groups: walk") {
				t.Errorf("%s: error %v does not point to nested_groups: walk", name, err)
			}
			continue
		}
		if snap.Complete || !strings.Contains(snap.IncompleteReason, "LDAP_MATCHING_RULE_IN_CHAIN") {
			t.Errorf("%s: complete %v (%q), want incomplete naming the rule", name, snap.Complete, snap.IncompleteReason)
		}
	}
}
