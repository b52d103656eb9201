package worker

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// dirFixture is a small directory: two OUs, nesting, a disabled user.
func dirFixture() *sources.Snapshot {
	return &sources.Snapshot{
		Source:   "corp",
		Complete: true,
		Groups: []sources.DirGroup{
			{ID: "g-eng", DN: "CN=Engineering,OU=Groups,DC=corp,DC=example", Name: "Engineering", MemberUsers: []string{"u1"}, MemberGroups: []string{"g-be"}},
			{ID: "g-be", DN: "CN=Backend,OU=Groups,DC=corp,DC=example", Name: "Backend", MemberUsers: []string{"u2", "u3"}},
			{ID: "g-sales", DN: "CN=Sales,OU=Other,DC=corp,DC=example", Name: "Sales", MemberUsers: []string{"u4"}},
		},
		Users: []sources.DirUser{
			{ID: "u1", Email: "u1@x"}, {ID: "u2", Email: "u2@x"},
			{ID: "u3", Email: "u3@x", Disabled: true}, {ID: "u4", Email: "u4@x"},
		},
	}
}

// mapped summarises a Desired as name → "key: member ids".
func mapped(d *Desired) map[string]string {
	out := map[string]string{}
	for _, g := range d.Groups {
		var ids []string
		for _, m := range g.Members {
			ids = append(ids, m.ID)
		}
		out[g.Name] = g.Key + ": " + strings.Join(ids, ",")
	}
	return out
}

