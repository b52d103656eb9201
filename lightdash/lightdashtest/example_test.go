package lightdashtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// ExampleNewServer seeds a fake Lightdash, injects a failure, and checks
// what the client did through the request log.
func ExampleNewServer() {
	srv := lightdashtest.NewServer()
	defer srv.Close()
	bob := srv.AddUser("bob@example.com", lightdash.RoleEditor)

	// The next create takes effect but its answer is lost.
	srv.FailNext(lightdashtest.Fault{Method: "POST", Endpoint: "/api/v1/org/groups", Drop: true, After: true})

	c, err := lightdash.New(srv.URL(), srv.AdminToken())
	if err != nil {
		log.Fatal(err)
	}
	g, err := c.CreateGroup(context.Background(), "Engineering", []string{bob.UserUUID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Name, len(g.MemberUUIDs))
	fmt.Println("creates sent:", srv.RequestCount("POST /api/v1/org/groups"))
	fmt.Println("groups:", len(srv.Groups()))
	// Output:
	// Engineering 1
	// creates sent: 1
	// groups: 1
}
