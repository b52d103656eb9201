package worker_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// TestHostileNamesAndEmails runs directory names and emails an attacker
// or a broken feed could produce through the real mapping, planner, client
// and fake Lightdash. Each group gets a defined result: it is created under
// a valid, unique name, or it is held back with a Problem; each user is
// matched to exactly the Lightdash user whose address it is, or reported
// unmatched. The second run writes nothing, so no hostile value makes the
// sync flap.
func TestHostileNamesAndEmails(t *testing.T) {
	e := newEnv(t)
	e.uuid["annld"] = e.ld.AddUser("ann+ld@example.com", lightdash.RoleMember).UserUUID
	long := strings.Repeat("x", 10000)
	max := strings.Repeat("é", lightdash.MaxNameLength) // 255 characters, 510 bytes
	e.dir.Replace([]sources.DirGroup{
		{ID: "g-meta", Name: `a*(b)\c`, MemberUsers: []string{"u-upper", "u-plus", "u-space", "u-nul", "u-long", "u-filter", "u-bidi"}},
		{ID: "g-nul", Name: "x\x00y", MemberUsers: []string{"u-upper"}},
		{ID: "g-tab", Name: "tab\there", MemberUsers: []string{"u-upper"}},
		{ID: "g-esc", Name: "\x1b[31mred", MemberUsers: []string{"u-upper"}},
		{ID: "g-c1", Name: "nel\u0085inside", MemberUsers: []string{"u-upper"}},
		{ID: "g-long", Name: long, MemberUsers: []string{"u-upper"}},
		{ID: "g-max", Name: max, MemberUsers: []string{"u-upper"}},
		{ID: "g-blank", Name: " \t\n ", MemberUsers: []string{"u-upper"}},
		{ID: "g-rtl", Name: "مبيعات", MemberUsers: []string{"u-upper"}},
		{ID: "g-bidi", Name: "\u202etxt.exe", MemberUsers: []string{"u-upper"}},
		{ID: "g-nfc", Name: "Café", MemberUsers: []string{"u-upper"}},
		{ID: "g-nfd", Name: "Cafe\u0301", MemberUsers: []string{"u-plus"}},
		{ID: "g-upper", Name: "Sales", MemberUsers: []string{"u-upper"}},
		{ID: "g-lower", Name: "sales", MemberUsers: []string{"u-plus"}},
		{ID: "g-ws1", Name: "Ops", MemberUsers: []string{"u-upper"}},
		{ID: "g-ws2", Name: "  Ops\t", MemberUsers: []string{"u-plus"}},
		{ID: long, Name: "long id", MemberUsers: []string{"u-upper"}},
	}, []sources.DirUser{
		{ID: "u-upper", Email: "ANN@EXAMPLE.COM"},
		{ID: "u-plus", Email: "Ann+LD@Example.com"},
		{ID: "u-space", Email: "  bob@example.com\t"},
		{ID: "u-nul", Email: "cat\x00@example.com"},
		{ID: "u-long", Email: long + "@example.com"},
		{ID: "u-filter", Email: "*)(mail=*))(|(mail=dan@example.com"},
		{ID: "u-bidi", Email: "\u202edan@example.com"},
	})
	opts := e.options()
	opts.Mapping = worker.Mapping{Rules: []worker.Rule{{Name: "all"}}}
	w := e.worker(opts)
	res := e.reconcile(w)
	if len(res.Failures) != 0 {
		t.Fatalf("failures: %+v", res.Failures)
	}

	e.wantGroups(
		"Cafe\u0301: annld",
		"Café: ann",
		"Sales: ann",
		`a*(b)\c: ann,annld,bob`,
		"long id: ann",
		"sales: annld",
		max+": ann",
		"مبيعات: ann",
	)

	// Every name Lightdash holds is one it would keep as sent: trimmed as
	// Lightdash trims, 1 to 255 characters, no control characters, and no
	// two alike (Lightdash compares names case-sensitively).
	seen := map[string]bool{}
	for _, g := range e.ld.Groups() {
		if g.Name != lightdash.TrimName(g.Name) || g.Name == "" || utf8.RuneCountInString(g.Name) > lightdash.MaxNameLength {
			t.Errorf("Lightdash holds group name %q: not trimmed, empty or too long", g.Name)
		}
		if strings.IndexFunc(g.Name, unicode.IsControl) >= 0 {
			t.Errorf("Lightdash holds group name %q with a control character", g.Name)
		}
		if seen[g.Name] {
			t.Errorf("Lightdash holds two groups named %q", g.Name)
		}
		seen[g.Name] = true
	}

	// Each group not created is held back by a blocking Problem naming it.
	for _, id := range []string{"g-nul", "g-tab", "g-esc", "g-c1", "g-long", "g-blank", "g-ws1", "g-ws2", "g-bidi"} {
		if !hasBlockingProblem(res.Plan, id) {
			t.Errorf("group %s was neither created nor reported as a blocking problem; problems: %+v", id, res.Plan.Problems)
		}
	}
	for _, p := range res.Plan.Problems {
		if len(p.Reason) > 1000 {
			t.Errorf("problem reason is %d bytes long: a hostile value is echoed in full", len(p.Reason))
		}
		if n := utf8.RuneCountInString(p.Name) + utf8.RuneCountInString(p.GroupID); n > 2*(lightdash.MaxNameLength+30) {
			t.Errorf("problem %q/%q quotes %d characters: a hostile value is echoed in full", p.GroupID[:min(20, len(p.GroupID))], p.Name[:min(20, len(p.Name))], n)
		}
	}

	// Users with a control character, a bidi override or an LDAP filter in
	// their address match nobody (not the user the rest of it names).
	unmatched := map[string]bool{}
	for _, u := range res.Plan.Unmatched {
		unmatched[u.UserID] = true
	}
	for _, id := range []string{"u-nul", "u-long", "u-filter", "u-bidi"} {
		if !unmatched[id] {
			t.Errorf("user %s is not reported unmatched; unmatched: %+v", id, res.Plan.Unmatched)
		}
	}
	for _, id := range []string{"u-upper", "u-plus", "u-space"} {
		if unmatched[id] {
			t.Errorf("user %s is reported unmatched, want it matched case- and space-insensitively", id)
		}
	}

	e.ld.ResetRequests()
	e.reconcile(w)
	if got := e.ld.WriteCount(); got != 0 {
		t.Errorf("second run made %d writes, want 0: %+v", got, e.ld.Requests())
	}
}

