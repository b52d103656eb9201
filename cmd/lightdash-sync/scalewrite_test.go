package main

import (
	"context"
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

// Sizes of the write-limit scenario (API-NOTES §10): a group larger than
// one create carries, and a group above the PATCH comparison limit
// replaced by another of the same size. The organization stays below
// 65,536 users, the unpaged user list's limit.
const (
	scaleUsers = 40000
	bigGroup   = 25000
	replGroup  = 15000
)

// scaleEnv is slapd seeded with scaleUsers users, group big holding the
// first bigGroup and group repl the last replGroup, and the fake
// Lightdash holding every user.
type scaleEnv struct {
	slapd *ldaptest.Server
	ld    *lightdashtest.Server
	dir   string
	uuids []string
}

func scaleDN(i int) string { return fmt.Sprintf("uid=s%05d,ou=people,dc=example,dc=com", i) }

func scaleDNs(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
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
	for _, g := range []struct {
		cn       string
		from, to int
	}{{"big", 0, bigGroup}, {"repl", scaleUsers - replGroup, scaleUsers}} {
		fmt.Fprintf(&b, "dn: cn=%s,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: %s\n", g.cn, g.cn)
		for _, dn := range scaleDNs(g.from, g.to) {
			fmt.Fprintf(&b, "member: %s\n", dn)
		}
		b.WriteString("\n")
	}
	e := &scaleEnv{slapd: ldaptest.Start(t, ldaptest.WithSeed([]byte(b.String()))), ld: lightdashtest.NewServer(), dir: t.TempDir()}
	t.Cleanup(e.ld.Close)
	for i := range scaleUsers {
		e.uuids = append(e.uuids, e.ld.AddUser(fmt.Sprintf("s%05d@example.com", i), lightdash.RoleViewer).UserUUID)
	}
	return e
}

func (e *scaleEnv) config(t *testing.T, extra string) string {
	t.Helper()
	pw := filepath.Join(e.dir, "bind-password")
	os.WriteFile(pw, []byte(e.slapd.ReaderPassword()), 0o600)
	cfg := `
log: {level: info, format: console}
lightdash: {url: "` + e.ld.URL() + `", token: "` + e.ld.AdminToken() + `"}
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
  rules: [{name: scale, include: [big, repl]}]
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
// [from, to), and describes what it holds.
func (e *scaleEnv) exact(name string, from, to int) (bool, string) {
	want := slices.Sorted(slices.Values(e.uuids[from:to]))
	for _, g := range e.ld.Groups() {
		if g.Name == name {
			got := slices.Sorted(slices.Values(g.MemberUUIDs))
			return slices.Equal(got, want), fmt.Sprintf("%s has %d members, want users %d–%d", name, len(got), from, to-1)
		}
	}
	return false, name + " is missing"
}

// replace makes the directory's repl group hold users [from, to) instead.
func (e *scaleEnv) replace(from, to int) {
	e.slapd.Modify(&goldap.ModifyRequest{DN: "cn=repl,ou=groups,dc=example,dc=com", Changes: []goldap.Change{{
		Operation: goldap.ReplaceAttribute, Modification: goldap.PartialAttribute{Type: "member", Vals: scaleDNs(from, to)},
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
		time.Sleep(50 * time.Millisecond)
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Write counts the limits allow at least: a create or PATCH inserts at
// most MaxMembersPerInsert members, and a PATCH deletes at most the
// PatchCompareLimit members it compares (per-member calls cost one each).
var (
	minCreateWrites  = ceilDiv(bigGroup, lightdash.MaxMembersPerInsert) + ceilDiv(replGroup, lightdash.MaxMembersPerInsert)
	minReplaceWrites = max(ceilDiv(replGroup, lightdash.PatchCompareLimit), ceilDiv(replGroup, lightdash.MaxMembersPerInsert))
)

// replaced is the set of users the repl group moves to: replGroup users
// none of whom were in it.
const replacedFrom, replacedTo = scaleUsers - 2*replGroup, scaleUsers - replGroup

func TestLargeGroupsThroughReconcile(t *testing.T) {
	e := newScaleEnv(t)
	cfg := e.config(t, "")
	if code, out, errOut := runMain(t, "reconcile", "--config", cfg); code != exitOK {
		t.Fatalf("reconcile exited %d:\n%s\n%s", code, out, errOut)
	}
	for _, g := range []struct {
		name     string
		from, to int
	}{{"big", 0, bigGroup}, {"repl", scaleUsers - replGroup, scaleUsers}} {
		if ok, got := e.exact(g.name, g.from, g.to); !ok {
			t.Fatal(got)
		}
	}
	if n := e.ld.WriteCount(); n != minCreateWrites {
		t.Errorf("creating made %d writes, want %d", n, minCreateWrites)
	}

	e.replace(replacedFrom, replacedTo)
	e.ld.ResetRequests()
	if code, out, errOut := runMain(t, "reconcile", "--config", cfg); code != exitOK {
		t.Fatalf("second reconcile exited %d:\n%s\n%s", code, out, errOut)
	}
	if ok, got := e.exact("repl", replacedFrom, replacedTo); !ok {
		t.Fatal(got)
	}
	if n := e.ld.WriteCount(); n != minReplaceWrites {
		t.Errorf("replacing made %d writes, want %d", n, minReplaceWrites)
	}
}

func TestLargeGroupsThroughRun(t *testing.T) {
	e := newScaleEnv(t)
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
		case <-time.After(60 * time.Second):
			t.Error("run did not stop")
		}
	}()
	addr := adminAddr(t, &stderr)
	waitLong(t, "/readyz", func() bool { code, _ := httpGet("http://" + addr + "/readyz"); return code == 200 })
	if ok, got := e.exact("big", 0, bigGroup); !ok {
		t.Fatal(got)
	}
	if n := e.ld.WriteCount(); n != minCreateWrites {
		t.Errorf("creating made %d writes, want %d", n, minCreateWrites)
	}

	e.ld.ResetRequests()
	e.replace(replacedFrom, replacedTo)
	waitLong(t, "repl replaced", func() bool { ok, _ := e.exact("repl", replacedFrom, replacedTo); return ok })
	if n := e.ld.WriteCount(); n != minReplaceWrites {
		t.Errorf("replacing made %d writes, want %d", n, minReplaceWrites)
	}
}
