package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

func grp(uuid string, members ...string) lightdash.GroupWithMembers {
	return lightdash.GroupWithMembers{Group: lightdash.Group{UUID: uuid, Name: "n-" + uuid}, MemberUUIDs: members}
}

// A reload that started before a write must not put back what the write
// replaced or deleted.
func TestViewReloadKeepsWritesMadeDuringIt(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var v view
	v.set(Current{Groups: []lightdash.GroupWithMembers{grp("a", "u1"), grp("b", "u1"), grp("c")}}, v.begin(), now)

	start := v.begin()
	v.putGroup(grp("a", "u1", "u2"), nil) // written while the reload was reading
	v.dropGroup("b")
	v.set(Current{Groups: []lightdash.GroupWithMembers{grp("a", "u1"), grp("b", "u1"), grp("c", "u3")}}, start, now)

	got := map[string][]string{}
	for _, g := range v.current().Groups {
		got[g.UUID] = g.MemberUUIDs
	}
	if len(got) != 2 || len(got["a"]) != 2 || got["c"][0] != "u3" {
		t.Errorf("view %v, want a with its written members, b still deleted, c from the reload", got)
	}

	// A reload that started after the writes takes what it read.
	v.set(Current{Groups: []lightdash.GroupWithMembers{grp("a", "u1"), grp("b")}}, v.begin(), now)
	if cur := v.current(); len(cur.Groups) != 2 || len(cur.Groups[0].MemberUUIDs) != 1 {
		t.Errorf("view %+v, want the later reload as read", cur.Groups)
	}
}

func TestViewFreshness(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var v view
	if v.fresh(now, time.Minute) {
		t.Error("an empty view is fresh")
	}
	v.set(Current{}, v.begin(), now)
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"just loaded", now, true},
		{"before max age", now.Add(59 * time.Second), true},
		{"at max age", now.Add(time.Minute), false},
	}
	for _, tt := range tests {
		if got := v.fresh(tt.at, time.Minute); got != tt.want {
			t.Errorf("%s: fresh %v, want %v", tt.name, got, tt.want)
		}
	}
	v.invalidate()
	if v.fresh(now, time.Minute) {
		t.Error("fresh after invalidate")
	}
}

func TestKeyLocksExcludeAndCancel(t *testing.T) {
	var l keyLocks
	unlock, err := l.lock(context.Background(), []string{"b", "a", "a"})
	if err != nil {
		t.Fatal(err)
	}
	// A second caller wanting "a" waits; with its context ended it gives up
	// and leaves nothing held.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.lock(ctx, []string{"c", "a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock of a held key with an ended context: %v, want context.Canceled", err)
	}
	other, err := l.lock(context.Background(), []string{"c"})
	if err != nil {
		t.Fatalf("c was left held by the cancelled caller: %v", err)
	}
	other()
	got := make(chan struct{})
	go func() {
		u, err := l.lock(context.Background(), []string{"a"})
		if err == nil {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a taken while held")
	case <-time.After(10 * time.Millisecond):
	}
	unlock()
	<-got
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) != 0 {
		t.Errorf("%d lock entries left after every unlock, want 0", len(l.held))
	}
}

func TestUnknownMembers(t *testing.T) {
	users := []lightdash.OrgMember{{Email: "Ann@example.com"}, {Email: "bob@example.com"}}
	tests := []struct {
		name   string
		member sources.DirUser
		want   string
	}{
		{"known, other case", sources.DirUser{Email: "ann@EXAMPLE.com"}, ""},
		{"known by alternative", sources.DirUser{Email: "b@corp.local", AltEmails: []string{"bob@example.com"}}, ""},
		{"unknown", sources.DirUser{Email: "zed@example.com"}, "zed@example.com"},
		{"no email: nothing to look up", sources.DirUser{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Desired{Groups: []DesiredGroup{{Members: []Member{{DirUser: &tt.member}}}}}
			if got := unknownMembers(d, newIdentities(users), nil); got != tt.want {
				t.Errorf("unknownMembers %q, want %q", got, tt.want)
			}
		})
	}
}