// TestNameLightdashTrimsDifferently: a name whose edges Lightdash trims
// but strings.TrimSpace does not (a byte-order mark) must still converge:
// what is planned must be what Lightdash stores.
func TestNameLightdashTrimsDifferently(t *testing.T) {
	if !trimFixed {
		t.Skip("KNOWN BUG (issue 10): worker trims names with strings.TrimSpace, Lightdash with JavaScript's trim; " +
			"a name with a byte-order mark at an edge is renamed on every run. Fix: use lightdash.TrimName in " +
			"worker/mapping.go (render, overrides, targets) and worker/planner.go (byName), then delete this skip")
	}
	e := newEnv(t)
	e.dir.Replace([]sources.DirGroup{
		{ID: "g-bom", Name: "\ufeffFinance", MemberUsers: []string{"u-ann"}},
	}, []sources.DirUser{{ID: "u-ann", Email: "ann@example.com"}})
	opts := e.options()
	opts.Mapping = worker.Mapping{Rules: []worker.Rule{{Name: "all"}}}
	w := e.worker(opts)
	res := e.reconcile(w)
	if len(res.Failures) != 0 {
		t.Fatalf("failures: %+v", res.Failures)
	}
	e.ld.ResetRequests()
	e.reconcile(w)
	if got := e.ld.WriteCount(); got != 0 {
		t.Errorf("second run made %d writes, want 0 (planned name %q, Lightdash holds %q): %+v",
			got, "\ufeffFinance", e.groups(), e.ld.Requests())
	}
}

// trimFixed mirrors workerTrimsLikeLightdash in mapping_fuzz_test.go
// (another package): flip both with the fix.
const trimFixed = true

func hasBlockingProblem(p *worker.Plan, groupID string) bool {
	for _, pr := range p.Problems {
		if pr.Blocking && (pr.GroupID == groupID || pr.Key == "group:corp/"+groupID) {
			return true
		}
	}
	return false
}

// TestBaseDNRuleRespectsEscapes: a rule's baseDN selects groups at or below
// that DN. "cn=evil\,ou=groups,dc=x" is one RDN directly under dc=x (its
// value holds a comma), not a group under ou=groups.
func TestBaseDNRuleRespectsEscapes(t *testing.T) {
	if !dnFixed {
		t.Skip("KNOWN BUG (issue 10): worker/mapping.go normDN splits DNs on every comma, escaped or not, so " +
			`"cn=evil\,ou=groups,dc=x" counts as below ou=groups,dc=x. Fix: parse with go-ldap's ParseDN and ` +
			"compare RDNs (as sources/ldap normDN/underDN do), then delete this skip")
	}
	mp, err := worker.NewMapper(worker.Mapping{Rules: []worker.Rule{{Name: "groups", BaseDN: "ou=groups,dc=x"}}})
	if err != nil {
		t.Fatal(err)
	}
	d := mp.Map(&sources.Snapshot{Source: "corp", Complete: true, Groups: []sources.DirGroup{
		{ID: "good", DN: "cn=good,ou=groups,dc=x", Name: "good"},
		{ID: "evil", DN: `cn=evil\,ou=groups,dc=x`, Name: "evil"},
	}})
	var names []string
	for _, g := range d.Groups {
		names = append(names, g.Name)
	}
	if strings.Join(names, ",") != "good" {
		t.Errorf("baseDN rule selected %q, want only good", names)
	}
}

// dnFixed is flipped with the fix TestBaseDNRuleRespectsEscapes describes.
const dnFixed = true
