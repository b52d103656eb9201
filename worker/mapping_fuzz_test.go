package worker

import (
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// FuzzMappingRules compiles a rule from fuzzed fields and renders fuzzed
// directory groups through it. A bad rule is an error from NewMapper, never
// a panic; a good one maps every group to a name Lightdash accepts as sent
// (trimmed, 1-255 characters, no control characters) or to a blocking
// Problem, and the plan made from it creates only such names.
func FuzzMappingRules(f *testing.F) {
	f.Add("^(data|bi)-", "^(data|bi)-(.*)$", "$2", "lower", "ld-", "", "", "ou=groups,dc=x", "data-Sales", "cn=data-Sales,ou=groups,dc=x", "bi-sales")
	f.Add("", "(.*)", "$1$1$1$1", "upper", "", " -x", "", "", `a*(b)\c`, "CN=a\\2a,OU=Groups,DC=X", "a\x00b")
	f.Add("", "", "", "", "", "", "Everyone", "", "x", "", "y")
	f.Add("(?i)^é", "", "", "keep", "\u202e", "\ufeff", "", "", "Éq", "cn=Éq", "\t \n")
	f.Add("[", "(", "$", "title", "", "", " ", "=,=", "", ",,,", strings.Repeat("x", 300))
	f.Fuzz(func(t *testing.T, nameRe, rewrite, replace, cs, prefix, suffix, target, baseDN, g1, dn1, g2 string) {
		m := Mapping{Rules: []Rule{{
			Name: "fuzz", NameRegex: nameRe, RewriteRegex: rewrite, RewriteReplace: replace,
			Case: Case(cs), Prefix: prefix, Suffix: suffix, Target: target, BaseDN: baseDN,
		}}}
		mp, err := NewMapper(m)
		if err != nil {
			if mp != nil {
				t.Fatal("NewMapper returned a mapper and an error")
			}
			return
		}
		snap := &sources.Snapshot{Source: "s", Complete: true,
			Groups: []sources.DirGroup{
				{ID: "1", DN: dn1, Name: g1, MemberUsers: []string{"u"}},
				{ID: "2", DN: dn1 + "," + baseDN, Name: g2, MemberUsers: []string{"u"}, MemberGroups: []string{"1", "2"}},
			},
			Users: []sources.DirUser{{ID: "u", Email: g1 + "@x"}}}
		d := mp.Map(snap)
		placed := map[string]bool{}
		for _, g := range d.Groups {
			if reason := invalidName(g.Name); reason != "" {
				t.Fatalf("mapped to invalid name %q: %s", g.Name, reason)
			}
			if g.Name != strings.TrimSpace(g.Name) {
				t.Fatalf("mapped to untrimmed name %q", g.Name)
			}
			if workerTrimsLikeLightdash && g.Name != lightdash.TrimName(g.Name) {
				t.Fatalf("mapped to %q, which Lightdash stores as %q", g.Name, lightdash.TrimName(g.Name))
			}
			for _, from := range g.From {
				placed[from.ID] = true
			}
		}
		for _, p := range d.Problems {
			if p.Blocking && placed[p.GroupID] {
				t.Fatalf("group %s is both planned and blocked: %+v", p.GroupID, d)
			}
		}
		cur := Current{Users: []lightdash.OrgMember{{UserUUID: "11111111-1111-4111-8111-111111111111", Email: strings.ToLower(g1 + "@x"), IsActive: true}}}
		p := ComputePlan(d, cur, NewState(), PlanOptions{}, t0)
		names := map[string]bool{}
		for _, c := range p.Creates {
			if invalidName(c.Name) != "" || names[c.Name] {
				t.Fatalf("plan creates invalid or duplicate name %q", c.Name)
			}
			names[c.Name] = true
		}
	})
}

// workerTrimsLikeLightdash is false while worker trims names with
// strings.TrimSpace rather than lightdash.TrimName (see
// TestNameLightdashTrimsDifferently); the fix flips it.
const workerTrimsLikeLightdash = true
