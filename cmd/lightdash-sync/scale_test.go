package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// Sizes of the scale scenario, each past a limit of a real Lightdash
// (API-NOTES §10, enforced by lightdashtest): an organization whose
// unpaged users list answers 500, groups larger than one create carries,
// and a group above the PATCH comparison limit replaced by another set of
// the same size.
const (
	scaleMembers = lightdashtest.MaxBindParameters + 1 // Lightdash members, the admin included
	scaleUsers   = 30000                               // directory users, all Lightdash members
	bigGroup     = 25000
	replGroup    = 15000
)

// The directory's groups, as ranges of its users: big and repl at the
// start, repl replaced by replNext, big2 added while the daemon runs.
var (
	bigUsers      = span{0, bigGroup}
	replUsers     = span{scaleUsers - replGroup, scaleUsers}
	replNextUsers = span{0, replGroup}
	big2Users     = span{scaleUsers - bigGroup, scaleUsers}
)

// span is the directory users [from, to).
type span struct{ from, to int }

// scaleEnv is slapd seeded with scaleUsers users and groups big and repl,
// and the fake Lightdash holding those users and more, scaleMembers in all.
type scaleEnv struct {
	slapd *ldaptest.Server
	ld    *lightdashtest.Server
	dir   string
	uuids []string // Lightdash uuid of each directory user
}

func scaleDN(i int) string { return fmt.Sprintf("uid=s%05d,ou=people,dc=example,dc=com", i) }

func (s span) dns() []string {
	out := make([]string, 0, s.to-s.from)
	for i := s.from; i < s.to; i++ {
		out = append(out, scaleDN(i))
	}
	return out
}

func newScaleEnv(t *testing.T) *scaleEnv {
	t.Helper()
	var b strings.Builder
	for i := range scaleUsers {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: s%05d\ncn: s%05d\nsn: s\nmail: s%05d@example.com\n\n", scaleDN(i), i, i, i)
	}
	for cn, users := range map[string]span{"big": bigUsers, "repl": replUsers} {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: %s\n", groupDN(cn), cn)
		for _, dn := range users.dns() {
			fmt.Fprintf(&b, "member: %s\n", dn)
		}
		b.WriteString("\n")
	}
	e := &scaleEnv{slapd: ldaptest.Start(t, ldaptest.WithSeed([]byte(b.String()))), ld: lightdashtest.NewServer(), dir: t.TempDir()}
	t.Cleanup(e.ld.Close)
	for i := range scaleUsers {
		e.uuids = append(e.uuids, e.ld.AddUser(fmt.Sprintf("s%05d@example.com", i), lightdash.RoleViewer).UserUUID)
	}
	for i := len(e.uuids) + 1; i < scaleMembers; i++ { // +1: the admin
		e.ld.AddUser(fmt.Sprintf("member%05d@example.com", i), lightdash.RoleViewer)
	}
	if n := len(e.ld.Users()); n != scaleMembers {
		t.Fatalf("the fake holds %d members, want %d", n, scaleMembers)
	}
	return e
}

func groupDN(cn string) string { return "cn=" + cn + ",ou=groups,dc=example,dc=com" }

