package lightdash_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

func TestGroupLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	created, err := f.c.CreateGroup(ctx, "  Sales  ", []string{f.bob.UserUUID})
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "Sales" || !slices.Equal(created.MemberUUIDs, []string{f.bob.UserUUID}) || len(created.DroppedMembers) != 0 {
		t.Fatalf("got %+v, want Sales with bob and nothing dropped", created)
	}

	added, err := f.c.AddMember(ctx, created.UUID, f.carol.UserUUID)
	if err != nil || !added {
		t.Fatalf("add carol: got %v %v, want true", added, err)
	}
	added, err = f.c.AddMember(ctx, created.UUID, f.carol.UserUUID)
	if err != nil || added {
		t.Fatalf("add carol again: got %v %v, want false (204)", added, err)
	}
	removed, err := f.c.RemoveMember(ctx, created.UUID, f.bob.UserUUID)
	if err != nil || !removed {
		t.Fatalf("remove bob: got %v %v, want true", removed, err)
	}
	removed, err = f.c.RemoveMember(ctx, created.UUID, f.bob.UserUUID)
	if err != nil || removed {
		t.Fatalf("remove bob again: got %v %v, want false (204)", removed, err)
	}

	name := "Sales EMEA"
	members := []string{f.bob.UserUUID, f.srv.AdminUUID()}
	updated, err := f.c.UpdateGroup(ctx, created.UUID, lightdash.GroupUpdate{Name: &name, Members: &members})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(updated.MemberUUIDs)
	slices.Sort(members)
	if updated.Name != name || !slices.Equal(updated.MemberUUIDs, members) {
		t.Errorf("got %+v, want %s with %v", updated, name, members)
	}

	groups, err := f.c.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || len(groups[0].MemberUUIDs) != 2 || len(groups[0].Members) != 2 {
		t.Errorf("got %+v, want one group with its 2 members", groups)
	}

	if err := f.c.DeleteGroup(ctx, created.UUID); err != nil {
		t.Fatal(err)
	}
	if err := f.c.DeleteGroup(ctx, created.UUID); !errors.Is(err, lightdash.ErrNotFound) {
		t.Errorf("delete again: got %v, want ErrNotFound", err)
	}
	if _, err := f.c.AddMember(ctx, created.UUID, f.bob.UserUUID); !errors.Is(err, lightdash.ErrNotFound) {
		t.Errorf("add to deleted: got %v, want ErrNotFound", err)
	}
}

// ListGroups is one call that brings every member of every group.
func TestListGroupsIsOneCallWithAllMembers(t *testing.T) {
	f := newFixture(t)
	var want []string
	for i := range 30 {
		u := f.srv.AddUser("u"+strings.Repeat("x", i)+"@example.com", lightdash.RoleMember)
		want = append(want, u.UserUUID)
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := f.srv.AddGroup(n, want...); err != nil {
			t.Fatal(err)
		}
	}
	groups, err := f.c.ListGroups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 {
		t.Fatalf("got %d groups, want 3", len(groups))
	}
	for _, g := range groups {
		if len(g.MemberUUIDs) != 30 || len(g.Members) != 30 {
			t.Errorf("%s: got %d uuids, %d members, want 30", g.Name, len(g.MemberUUIDs), len(g.Members))
		}
	}
	reqs := f.srv.Requests()
	if len(reqs) != 1 || !strings.Contains(reqs[0].Query, "includeMembers=") {
		t.Errorf("got requests %+v, want one GET with includeMembers", reqs)
	}
}

// Lists from the server are unordered and may repeat rows across pages;
// the client removes duplicates by uuid.
func TestListsDeduplicateByUUID(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/org/groups":
			w.Write([]byte(`{"status":"ok","results":{"data":[{"uuid":"11111111-1111-4111-8111-111111111111","name":"a","memberUuids":[],"members":[]},{"uuid":"11111111-1111-4111-8111-111111111111","name":"a","memberUuids":[],"members":[]},{"uuid":"22222222-2222-4222-8222-222222222222","name":"b","memberUuids":[],"members":[]}]}}`))
		case "/api/v1/org/users":
			w.Write([]byte(`{"status":"ok","results":{"data":[{"userUuid":"33333333-3333-4333-8333-333333333333","email":"a@x"},{"userUuid":"33333333-3333-4333-8333-333333333333","email":"a@x"}],"extra":1}}`))
		}
	}))
	defer ts.Close()
	c, _ := lightdash.New(ts.URL, "tok")
	groups, err := c.ListGroups(context.Background())
	if err != nil || len(groups) != 2 {
		t.Errorf("groups: got %d %v, want 2", len(groups), err)
	}
	users, err := c.ListUsers(context.Background())
	if err != nil || len(users) != 1 {
		t.Errorf("users: got %d %v, want 1", len(users), err)
	}
}

// Create answers 201 on the releases checked, but 200 (what the spec says)
// is accepted too.
func TestCreateAccepts200(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok","results":{"uuid":"3f1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77","name":"x","memberUuids":[],"members":[]}}`))
	}))
	defer ts.Close()
	c, _ := lightdash.New(ts.URL, "tok")
	g, err := c.CreateGroup(context.Background(), "x", nil)
	if err != nil || g.UUID == "" {
		t.Fatalf("got %+v %v", g, err)
	}
}

