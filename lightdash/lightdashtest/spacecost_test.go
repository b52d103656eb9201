package lightdashtest_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// TestSpaceReadHoldsTheEventLoop: with the cost model on, a space read
// spends row cost on the one event loop for the users whose access it
// resolves, more than a list of as many users (it grows with their
// square), so a users list sent beside it waits its turn. The assertion is
// a lower bound of the fake's sleeps, so load cannot fail it.
func TestSpaceReadHoldsTheEventLoop(t *testing.T) {
	const row = 200 * time.Microsecond
	srv := lightdashtest.NewServer(lightdashtest.WithRowCost(row))
	defer srv.Close()
	const n = 1200 // users with access: the group's 1,199 members and the admin
	var ids []string
	for i := range n - 1 {
		ids = append(ids, srv.AddUser(fmt.Sprintf("u%04d@example.com", i), lightdash.RoleMember).UserUUID)
	}
	g, err := srv.AddGroup("analysts", ids...)
	if err != nil {
		t.Fatal(err)
	}
	p := srv.AddProject("Analytics")
	space := srv.AddSpace(p, "Pipeline")
	srv.SetProjectRole(p, g.UUID, "viewer")

	start := time.Now()
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, path := range []string{"/api/v1/projects/" + p + "/spaces/" + space, "/api/v1/org/users"} {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = get(t, srv, path) }()
	}
	wg.Wait()
	took := time.Since(start)
	if statuses[0] != 200 || statuses[1] != 200 {
		t.Fatalf("statuses %v, want 200 200", statuses)
	}
	// The list's n rows, and the space's n rows plus n²/1,200 for copying.
	if want := time.Duration(n+n+n*n/1200) * row; took < want {
		t.Errorf("a space read and a users list at once took %s, want at least %s", took, want)
	}
}