// config is the configuration of both phases. Its lightdash timeout is
// long because the fake takes seconds a page of 10,000 users under the race
// detector on a loaded machine: the default 30 s would retry pages and
// change the call counts the test checks.
func (e *scaleEnv) config(t *testing.T, extra string) string {
	t.Helper()
	pw := filepath.Join(e.dir, "bind-password")
	os.WriteFile(pw, []byte(e.slapd.ReaderPassword()), 0o600)
	cfg := `
log: {level: info, format: console}
lightdash: {url: "` + e.ld.URL() + `", token: "` + e.ld.AdminToken() + `", timeout: 5m}
sources:
  - name: corp
    type: ldap
    ldap:
      urls: ["` + e.slapd.URL() + `"]
      bind_dn: "` + e.slapd.ReaderDN() + `"
      bind_password_file: ` + pw + `
      user_base_dn: ou=people,dc=example,dc=com
      group_base_dn: ou=groups,dc=example,dc=com
      watch: syncrepl
mapping:
  rules: [{name: scale, include: [big, repl, big2]}]
sync: {safety: {max_member_removals: 100000, max_member_removals_percent: 100}}
state: {path: ` + filepath.Join(e.dir, "state.json") + `}
` + extra
	p := filepath.Join(e.dir, "lightdash-sync.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// exact reports whether the Lightdash group name holds exactly the users
// of want (set equality, read from the fake), and describes what it holds.
func (e *scaleEnv) exact(name string, want span) (bool, string) {
	wantIDs := slices.Sorted(slices.Values(e.uuids[want.from:want.to]))
	for _, g := range e.ld.Groups() {
		if g.Name == name {
			got := slices.Sorted(slices.Values(g.MemberUUIDs))
			return slices.Equal(got, wantIDs), fmt.Sprintf("%s has %d members, want exactly users %d–%d", name, len(got), want.from, want.to-1)
		}
	}
	return false, name + " is missing"
}

func (e *scaleEnv) isExact(name string, want span) bool { ok, _ := e.exact(name, want); return ok }

func (e *scaleEnv) mustBeExact(t *testing.T, name string, want span) {
	t.Helper()
	if ok, got := e.exact(name, want); !ok {
		t.Fatal(got)
	}
}

// replace makes the directory's repl group hold users instead.
func (e *scaleEnv) replace(users span) {
	e.slapd.Modify(&goldap.ModifyRequest{DN: groupDN("repl"), Changes: []goldap.Change{{
		Operation: goldap.ReplaceAttribute, Modification: goldap.PartialAttribute{Type: "member", Vals: users.dns()},
	}}})
}

// waitLong is testutil.Eventually with a safety net fit for reading and
// writing tens of thousands of members on a loaded machine.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * testutil.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// The calls each step must make. Reads: the users list in pages of
// lightdash.DefaultUserPageSize, the client's choice (docs/architecture.md,
// "Why pages of 10,000"; unpaged it answers 500 at this size). Writes: the
// fewest the limits allow, as a create or PATCH inserts at most
// MaxMembersPerInsert members and a PATCH deletes at most the
// PatchCompareLimit members it compares.
var (
	usersPages    = ceilDiv(scaleMembers, lightdash.DefaultUserPageSize)
	createWrites  = ceilDiv(bigGroup, lightdash.MaxMembersPerInsert)
	replaceWrites = max(ceilDiv(replGroup, lightdash.PatchCompareLimit), ceilDiv(replGroup, lightdash.MaxMembersPerInsert))
)

// checkCalls checks the requests since the log was reset: no 5xx, the
// users read in pages pages, and wantWrites writes; with no pages (a live
// change), nothing but the writes. It returns how many requests there were.
func (e *scaleEnv) checkCalls(t *testing.T, what string, pages, wantWrites int) int {
	t.Helper()
	reqs := e.ld.Requests()
	n := 0
	for _, r := range reqs {
		if r.Status >= 500 {
			t.Errorf("%s: %s %s?%s answered %d", what, r.Method, r.Endpoint, r.Query, r.Status)
		}
		if r.Endpoint == "/api/v1/org/users" {
			n++
		}
	}
	if n != pages {
		t.Errorf("%s: %d users list calls for %d members, want %d", what, n, scaleMembers, pages)
	}
	if got := e.ld.WriteCount(); got != wantWrites {
		t.Errorf("%s: %d writes, want %d", what, got, wantWrites)
	}
	if pages == 0 && len(reqs) != wantWrites {
		t.Errorf("%s: %d requests (%+v), want only its %d writes", what, len(reqs), reqs, wantWrites)
	}
	return len(reqs)
}

// TestScaleLimitsThroughReconcileAndRun syncs an organization past every
// limit of API-NOTES §10 at once (more than 65,535 members; groups of
// 25,000, more than one create carries; a group of 15,000, above the PATCH
// comparison limit, replaced by another 15,000): first with reconcile and
// plan, then with the daemon on the same state, whose live changes create
// a second group of 25,000 and replace the 15,000 again. Every group ends
// exactly as the directory says, with the fewest calls the limits allow.
func TestScaleLimitsThroughReconcileAndRun(t *testing.T) {
	e := newScaleEnv(t)
	e.throughReconcile(t)
	e.throughRun(t)
}

func (e *scaleEnv) throughReconcile(t *testing.T) {
	cfg := e.config(t, "")
	reconcile := func(what string, wantWrites int) {
		t.Helper()
		e.ld.ResetRequests()
		code, out, errOut := runMain(t, "reconcile", "--config", cfg)
		if code != exitOK {
			t.Fatalf("%s: reconcile exited %d:\n%s\n%s", what, code, out, errOut)
		}
		n := e.checkCalls(t, what, usersPages, wantWrites)
		if want := fmt.Sprintf("%d API calls", n); !strings.Contains(out+errOut, want) {
			t.Errorf("%s: the summary does not say %q:\n%s\n%s", what, want, out, errOut)
		}
	}
	reconcile("cold reconcile", createWrites+ceilDiv(replGroup, lightdash.MaxMembersPerInsert))
	e.mustBeExact(t, "big", bigUsers)
	e.mustBeExact(t, "repl", replUsers)

	e.replace(replNextUsers)
	reconcile("replacing reconcile", replaceWrites)
	e.mustBeExact(t, "repl", replNextUsers)

	e.ld.ResetRequests()
	code, out, errOut := runMain(t, "plan", "--config", cfg)
	n := e.checkCalls(t, "plan", usersPages, 0)
	if want := fmt.Sprintf(`"apiCalls": %d`, n); code != exitOK || !strings.Contains(errOut, want) {
		t.Errorf("plan exited %d and does not log %s:\n%s\n%s", code, want, out, errOut)
	}
}

func (e *scaleEnv) throughRun(t *testing.T) {
	cfg := e.config(t, "schedule: {debounce: 10ms, max_delay: 100ms}\nadmin: {listen: \"127.0.0.1:0\"}\n")
	e.ld.ResetRequests()
	runUntilTestEnds(t, cfg, daemonOpts{stopWithin: 60 * time.Second, waitReady: waitLong})
	e.checkCalls(t, "the daemon's start-up run", usersPages, 0)

	e.ld.ResetRequests()
	e.slapd.Add(groupDN("big2"), map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"big2"}, "member": big2Users.dns()})
	waitLong(t, "big2 created", func() bool { return e.ld.WriteCount() >= createWrites && e.isExact("big2", big2Users) })
	e.checkCalls(t, "creating big2 live", 0, createWrites)

	e.ld.ResetRequests()
	e.replace(replUsers)
	waitLong(t, "repl replaced", func() bool { return e.ld.WriteCount() >= replaceWrites && e.isExact("repl", replUsers) })
	e.checkCalls(t, "replacing repl live", 0, replaceWrites)
	e.mustBeExact(t, "big", bigUsers)
}
