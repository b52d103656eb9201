package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// newBigOrgEnv is newLDAPEnv with the Lightdash organization grown past
// 65,535 members, the most a real server lists unpaged.
func newBigOrgEnv(t *testing.T) *ldapEnv {
	t.Helper()
	e := newLDAPEnv(t)
	for i := len(e.ld.Users()); i <= lightdashtest.MaxBindParameters; i++ {
		e.ld.AddUser(fmt.Sprintf("member%05d@example.com", i), lightdash.RoleViewer)
	}
	return e
}

// TestReconcilePastTheUsersListLimit runs reconcile against a Lightdash
// organization of more than 65,535 members, whose unpaged users list a real
// Lightdash 0.2340.1 answers with a 500 (as the fake does): the users are
// read in pages, the groups are made, and each run's summary (and plan's
// log) counts the calls the server answered. A warm run writes nothing.
func TestReconcilePastTheUsersListLimit(t *testing.T) {
	e := newBigOrgEnv(t)
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

// TestRunPastTheUsersListLimit runs the daemon against a Lightdash
// organization of more than 65,535 members: the start-up reconciliation
// reads the users in pages and makes the groups, the daemon gets ready,
// and a live change costs its one PATCH.
func TestRunPastTheUsersListLimit(t *testing.T) {
	e := newBigOrgEnv(t)
	cfg := e.config(t, "schedule: {debounce: 10ms, max_delay: 100ms}\nadmin: {listen: \"127.0.0.1:0\"}\n")
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	var stderr syncBuffer
	go func() { exited <- Main(ctx, []string{"run", "--config", cfg}, &syncBuffer{}, &stderr) }()
	defer func() {
		cancel()
		select {
		case code := <-exited:
			if code != exitOK {
				t.Errorf("run exited %d:\n%s", code, stderr.String())
			}
		case <-time.After(40 * time.Second):
			t.Error("run did not stop")
		}
	}()
	addr := adminAddr(t, &stderr)
	testutil.Eventually(t, "/readyz", func() bool { code, _ := httpGet("http://" + addr + "/readyz"); return code == 200 })
	if got := e.members("ldap-engineering"); got != "alice,bob,carol" {
		t.Fatalf("after start-up, ldap-engineering = %s", got)
	}
	for _, r := range e.ld.Requests() {
		if r.Status >= 500 {
			t.Errorf("%s %s?%s answered %d", r.Method, r.Endpoint, r.Query, r.Status)
		}
	}
	before := len(e.ld.Requests())
	e.slapd.Modify(&goldap.ModifyRequest{DN: engineering, Changes: []goldap.Change{{Operation: goldap.AddAttribute, Modification: goldap.PartialAttribute{Type: "member", Vals: []string{"uid=dave,ou=people,dc=example,dc=com"}}}}})
	testutil.Eventually(t, "dave in ldap-engineering", func() bool { return e.members("ldap-engineering") == "alice,bob,carol,dave" })
	if reqs := e.ld.Requests()[before:]; len(reqs) != 1 || reqs[0].Method != "PATCH" {
		t.Errorf("the change cost %d Lightdash requests (%+v), want exactly the one PATCH", len(reqs), reqs)
	}
}