func TestMapping(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name     string
		mapping  Mapping
		snap     func(*sources.Snapshot)
		want     map[string]string
		problems []string // substrings, in order
		blocking int
	}{
		{
			name:    "one rule selects all, names kept, nesting flattened, disabled dropped",
			mapping: Mapping{Rules: []Rule{{}}},
			want: map[string]string{
				"Engineering": "group:corp/g-eng: u1,u2",
				"Backend":     "group:corp/g-be: u2",
				"Sales":       "group:corp/g-sales: u4",
			},
		},
		{
			name:    "source selector",
			mapping: Mapping{Rules: []Rule{{Source: "other"}}},
			want:    map[string]string{},
		},
		{
			name:    "base DN suffix, case and spaces ignored",
			mapping: Mapping{Rules: []Rule{{BaseDN: "ou=groups, dc=Corp,dc=EXAMPLE"}}},
			want: map[string]string{
				"Engineering": "group:corp/g-eng: u1,u2",
				"Backend":     "group:corp/g-be: u2",
			},
		},
		{
			name:    "base DN is not a substring match",
			mapping: Mapping{Rules: []Rule{{BaseDN: "ups,OU=Groups,DC=corp,DC=example"}}},
			want:    map[string]string{},
		},
		{
			name:    "name regex and template: rewrite, lower case, prefix and suffix",
			mapping: Mapping{Rules: []Rule{{NameRegex: "^(Sales|Backend)$", RewriteRegex: "^(.*)$", RewriteReplace: "team $1", Case: CaseLower, Prefix: "ad-", Suffix: " "}}},
			want: map[string]string{
				"ad-team backend": "group:corp/g-be: u2",
				"ad-team sales":   "group:corp/g-sales: u4",
			},
		},
		{
			name:    "upper case",
			mapping: Mapping{Rules: []Rule{{Include: []string{"Sales"}, Case: CaseUpper}}},
			want:    map[string]string{"SALES": "group:corp/g-sales: u4"},
		},
		{
			name:    "include by id, DN and name; rule exclude; first matching rule wins",
			mapping: Mapping{Rules: []Rule{{Include: []string{"g-eng", "cn=backend,ou=groups,dc=corp,dc=example", "Sales"}, Exclude: []string{"Sales"}, Prefix: "a-"}, {Prefix: "b-"}}},
			want: map[string]string{
				"a-Engineering": "group:corp/g-eng: u1,u2",
				"a-Backend":     "group:corp/g-be: u2",
				"b-Sales":       "group:corp/g-sales: u4",
			},
		},
		{
			name:    "global exclude beats rules and overrides",
			mapping: Mapping{Rules: []Rule{{}}, Exclude: []string{"g-be", "Sales"}, Overrides: []Override{{Group: "Sales", Name: "S"}}},
			want:    map[string]string{"Engineering": "group:corp/g-eng: u1,u2"},
		},
		{
			name:    "override names one group and selects it without a rule",
			mapping: Mapping{Rules: []Rule{{Include: []string{"Backend"}}}, Overrides: []Override{{Source: "corp", Group: "g-sales", Name: " Revenue "}}},
			want: map[string]string{
				"Backend": "group:corp/g-be: u2",
				"Revenue": "group:corp/g-sales: u4",
			},
		},
		{
			name:    "override for another source does not apply",
			mapping: Mapping{Overrides: []Override{{Source: "hr", Group: "g-sales", Name: "Revenue"}}},
			want:    map[string]string{},
		},
		{
			name:    "target: many directory groups to one Lightdash group, union of members",
			mapping: Mapping{Rules: []Rule{{Include: []string{"Backend", "Sales"}, Target: "Everyone"}}},
			want:    map[string]string{"Everyone": "target:Everyone: u2,u4"},
		},
		{
			name:     "template collision without allowMerge is reported, nothing sent",
			mapping:  Mapping{Rules: []Rule{{Include: []string{"Backend", "Sales"}, RewriteRegex: ".*", RewriteReplace: "same"}}},
			want:     map[string]string{},
			problems: []string{"all map to this name and allowMerge is off", "held", "held"},
			blocking: 3,
		},
		{
			name:    "template collision with allowMerge is a union",
			mapping: Mapping{AllowMerge: true, Rules: []Rule{{Include: []string{"Backend", "Sales"}, RewriteRegex: ".*", RewriteReplace: "same"}}},
			want:    map[string]string{"same": "name:same: u2,u4"},
		},
		{
			name:    "nesting cycle is reported and harmless",
			mapping: Mapping{Rules: []Rule{{Include: []string{"Engineering"}}}},
			snap: func(s *sources.Snapshot) {
				s.Groups[1].MemberGroups = []string{"g-eng"}
			},
			want:     map[string]string{"Engineering": "group:corp/g-eng: u1,u2"},
			problems: []string{`nesting cycle: "Engineering" (CN=Engineering,OU=Groups,DC=corp,DC=example) -> "Backend" (CN=Backend,OU=Groups,DC=corp,DC=example) -> "Engineering"`},
		},
		{
			name:    "self membership is a cycle",
			mapping: Mapping{Rules: []Rule{{Include: []string{"Sales"}}}},
			snap: func(s *sources.Snapshot) {
				s.Groups[2].MemberGroups = []string{"g-sales"}
			},
			want:     map[string]string{"Sales": "group:corp/g-sales: u4"},
			problems: []string{`nesting cycle: "Sales" (`},
		},
		{
			name:     "depth limit: too deep is blocking",
			mapping:  Mapping{MaxDepth: 1, Rules: []Rule{{Include: []string{"Engineering"}}}},
			snap:     func(s *sources.Snapshot) { s.Groups[1].MemberGroups = []string{"g-sales"} },
			want:     map[string]string{},
			problems: []string{`nesting deeper than 1 levels at "Backend" (CN=Backend,OU=Groups,DC=corp,DC=example) -> "Sales" (`},
			blocking: 1,
		},
		{
			name:     "depth limit reached exactly is fine",
			mapping:  Mapping{MaxDepth: 1, Rules: []Rule{{Include: []string{"Engineering"}}}},
			want:     map[string]string{"Engineering": "group:corp/g-eng: u1,u2"},
			problems: nil,
		},
		{
			name:    "unknown member user and nested group are reported",
			mapping: Mapping{Rules: []Rule{{Include: []string{"Sales"}}}},
			snap: func(s *sources.Snapshot) {
				s.Groups[2].MemberUsers = []string{"u4", "ghost"}
				s.Groups[2].MemberGroups = []string{"g-ghost"}
			},
			want:     map[string]string{"Sales": "group:corp/g-sales: u4"},
			problems: []string{"member user ghost", "nested group g-ghost"},
		},
		{
			name:     "empty name after trim is invalid",
			mapping:  Mapping{Rules: []Rule{{Include: []string{"Sales"}, RewriteRegex: ".*", RewriteReplace: "  "}}},
			want:     map[string]string{},
			problems: []string{"name is empty"},
			blocking: 1,
		},
		{
			name:     "name over 255 characters is invalid",
			mapping:  Mapping{Rules: []Rule{{Include: []string{"Sales"}, Prefix: long}}},
			want:     map[string]string{},
			problems: []string{"characters long"},
			blocking: 1,
		},
		{
			name:    "255 multi-byte characters is fine",
			mapping: Mapping{Rules: []Rule{{Include: []string{"Sales"}, RewriteRegex: ".*", RewriteReplace: strings.Repeat("é", 255)}}},
			want:    map[string]string{strings.Repeat("é", 255): "group:corp/g-sales: u4"},
		},
		{
			name:     "control character is invalid",
			mapping:  Mapping{Rules: []Rule{{Include: []string{"g-sales"}}}},
			snap:     func(s *sources.Snapshot) { s.Groups[2].Name = "Sa\x07les" },
			want:     map[string]string{},
			problems: []string{"control character U+0007"},
			blocking: 1,
		},
		{
			name:     "zero-width space is invalid",
			mapping:  Mapping{Rules: []Rule{{Include: []string{"g-sales"}}}},
			snap:     func(s *sources.Snapshot) { s.Groups[2].Name = "Sa\u200bles" },
			want:     map[string]string{},
			problems: []string{`directory group "Sa\u200bles": name contains zero-width character U+200B`},
			blocking: 1,
		},
		{
			name:     "right-to-left mark is invalid",
			mapping:  Mapping{Rules: []Rule{{Include: []string{"g-sales"}, Prefix: "ad-"}}},
			snap:     func(s *sources.Snapshot) { s.Groups[2].Name = "\u200fSales" },
			want:     map[string]string{},
			problems: []string{"bidirectional control character U+200F"},
			blocking: 1,
		},
		{
			name:     "soft hyphen is invalid",
			mapping:  Mapping{Rules: []Rule{{Include: []string{"g-sales"}}}},
			snap:     func(s *sources.Snapshot) { s.Groups[2].Name = "Sa\u00adles" },
			want:     map[string]string{},
			problems: []string{"format character U+00AD"},
			blocking: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapper(tt.mapping)
			if err != nil {
				t.Fatal(err)
			}
			snap := dirFixture()
			if tt.snap != nil {
				tt.snap(snap)
			}
			d := m.Map(snap)
			if got := mapped(d); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("groups\n got %v\nwant %v", got, tt.want)
			}
			if len(d.Problems) != len(tt.problems) {
				t.Fatalf("problems %+v, want %d like %q", d.Problems, len(tt.problems), tt.problems)
			}
			blocking := 0
			for i, p := range d.Problems {
				if !strings.Contains(p.Reason, tt.problems[i]) {
					t.Errorf("problem %d: %q, want it to contain %q", i, p.Reason, tt.problems[i])
				}
				if p.Blocking {
					blocking++
				}
			}
			if blocking != tt.blocking {
				t.Errorf("%d blocking problems, want %d", blocking, tt.blocking)
			}
		})
	}
}

