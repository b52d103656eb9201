package main

import (
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

func TestPrintPlan(t *testing.T) {
	p := &worker.Plan{
		Creates:   []worker.CreateGroup{{Name: "New", Reason: "new directory group"}},
		Updates:   []worker.UpdateGroup{{Name: "Eng", NewName: "Eng2", Add: []string{"u-bob"}, Reason: "directory group renamed"}},
		Deletes:   []worker.DeleteGroup{{Name: "Gone", Reason: "directory group deleted"}},
		Problems:  []worker.Problem{{Name: "Bad", Reason: "name is empty", Blocking: true}},
		Unmatched: []worker.UnmatchedUser{{UserID: "d-zed", Email: "zed@x", Groups: []string{"New"}, Reason: "no Lightdash user with this email"}},
	}
	var b strings.Builder
	printPlan(&b, p)
	got := strings.Join(strings.Fields(b.String()), " ") // columns are padded
	for _, want := range []string{
		"+ create New", "0 members", "new directory group",
		"~ update Eng", "rename to Eng2, +1 members",
		"- delete Gone", "directory group deleted",
		"! problem Bad", "name is empty",
		"? unmatched zed@x", "no Lightdash user with this email",
		"Plan: 1 to create, 1 to update (1 renames), 1 to delete, 0 invites.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("printed plan lacks %q:\n%s", want, b.String())
		}
	}
	var empty strings.Builder
	printPlan(&empty, &worker.Plan{})
	if got := empty.String(); got != "No changes: Lightdash matches the directory.\n" {
		t.Errorf("empty plan: %q", got)
	}
}

func TestPrintPlanAccess(t *testing.T) {
	p := &worker.Plan{Access: []worker.AccessChangeItem{
		{Group: "ad-Sales", Op: worker.AccessGrant, ProjectName: "Sales", Role: "viewer", Reason: "the mapping grants it"},
		{Group: "ad-Sales", Op: worker.AccessChange, ProjectName: "Sales", Space: "s-1", SpaceName: "Pipeline", Role: "editor", OldRole: "viewer", Reason: "the mapping gives editor, Lightdash has viewer"},
		{Group: "ad-Ops", Op: worker.AccessRevoke, ProjectName: "Ops", OldRole: "admin", Reason: "the mapping does not grant it"},
	}}
	var b strings.Builder
	printPlan(&b, p)
	got := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{
		"+ grant ad-Sales project Sales: viewer the mapping grants it",
		"~ change ad-Sales space Pipeline of project Sales: editor (was viewer)",
		"- revoke ad-Ops project Ops: admin the mapping does not grant it",
		"Access: 1 to grant, 1 to change, 1 to revoke.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("printed plan lacks %q:\n%s", want, b.String())
		}
	}
}