func TestCreateReportsDroppedMembers(t *testing.T) {
	f := newFixture(t)
	other := f.srv.AddOrganization("Other")
	foreign, err := f.srv.AddUserToOrg(other, "x@other.example", lightdash.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	ghost := "7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77"
	g, err := f.c.CreateGroup(context.Background(), "g", []string{f.bob.UserUUID, ghost, foreign.UserUUID, f.bob.UserUUID})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.MemberUUIDs, []string{f.bob.UserUUID}) {
		t.Errorf("got members %v, want only bob", g.MemberUUIDs)
	}
	want := []string{ghost, foreign.UserUUID}
	if !slices.Equal(g.DroppedMembers, want) {
		t.Errorf("got dropped %v, want %v", g.DroppedMembers, want)
	}
}

func TestNamesAreUniqueCaseSensitivelyAfterTrim(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.c.CreateGroup(ctx, "Sales", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateGroup(ctx, "sales", nil); err != nil {
		t.Errorf("other case: got %v, want created", err)
	}
	_, err := f.c.CreateGroup(ctx, " Sales\t", nil)
	if !errors.Is(err, lightdash.ErrAlreadyExists) {
		t.Fatalf("got %v, want ErrAlreadyExists", err)
	}
	var apiErr *lightdash.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || apiErr.Name != "AlreadyExistsError" || apiErr.Message != "Group name already exists" {
		t.Errorf("got %#v, want the 409 envelope", apiErr)
	}
	lower, _ := f.group(t, "sales")
	upper := "Sales"
	if _, err := f.c.UpdateGroup(ctx, lower.UUID, lightdash.GroupUpdate{Name: &upper}); !errors.Is(err, lightdash.ErrAlreadyExists) {
		t.Errorf("rename onto existing: got %v, want ErrAlreadyExists", err)
	}
}

// Bad input is refused before anything is sent: Lightdash would answer a
// bare 500 (or silently ignore an empty rename).
func TestClientSideValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good := f.bob.UserUUID
	long := strings.Repeat("é", 256)
	empty := "   "
	tooLongName := long
	badMembers := []string{good, "not-a-uuid"}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"create long name", func() error { _, err := f.c.CreateGroup(ctx, long, nil); return err }, lightdash.ErrNameTooLong},
		{"create empty name", func() error { _, err := f.c.CreateGroup(ctx, empty, nil); return err }, lightdash.ErrInvalidParameter},
		{"create bad member", func() error { _, err := f.c.CreateGroup(ctx, "x", badMembers); return err }, lightdash.ErrInvalidUUID},
		{"update bad uuid", func() error { _, err := f.c.UpdateGroup(ctx, "x", lightdash.GroupUpdate{}); return err }, lightdash.ErrInvalidUUID},
		{"update long name", func() error {
			_, err := f.c.UpdateGroup(ctx, good, lightdash.GroupUpdate{Name: &tooLongName})
			return err
		}, lightdash.ErrNameTooLong},
		{"update empty name", func() error { _, err := f.c.UpdateGroup(ctx, good, lightdash.GroupUpdate{Name: &empty}); return err }, lightdash.ErrInvalidParameter},
		{"update bad member", func() error {
			_, err := f.c.UpdateGroup(ctx, good, lightdash.GroupUpdate{Members: &badMembers})
			return err
		}, lightdash.ErrInvalidUUID},
		{"add bad user", func() error { _, err := f.c.AddMember(ctx, good, "x"); return err }, lightdash.ErrInvalidUUID},
		{"remove bad group", func() error { _, err := f.c.RemoveMember(ctx, "x", good); return err }, lightdash.ErrInvalidUUID},
		{"delete bad uuid", func() error { return f.c.DeleteGroup(ctx, "{"+good[1:]) }, lightdash.ErrInvalidUUID},
		{"invite no email", func() error { _, err := f.c.CreateInviteLink(ctx, "bob", timeZero); return err }, lightdash.ErrInvalidParameter},
		{"invite lookalike email", func() error {
			_, err := f.c.CreateInviteLink(ctx, "\u212Aate@example.com", timeZero) // KELVIN SIGN, folds to kate@
			return err
		}, lightdash.ErrInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if n := f.c.RequestCount(); n != 0 {
		t.Errorf("got %d requests sent, want 0", n)
	}
	// 255 characters (not bytes) is allowed.
	if _, err := f.c.CreateGroup(ctx, strings.Repeat("é", 255), nil); err != nil {
		t.Errorf("255 characters: got %v", err)
	}
}