// current shares the view's slices and index without copying, so writes
// and invites must replace them, never edit them: a plan holding an
// earlier current sees it unchanged.
func TestViewCurrentIsNotChangedByLaterWrites(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var v view
	users := []lightdash.OrgMember{{UserUUID: "u1", Email: "a@x", IsActive: true}}
	v.set(Current{Users: users, Groups: []lightdash.GroupWithMembers{grp("b", "u1"), grp("a"), grp("c")}}, v.begin(), now)
	before := v.current()
	if got := []string{before.Groups[0].UUID, before.Groups[1].UUID, before.Groups[2].UUID}; strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("groups %v, want sorted by uuid", got)
	}
	v.putGroup(grp("b", "u1", "u2"), nil)
	v.putGroup(grp("aa"), nil)
	v.dropGroup("c")
	v.addUsers([]lightdash.OrgMember{{UserUUID: "u2", Email: "B@x", IsPending: true}})

	if len(before.Groups) != 3 || before.Groups[1].UUID != "b" || len(before.Groups[1].MemberUUIDs) != 1 || before.Groups[2].UUID != "c" {
		t.Errorf("earlier current changed: %+v", before.Groups)
	}
	if len(before.Users) != 1 || before.identities().knows("b@x") {
		t.Error("earlier current's users changed")
	}
	after := v.current()
	var got []string
	for _, g := range after.Groups {
		got = append(got, fmt.Sprintf("%s%v", g.UUID, g.MemberUUIDs))
	}
	if want := "a[],aa[],b[u1 u2]"; strings.Join(got, ",") != want {
		t.Errorf("groups %v, want %s", got, want)
	}
	if r := after.identities().resolve(&sources.DirUser{Email: "b@X"}, UnmatchedSkip); r.uuid != "u2" {
		t.Errorf("invited user resolves to %+v, want u2", r)
	}

	// Writes after a current edit a copy of the sorted groups.
	v.dropGroup("a")
	v.putGroup(grp("ab", "u1"), nil)
	v.putGroup(grp("b"), nil)
	if len(after.Groups) != 3 || after.Groups[0].UUID != "a" || len(after.Groups[2].MemberUUIDs) != 2 {
		t.Errorf("earlier current changed: %+v", after.Groups)
	}
	got = nil
	for _, g := range v.current().Groups {
		got = append(got, fmt.Sprintf("%s%v", g.UUID, g.MemberUUIDs))
	}
	if want := "aa[],ab[u1],b[]"; strings.Join(got, ",") != want {
		t.Errorf("groups %v, want %s", got, want)
	}
}

// TestPutGroupKeepsTheViewsStrings: a write's answer is decoded into
// fresh strings; the view keeps the equal strings it already holds (the
// members sent, or the group's previous members), so that a run writing
// every group does not keep a second copy of every member uuid.
func TestPutGroupKeepsTheViewsStrings(t *testing.T) {
	fresh := func(s string) string { return string([]byte(s)) } // equal, not the same memory
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	u1, u2, u3 := "uuid-1", "uuid-2", "uuid-3"
	var v view
	v.set(Current{Groups: []lightdash.GroupWithMembers{grp("old", u1)}}, v.begin(), time.Now())

	answer := grp("new", fresh(u1), fresh(u2), "uuid-unknown")
	v.putGroup(answer, []string{u1, u2})
	// A rename: no members sent, the answer lists the previous ones.
	v.putGroup(grp("old", fresh(u1)), nil)
	// The answer's own slice may be changed by its owner afterwards.
	answer.MemberUUIDs[0] = u3

	got := map[string][]string{}
	for _, g := range v.current().Groups {
		got[g.UUID] = g.MemberUUIDs
	}
	if m := got["new"]; len(m) != 3 || !same(m[0], u1) || !same(m[1], u2) || m[2] != "uuid-unknown" {
		t.Errorf("new group's members %q: want the sent strings themselves, and unknown uuids kept", m)
	}
	if m := got["old"]; len(m) != 1 || !same(m[0], u1) {
		t.Errorf("renamed group's members %q: want the previous members' strings", m)
	}
}

// TestViewMissingIsTheLastFullRuns: each full run replaces the emails
// known to have no account, and a read of the users drops those it finds.
func TestViewMissingIsTheLastFullRuns(t *testing.T) {
	var v view
	v.set(Current{Users: []lightdash.OrgMember{{UserUUID: "u1", Email: "ann@x"}}}, v.begin(), time.Now())
	v.setMissing([]string{"Zed@X ", "ann@x", ""})
	if !v.isMissing("zed@x") || v.isMissing("ann@x") {
		t.Fatalf("after a full run: zed missing %v (want true), ann missing %v (want false: she has an account)", v.isMissing("zed@x"), v.isMissing("ann@x"))
	}
	v.setMissing([]string{"yan@x"})
	if v.isMissing("zed@x") || !v.isMissing("yan@x") {
		t.Errorf("the next full run's set does not replace the last: zed %v, yan %v", v.isMissing("zed@x"), v.isMissing("yan@x"))
	}
	v.setUsers(newIdentities([]lightdash.OrgMember{{UserUUID: "u2", Email: "yan@x"}}), time.Now())
	if v.isMissing("yan@x") {
		t.Error("yan has an account in the users read since, but is still missing")
	}
}
