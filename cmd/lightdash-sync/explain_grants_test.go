package main

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/admin"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// grantsConfig is e's configuration with the teams rule granting editor
// on a Sales project.
func grantsConfig(t *testing.T, e *ldapEnv, extra string) string {
	t.Helper()
	e.ld.AddProject("Sales")
	cfg := e.config(t, extra)
	b, _ := os.ReadFile(cfg)
	writeConfig(t, cfg, strings.Replace(string(b), "      prefix: \"ldap-\"\n",
		"      prefix: \"ldap-\"\n      projects: [{project: Sales, role: editor}]\n", 1))
	return cfg
}

// grant returns x's grant of group on target.
func grant(t *testing.T, x *worker.Explanation, group, target string) worker.ExplainGrant {
	t.Helper()
	for _, g := range x.Grants {
		if g.Group == group && g.Target == target {
			return g
		}
	}
	t.Fatalf("%s: no grant of %s on %s in %+v", x.Email, group, target, x.Grants)
	return worker.ExplainGrant{}
}

func TestExplainGrantsAgainstSlapd(t *testing.T) {
	e := newLDAPEnv(t)
	cfg := grantsConfig(t, e, "")
	g := grant(t, explainJSON(t, cfg, "dave@example.com"), "ldap-sales", "Sales")
	if g.State != worker.GrantAdd || g.Now || !g.Should || g.Role != "editor" {
		t.Errorf("before a reconcile: %+v, want editor pending", g)
	}
	if code, out, errOut := runMain(t, "reconcile", "--config", cfg); code != exitOK {
		t.Fatalf("reconcile exited %d:\n%s\n%s", code, out, errOut)
	}
	g = grant(t, explainJSON(t, cfg, "dave@example.com"), "ldap-sales", "Sales")
	if g.State != worker.GrantOK || !g.Now || !g.Should {
		t.Errorf("after a reconcile: %+v, want editor ok", g)
	}
	code, out, _ := runMain(t, "explain", "--config", cfg, "dave@example.com")
	if code != exitOK || !strings.Contains(out, `editor on Sales through "ldap-sales"`) {
		t.Errorf("table output (exit %d):\n%s", code, out)
	}
}

func TestExplainGrantsFromTheDaemon(t *testing.T) {
	e := newLDAPEnv(t)
	cfg := grantsConfig(t, e, "schedule: {debounce: 10ms, max_delay: 100ms}\nadmin: {listen: \"127.0.0.1:0\", token: "+testAdminToken+"}\n")
	base := "http://" + runUntilTestEnds(t, cfg, daemonOpts{}).addr
	code, body := httpGet(base + "/explain.json?email=" + url.QueryEscape("dave@example.com"))
	var got struct {
		Answers []admin.Explained `json:"answers"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Answers) != 1 || got.Answers[0].Explanation == nil {
		t.Fatalf("/explain.json = %d (%v):\n%s", code, err, body)
	}
	x := got.Answers[0].Explanation
	if g := grant(t, x, "ldap-sales", "Sales"); g.State != worker.GrantOK || !g.Now || !g.Should || g.Role != "editor" {
		t.Errorf("from the daemon: %+v, want editor ok (the run's own grant)", g)
	}
	if code, body := httpGet(base + "/explain?email=dave@example.com"); code != 200 ||
		!strings.Contains(body, "<td>ldap-sales</td><td>project</td><td>Sales</td><td>editor</td>") {
		t.Errorf("/explain = %d, want the grant in the page:\n%s", code, body)
	}
}
