package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/admin"
	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// explainJSON runs explain --output json and decodes its answer.
func explainJSON(t *testing.T, cfg, email string) *worker.Explanation {
	t.Helper()
	code, out, errOut := runMain(t, "explain", "--config", cfg, email, "--output", "json")
	if code != exitOK {
		t.Fatalf("explain %s exited %d:\n%s\n%s", email, code, out, errOut)
	}
	var x worker.Explanation
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("explain %s: %v\n%s", email, err, out)
	}
	return &x
}

// group returns x's directory group called name.
func group(t *testing.T, x *worker.Explanation, name string) worker.ExplainGroup {
	t.Helper()
	for _, g := range x.Groups {
		if g.Group.Name == name {
			return g
		}
	}
	t.Fatalf("%s: no directory group %s in %+v", x.Email, name, x.Groups)
	return worker.ExplainGroup{}
}

// lightdashGroup returns x's Lightdash group called name.
func lightdashGroup(t *testing.T, x *worker.Explanation, name string) worker.ExplainAccess {
	t.Helper()
	for _, a := range x.Lightdash {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("%s: no Lightdash group %s in %+v", x.Email, name, x.Lightdash)
	return worker.ExplainAccess{}
}

// TestExplainAgainstSlapd runs the one-shot explain against a real
// OpenLDAP and the fake Lightdash, after a reconcile, for each case an
// operator is asked about.
func TestExplainAgainstSlapd(t *testing.T) {
	e := newLDAPEnv(t)
	cfg := e.config(t, "")
	b, _ := os.ReadFile(cfg)
	disabled := "      watch: syncrepl\n      disabled: attribute\n      disabled_attribute: description\n      disabled_values: [disabled]\n"
	writeConfig(t, cfg, strings.Replace(string(b), "      watch: syncrepl\n", disabled, 1))
	if code, out, errOut := runMain(t, "reconcile", "--config", cfg); code != exitOK {
		t.Fatalf("reconcile exited %d:\n%s\n%s", code, out, errOut)
	}

	t.Run("direct member", func(t *testing.T) {
		x := explainJSON(t, cfg, "Alice@Example.com")
		if len(x.Directory) != 1 || x.Directory[0].DN != "uid=alice,ou=people,dc=example,dc=com" {
			t.Errorf("directory %+v", x.Directory)
		}
		if g := group(t, x, "engineering"); !g.Direct || g.Mapping.Rule != "teams" || g.Mapping.LightdashGroup != "ldap-engineering" {
			t.Errorf("engineering %+v, want direct, mapped by teams to ldap-engineering", g)
		}
		if a := lightdashGroup(t, x, "ldap-engineering"); a.State != worker.AccessOK || !a.Now || !a.Should {
			t.Errorf("ldap-engineering %+v, want ok", a)
		}
		if x.Account.Status != worker.AccountActive {
			t.Errorf("account %+v", x.Account)
		}
	})
	t.Run("nested member", func(t *testing.T) {
		x := explainJSON(t, cfg, "carol.clark@example.org") // her second mail value
		g := group(t, x, "engineering")
		if g.Direct || len(g.Path) != 2 || g.Path[0].DN != "cn=platform,ou=groups,dc=example,dc=com" || g.Path[1].DN != engineering {
			t.Errorf("engineering %+v, want nested through platform", g)
		}
		if a := lightdashGroup(t, x, "ldap-engineering"); a.State != worker.AccessOK {
			t.Errorf("ldap-engineering %+v, want ok", a)
		}
	})
	t.Run("group no rule maps", func(t *testing.T) {
		x := explainJSON(t, cfg, "alice@example.com")
		for _, name := range []string{"outsiders", "cycle-a", "cycle-b"} {
			if g := group(t, x, name); g.Mapping.Verdict != worker.VerdictNoRule {
				t.Errorf("%s: %+v, want no-rule", name, g.Mapping)
			}
		}
	})
	t.Run("no Lightdash account", func(t *testing.T) {
		x := explainJSON(t, cfg, "mallory@example.com")
		if x.Account.Status != worker.AccountNone || !strings.Contains(x.Account.Detail, `identity.unmatched is "skip"`) {
			t.Errorf("account %+v, want none and what identity.unmatched does", x.Account)
		}
		code, out, _ := runMain(t, "explain", "--config", cfg, "mallory@example.com")
		if code != exitOK || !strings.Contains(out, "ops*)(cn=*") || !strings.Contains(out, "none  -") {
			t.Errorf("table output (exit %d):\n%s", code, out)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		e.slapd.Modify(&goldap.ModifyRequest{DN: "uid=bob,ou=people,dc=example,dc=com", Changes: []goldap.Change{
			{Operation: goldap.AddAttribute, Modification: goldap.PartialAttribute{Type: "description", Vals: []string{"disabled"}}}}})
		x := explainJSON(t, cfg, "bob@example.com")
		if len(x.Directory) != 1 || !x.Directory[0].Disabled {
			t.Errorf("directory %+v, want bob disabled", x.Directory)
		}
		if a := lightdashGroup(t, x, "ldap-engineering"); a.State != worker.AccessRemove || a.Should {
			t.Errorf("ldap-engineering %+v, want remove", a)
		}
	})
	t.Run("group deletion held back", func(t *testing.T) {
		e.slapd.Delete("cn=sales,ou=groups,dc=example,dc=com")
		x := explainJSON(t, cfg, "dave@example.com")
		a := lightdashGroup(t, x, "ldap-sales")
		if a.State != worker.AccessGrace || !strings.Contains(a.Reason, "deleted after 1h0m0s and 2 reads") {
			t.Errorf("ldap-sales %+v, want its deletion waiting for the grace period", a)
		}
	})
	if code, _, errOut := runMain(t, "explain", "--config", cfg, "k\u212Ate@example.com"); code != exitUsage || !strings.Contains(errOut, "not an email address") {
		t.Errorf("a lookalike address: exit %d, %q; want 2", code, errOut)
	}
	if n := e.ld.WriteCount(); n != 3 {
		t.Errorf("%d writes, want the reconcile's 3: explain writes nothing", n)
	}
}

func TestExplainNeedsAnEmail(t *testing.T) {
	code, _, errOut := runMain(t, "explain", "--config", "../internal/config/testdata/minimal.yaml")
	if code != exitUsage || !strings.Contains(errOut, "missing argument EMAIL") {
		t.Errorf("explain without EMAIL: exit %d, %q", code, errOut)
	}
}

// TestExplainFromTheDaemon asks a daemon running on a real slapd, through
// /explain.json and /explain behind the admin token: the answers come
// from its last full reconciliation.
func TestExplainFromTheDaemon(t *testing.T) {
	e := newLDAPEnv(t)
	cfg := e.config(t, "schedule: {debounce: 10ms, max_delay: 100ms}\nadmin: {listen: \"127.0.0.1:0\", token: "+testAdminToken+"}\n")
	addr := runUntilTestEnds(t, cfg, daemonOpts{}).addr
	base := "http://" + addr
	explain := func(email string) *worker.Explanation {
		t.Helper()
		code, body := httpGet(base + "/explain.json?email=" + url.QueryEscape(email))
		var got struct {
			Answers []admin.Explained `json:"answers"`
		}
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Answers) != 1 || got.Answers[0].Explanation == nil {
			t.Fatalf("/explain.json?email=%s = %d (%v):\n%s", email, code, err, body)
		}
		return got.Answers[0].Explanation
	}

	for _, page := range []string{"/explain.json?email=carol@example.com", "/explain?email=carol@example.com"} {
		code, _ := testutil.HTTPDo(t.Context(), http.MethodGet, base+page, "")
		if code != http.StatusUnauthorized {
			t.Errorf("%s without the admin token = %d, want 401", page, code)
		}
	}
	x := explain("carol@example.com")
	if g := group(t, x, "engineering"); g.Direct || len(g.Path) != 2 || g.Path[0].Name != "platform" {
		t.Errorf("engineering %+v, want nested through platform", g)
	}
	if a := lightdashGroup(t, x, "ldap-engineering"); a.State != worker.AccessOK || x.Freshness.From != "last full reconciliation" {
		t.Errorf("ldap-engineering %+v from %q, want ok from the last full run", a, x.Freshness.From)
	}
	if x := explain("mallory@example.com"); x.Account.Status != worker.AccountNone {
		t.Errorf("mallory's account %+v, want none", x.Account)
	}
	if code, body := httpGet(base + "/explain?email=" + url.QueryEscape("carol@example.com")); code != 200 ||
		!strings.Contains(body, "nested: platform &gt; engineering") || !strings.Contains(body, `name="email"`) {
		t.Errorf("/explain = %d:\n%s", code, body)
	}
	if code, body := httpGet(base + "/status"); code != 200 || !strings.Contains(body, `<form action="/explain"`) {
		t.Errorf("/status = %d, want the search box:\n%s", code, body)
	}
	if code, _ := httpGet(base + "/explain.json?email=k%E2%84%AAte@example.com"); code != http.StatusBadRequest {
		t.Errorf("a lookalike address = %d, want 400", code)
	}

	// sales leaves the directory: after the next full run its deletion
	// waits for the grace period, and dave's answer says so. The run reads
	// the directory: one taken from the watcher's state may come before
	// the watcher has seen the deletion.
	runs := fullRuns(addr)
	e.slapd.Delete("cn=sales,ou=groups,dc=example,dc=com")
	if code := httpPost(base+"/reconcile?read=full", testAdminToken); code != http.StatusAccepted {
		t.Fatalf("POST /reconcile = %d", code)
	}
	testutil.Eventually(t, "a second full run", func() bool { return fullRuns(addr) > runs })
	a := lightdashGroup(t, explain("dave@example.com"), "ldap-sales")
	if a.State != worker.AccessGrace || !a.Now || a.Should {
		t.Errorf("ldap-sales %+v, want its deletion waiting for the grace period", a)
	}
}

// TestExplainCanBeTurnedOff runs a daemon with admin.explain: false: it
// keeps no directory read for /explain, which says how to ask instead.
func TestExplainCanBeTurnedOff(t *testing.T) {
	e := newCheckEnv(t)
	cfgPath := e.config(t, e.ld.AdminToken())
	b, _ := os.ReadFile(cfgPath)
	writeConfig(t, cfgPath, strings.Replace(string(b), "admin:\n", "admin:\n  explain: false\n", 1))
	base := "http://" + runUntilTestEnds(t, cfgPath, daemonOpts{}).addr
	if code, body := httpGet(base + "/explain.json?email=ada@example.com"); code != http.StatusNotFound || !strings.Contains(body, "admin.explain: false") {
		t.Errorf("/explain.json with admin.explain false = %d %q, want 404 saying why", code, body)
	}
}
