package ldap

import (
	"slices"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestTrackerFollowsRenamedNestedGroup: after a nested group is renamed,
// a change to one of its members still names the group above it.
func TestTrackerFollowsRenamedNestedGroup(t *testing.T) {
	tr := newTracker(false)
	user := &record{id: "u1", ndn: "uid=grace,ou=people,dc=x"}
	user.setUser(sources.DirUser{ID: "u1", Email: "grace@x"})
	child := &record{id: "g-child", isGroup: true, ndn: "cn=analysts,ou=groups,dc=x", groupName: "analysts", members: []string{user.ndn}}
	parent := &record{id: "g-parent", isGroup: true, ndn: "cn=all,ou=groups,dc=x", groupName: "all", members: []string{child.ndn}}
	for _, r := range []*record{user, child, parent} {
		tr.apply(r, false, "load")
	}
	renamed := *child
	renamed.ndn, renamed.groupName = "cn=data-analysts,ou=groups,dc=x", "data-analysts"
	if ch := tr.apply(&renamed, false, "rename"); ch == nil || !slices.Equal(ch.GroupIDs, []string{"g-child", "g-parent"}) {
		t.Fatalf("rename change = %+v, want both groups", ch)
	}
	disabled := *user
	disabled.setUser(sources.DirUser{ID: "u1", Email: "grace@x", Disabled: true})
	ch := tr.apply(&disabled, false, "disable")
	if ch == nil || !slices.Equal(ch.GroupIDs, []string{"g-child", "g-parent"}) {
		t.Errorf("after the rename, a member change names %+v, want the renamed group and the group above it", ch)
	}
	if parent.members[0] != "cn=analysts,ou=groups,dc=x" {
		t.Error("renameMember changed a record in place; records are shared with snapshots")
	}
}
