package lightdash_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// Example makes one Lightdash group hold exactly the users with the given
// emails: the preflight checks, one users list, one groups list, one write.
func Example() {
	srv := lightdashtest.NewServer() // stands in for https://app.lightdash.cloud
	defer srv.Close()
	srv.AddUser("ann@example.com", lightdash.RoleEditor)
	srv.AddUser("ben@example.com", lightdash.RoleViewer)

	ctx := context.Background()
	c := &lightdash.Client{
		BaseURL:   srv.URL(),
		Token:     srv.AdminToken(),
		Timeout:   10 * time.Second,
		RateLimit: 5,
		Burst:     5,
	}
	if err := c.Validate(); err != nil {
		log.Fatal(err)
	}

	// Preflight: an empty group list from a non-admin token or a flag-off
	// instance is not "no groups".
	me, err := c.WhoAmI(ctx)
	if err != nil {
		log.Fatal(err)
	}
	enabled, err := c.GroupsEnabled(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if me.Role != lightdash.RoleAdmin || !enabled {
		log.Fatalf("refusing to sync: role %s, groups enabled %v", me.Role, enabled)
	}

	want := []string{"ann@example.com", "ben@example.com"}
	users, err := c.ListUsers(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var members []string
	for _, u := range users {
		if slices.Contains(want, u.Email) {
			members = append(members, u.UserUUID)
		}
	}

	groups, err := c.ListGroups(ctx)
	if err != nil {
		log.Fatal(err)
	}
	i := slices.IndexFunc(groups, func(g lightdash.GroupWithMembers) bool { return g.Name == "Analysts" })
	if i < 0 {
		g, err := c.CreateGroup(ctx, "Analysts", members)
		if errors.Is(err, lightdash.ErrAlreadyExists) {
			log.Fatal("created meanwhile by someone else")
		} else if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("created %s with %d members, %d dropped\n", g.Name, len(g.MemberUUIDs), len(g.DroppedMembers))
	} else {
		g, err := c.UpdateGroup(ctx, groups[i].UUID, lightdash.GroupUpdate{Members: &members})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("updated %s to %d members\n", g.Name, len(g.MemberUUIDs))
	}
	fmt.Println("requests:", c.RequestCount())
	// Output:
	// created Analysts with 2 members, 0 dropped
	// requests: 5
}
