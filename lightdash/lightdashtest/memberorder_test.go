package lightdashtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// A single group's GET, like Lightdash's (two queries, no ORDER BY), lists
// members and memberUuids in no defined order: not by email, not the same
// from call to call, and not the same in the two fields; a page of members
// (includeMembers, offset) is still a part of the complete memberUuids.
func TestGroupMembersComeUnordered(t *testing.T) {
	srv := lightdashtest.NewServer(lightdashtest.WithSeed(3))
	defer srv.Close()
	var ids []string
	for i := range 20 {
		ids = append(ids, srv.AddUser(fmt.Sprintf("u%02d@example.com", i), lightdash.RoleMember).UserUUID)
	}
	g, err := srv.AddGroup("team", ids...)
	if err != nil {
		t.Fatal(err)
	}
	orders := map[string]bool{}
	for range 3 {
		members, uuids := getGroupMembers(t, srv, g.UUID, "includeMembers=100")
		var emails, memberIDs []string
		for _, m := range members {
			emails = append(emails, m.Email)
			memberIDs = append(memberIDs, m.UserUUID)
		}
		if slices.IsSorted(emails) {
			t.Errorf("members sorted by email: %v", emails)
		}
		if slices.Equal(memberIDs, uuids) {
			t.Error("members and memberUuids in the same order, want each its own")
		}
		if got, want := slices.Sorted(slices.Values(uuids)), slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
			t.Errorf("memberUuids = %v, want %v", got, want)
		}
		orders[strings.Join(memberIDs, ",")] = true
	}
	if len(orders) < 2 {
		t.Error("the same member order 3 times, want it to vary")
	}
	page, uuids := getGroupMembers(t, srv, g.UUID, "includeMembers=5&offset=5")
	for _, m := range page {
		if !slices.Contains(uuids, m.UserUUID) {
			t.Errorf("paged member %s is not in memberUuids", m.UserUUID)
		}
	}
	if len(page) != 5 || len(uuids) != len(ids) {
		t.Errorf("a page of %d members and %d memberUuids, want 5 and %d", len(page), len(uuids), len(ids))
	}
}

// getGroupMembers is GET /api/v1/groups/{uuid}?query's members and memberUuids.
func getGroupMembers(t *testing.T, srv *lightdashtest.Server, uuid, query string) ([]lightdash.GroupMember, []string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/groups/"+uuid+"?"+query, nil)
	req.Header.Set("Authorization", "ApiKey "+srv.AdminToken())
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Results lightdash.GroupWithMembers `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET group: %d %v", resp.StatusCode, err)
	}
	return body.Results.Members, body.Results.MemberUUIDs
}