// PATCH fails as a whole on a duplicate member, so the client removes
// duplicates; an unknown member still fails, and nothing changes.
func TestUpdateMembersQuirks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, err := f.srv.AddGroup("g", f.carol.UserUUID)
	if err != nil {
		t.Fatal(err)
	}
	dups := []string{f.bob.UserUUID, strings.ToUpper(f.bob.UserUUID), f.bob.UserUUID}
	got, err := f.c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &dups})
	if err != nil {
		t.Fatalf("duplicates: got %v, want them removed before sending", err)
	}
	if !slices.Equal(got.MemberUUIDs, []string{f.bob.UserUUID}) {
		t.Errorf("got %v, want bob only", got.MemberUUIDs)
	}

	rename := "renamed"
	unknown := []string{f.carol.UserUUID, "7d1c0b1e-3f5a-4c55-9a51-0e2f6a1c9b77"}
	_, err = f.c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Name: &rename, Members: &unknown})
	if !errors.Is(err, lightdash.ErrInvalidParameter) {
		t.Fatalf("unknown member: got %v, want ErrInvalidParameter", err)
	}
	after, _ := f.group(t, "g")
	if after.UUID != g.UUID || !slices.Equal(after.MemberUUIDs, []string{f.bob.UserUUID}) {
		t.Errorf("got %+v, want the PATCH rolled back (name g, bob only)", after)
	}

	empty := []string{}
	got, err = f.c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &empty})
	if err != nil || len(got.MemberUUIDs) != 0 {
		t.Errorf("empty list: got %v %v, want an emptied group", got, err)
	}
}

func TestNonAdminToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, _ := f.srv.AddGroup("g", f.bob.UserUUID)
	tok := f.srv.AddToken(f.carol.UserUUID)
	c, _ := lightdash.New(f.srv.URL(), tok)
	groups, err := c.ListGroups(ctx)
	if err != nil || len(groups) != 0 {
		t.Errorf("list: got %v %v, want an empty list and no error (what Lightdash does)", groups, err)
	}
	if _, err := c.CreateGroup(ctx, "x", nil); !errors.Is(err, lightdash.ErrForbidden) {
		t.Errorf("create: got %v, want ErrForbidden", err)
	}
	if err := c.DeleteGroup(ctx, g.UUID); !errors.Is(err, lightdash.ErrForbidden) || errors.Is(err, lightdash.ErrFeatureDisabled) {
		t.Errorf("delete: got %v, want ErrForbidden only", err)
	}
}

func TestFeatureFlagOff(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, _ := f.srv.AddGroup("g", f.bob.UserUUID)
	f.srv.SetGroupsFlag(false)
	groups, err := f.c.ListGroups(ctx)
	if err != nil || len(groups) != 0 {
		t.Errorf("list: got %v %v, want empty", groups, err)
	}
	_, err = f.c.AddMember(ctx, g.UUID, f.bob.UserUUID)
	if !errors.Is(err, lightdash.ErrFeatureDisabled) || !errors.Is(err, lightdash.ErrForbidden) {
		t.Fatalf("got %v, want ErrFeatureDisabled", err)
	}
	for _, want := range []string{"LIGHTDASH_ENABLE_FEATURE_FLAGS=user-groups-enabled", "GROUPS_ENABLED=true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not tell the operator to set %s", err, want)
		}
	}
	// POST is not gated: the group is created although it cannot be edited.
	if _, err := f.c.CreateGroup(ctx, "made while off", nil); err != nil {
		t.Errorf("create with flag off: got %v, want created", err)
	}
}

func TestUnauthorized(t *testing.T) {
	srv := newFixture(t).srv
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte("Unauthorized"))
	}))
	defer plain.Close()
	for name, base := range map[string]string{"json envelope": srv.URL(), "plain text": plain.URL} {
		t.Run(name, func(t *testing.T) {
			c, _ := lightdash.New(base, "ldpat_wrong")
			_, err := c.ListGroups(context.Background())
			if !errors.Is(err, lightdash.ErrUnauthorized) {
				t.Fatalf("got %v, want ErrUnauthorized", err)
			}
			if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "personal access token") {
				t.Errorf("got %q, want a clear 401 message", err)
			}
			if c.RequestCount() != 1 {
				t.Errorf("got %d requests, want 1 (a 401 is not retried)", c.RequestCount())
			}
		})
	}
}

func TestCreateInviteLinkMakesPendingUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	link, err := f.c.CreateInviteLink(ctx, "New.Person@Example.com", timeZero.AddDate(2030, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if link.Email != "new.person@example.com" || link.UserUUID == "" || link.InviteURL == "" {
		t.Fatalf("got %+v", link)
	}
	u, err := f.c.UserByEmail(ctx, "new.person@example.com")
	if err != nil || !u.IsPending || u.UserUUID != link.UserUUID {
		t.Fatalf("got %+v %v, want the pending user", u, err)
	}
	// The pending user can go into a group at once.
	g, err := f.c.CreateGroup(ctx, "with pending", []string{link.UserUUID})
	if err != nil || len(g.DroppedMembers) != 0 {
		t.Errorf("got %+v %v", g, err)
	}
	// An active member cannot be invited.
	if _, err := f.c.CreateInviteLink(ctx, "bob@example.com", timeZero); !errors.Is(err, lightdash.ErrInvalidParameter) {
		t.Errorf("got %v, want ErrInvalidParameter", err)
	}
}
