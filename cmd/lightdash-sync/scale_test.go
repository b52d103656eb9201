package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// TestReconcilePastTheUsersListLimit runs reconcile against a Lightdash
// organization of more than 65,535 members, whose unpaged users list a real
// Lightdash 0.2340.1 answers with a 500 (as the fake does): the users are
// read in pages, the groups are made, and each run's summary (and plan's
// log) counts the calls the server answered. A warm run writes nothing.
func TestReconcilePastTheUsersListLimit(t *testing.T) {
	e := newLDAPEnv(t)
	for i := len(e.ld.Users()); i <= lightdashtest.MaxBindParameters; i++ {
		e.ld.AddUser(fmt.Sprintf("member%05d@example.com", i), lightdash.RoleViewer)
	}
	members := len(e.ld.Users())
	cfg := e.config(t, "")

	for run, wantWrites := range []int{3, 0} {
		e.ld.ResetRequests()
		code, out, errOut := runMain(t, "reconcile", "--config", cfg)
		if code != exitOK {
			t.Fatalf("run %d: reconcile exited %d:\n%s\n%s", run, code, out, errOut)
		}
		reqs := e.ld.Requests()
		pages := 0
		for _, r := range reqs {
			if r.Status >= 500 {
				t.Errorf("run %d: %s %s?%s answered %d", run, r.Method, r.Endpoint, r.Query, r.Status)
			}
			if r.Endpoint == "/api/v1/org/users" {
				pages++
			}
		}
		if want := (members + lightdash.DefaultUserPageSize - 1) / lightdash.DefaultUserPageSize; pages != want {
			t.Errorf("run %d: %d users list calls for %d members, want %d pages", run, pages, members, want)
		}
		if n := e.ld.WriteCount(); n != wantWrites {
			t.Errorf("run %d: %d writes, want %d", run, n, wantWrites)
		}
		if want := fmt.Sprintf("%d API calls", len(reqs)); !strings.Contains(out+errOut, want) {
			t.Errorf("run %d: the summary does not say %q:\n%s\n%s", run, want, out, errOut)
		}
	}
	e.ld.ResetRequests()
	code, out, errOut := runMain(t, "plan", "--config", cfg)
	if want := fmt.Sprintf(`"apiCalls": %d`, len(e.ld.Requests())); code != exitOK || !strings.Contains(errOut, want) {
		t.Errorf("plan exited %d and does not log %s:\n%s\n%s", code, want, out, errOut)
	}
	if got := e.members("ldap-engineering"); got != "alice,bob,carol" {
		t.Errorf("ldap-engineering = %s, want alice,bob,carol", got)
	}
}