func TestMappingIncomplete(t *testing.T) {
	m, _ := NewMapper(Mapping{Rules: []Rule{{}}})
	a, b := dirFixture(), dirFixture()
	b.Source, b.Complete, b.IncompleteReason = "hr", false, "size limit exceeded"
	d := m.Map(a, b)
	if d.Complete || !strings.Contains(d.IncompleteReason, "source hr: size limit exceeded") {
		t.Errorf("complete %v reason %q, want incomplete naming hr", d.Complete, d.IncompleteReason)
	}
	// Same names from two sources collide like any other.
	if len(d.Groups) != 0 {
		t.Errorf("got %d groups, want 0 (every name collides across sources)", len(d.Groups))
	}
}

func TestMappingValidate(t *testing.T) {
	tests := []struct {
		name    string
		mapping Mapping
		want    []string
	}{
		{"valid", Mapping{Rules: []Rule{{Name: "all", Case: CaseLower, Prefix: "ad-"}}}, nil},
		{"nothing selected", Mapping{}, []string{"rules: required: at least one rule"}},
		{"bad regexes", Mapping{Rules: []Rule{{Name: "r", NameRegex: "(", RewriteRegex: "["}}}, []string{"rules[0].name_regex: invalid regular expression", "rules[0].rewrite_regex: invalid regular expression"}},
		{"replace without regex", Mapping{Rules: []Rule{{RewriteReplace: "x"}}}, []string{"rewrite_replace: needs rewrite_regex"}},
		{"unknown case", Mapping{Rules: []Rule{{}, {Case: "title"}}}, []string{`rules[1].case: "title" is not a case rule`}},
		{"target and template", Mapping{Rules: []Rule{{Target: "T", Prefix: "p"}}}, []string{"target: target names one Lightdash group; it cannot be combined with a name template"}},
		{"bad target", Mapping{Rules: []Rule{{Target: " "}}}, []string{"target: name is empty"}},
		{"bad override", Mapping{Overrides: []Override{{Group: "", Name: strings.Repeat("n", 300)}}}, []string{"overrides[0].group: required", "overrides[0].name: name is 300 characters"}},
		{"invisible prefix and suffix", Mapping{Rules: []Rule{{Name: "r", Prefix: "ad\u200b-", Suffix: "\u202e"}}},
			[]string{"rules[0].prefix: contains zero-width character U+200B", "rules[0].suffix: contains bidirectional control character U+202E"}},
		{"invisible target", Mapping{Rules: []Rule{{Target: "All\u2060"}}}, []string{"target: name contains zero-width character U+2060"}},
		{"negative depth", Mapping{MaxDepth: -1, Rules: []Rule{{}}}, []string{"max_depth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.mapping.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNormDN(t *testing.T) {
	got := []string{normDN(" CN=A b , OU = X,dc=Y"), normDN("cn=a b,ou=x,dc=y")}
	sort.Strings(got)
	if got[0] != got[1] {
		t.Errorf("normDN: %q != %q", got[0], got[1])
	}
}

// A group reached twice through nesting (a diamond) is walked once: its
// members appear once and its problems are reported once.
func TestMappingDiamondNesting(t *testing.T) {
	m, _ := NewMapper(Mapping{Rules: []Rule{{Include: []string{"top"}}}})
	s := &sources.Snapshot{Source: "corp", Complete: true,
		Groups: []sources.DirGroup{
			{ID: "top", Name: "Top", MemberGroups: []string{"b", "c"}},
			{ID: "b", Name: "B", MemberGroups: []string{"d"}},
			{ID: "c", Name: "C", MemberGroups: []string{"d"}, MemberUsers: []string{"u1"}},
			{ID: "d", Name: "D", MemberUsers: []string{"u1", "u2", "ghost"}},
		},
		Users: []sources.DirUser{{ID: "u1", Email: "u1@x"}, {ID: "u2", Email: "u2@x"}},
	}
	d := m.Map(s)
	if got := mapped(d)["Top"]; got != "group:corp/top: u1,u2" {
		t.Errorf("Top = %q, want u1,u2 once each", got)
	}
	var ghost int
	for _, p := range d.Problems {
		if strings.Contains(p.Reason, "ghost") {
			ghost++
		}
	}
	if ghost != 1 {
		t.Errorf("problems %+v: the missing user is reported %d times, want once", d.Problems, ghost)
	}
}

// A case rule does not fold a non-ASCII lookalike into an ASCII name, so a
// directory group cannot take over another's Lightdash group (and, with
// allowMerge, its members) by spelling its name with U+212A KELVIN SIGN.
func TestMappingCaseKeepsLookalikes(t *testing.T) {
	for _, c := range []struct {
		rule      Case
		name      string
		wantNames []string
	}{
		{CaseLower, "\u212Aitchen", []string{"kitchen", "\u212Aitchen"}},
		{CaseUpper, "\u017Fales", []string{"KITCHEN", "\u017FALES"}},
		{CaseUpper, "\u0131nfo", []string{"KITCHEN", "\u0131NFO"}},
		{CaseLower, "Ärzte", []string{"kitchen", "ärzte"}},
	} {
		m, err := NewMapper(Mapping{AllowMerge: true, Rules: []Rule{{Case: c.rule}}})
		if err != nil {
			t.Fatal(err)
		}
		d := m.Map(&sources.Snapshot{Source: "corp", Complete: true, Groups: []sources.DirGroup{
			{ID: "g-real", Name: "Kitchen"}, {ID: "g-fake", Name: c.name},
		}})
		var got []string
		for _, g := range d.Groups {
			got = append(got, g.Name)
		}
		if !reflect.DeepEqual(got, c.wantNames) {
			t.Errorf("case %s of %+q: names %+q, want %+q", c.rule, c.name, got, c.wantNames)
		}
	}
}
