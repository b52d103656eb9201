package lightdashtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// largeServer is the demo-sized instance: 100,000 users, 10,000 groups of
// 10 members each.
func largeServer(b *testing.B) (*lightdashtest.Server, *lightdash.Client, []string) {
	b.Helper()
	srv := lightdashtest.NewServer(lightdashtest.WithSeed(1))
	b.Cleanup(srv.Close)
	uuids := make([]string, 100_000)
	for i := range uuids {
		uuids[i] = srv.AddUser(fmt.Sprintf("user%06d@example.com", i), lightdash.RoleMember).UserUUID
	}
	for i := range 10_000 {
		if _, err := srv.AddGroup(fmt.Sprintf("group-%05d", i), uuids[i*10:i*10+10]...); err != nil {
			b.Fatal(err)
		}
	}
	c, err := lightdash.New(srv.URL(), srv.AdminToken())
	if err != nil {
		b.Fatal(err)
	}
	return srv, c, uuids
}

func BenchmarkLargeListGroups(b *testing.B) {
	_, c, _ := largeServer(b)
	b.ResetTimer()
	for range b.N {
		gs, err := c.ListGroups(context.Background())
		if err != nil || len(gs) != 10_000 {
			b.Fatalf("got %d %v", len(gs), err)
		}
	}
}

func BenchmarkLargeListUsers(b *testing.B) {
	_, c, _ := largeServer(b)
	b.ResetTimer()
	for range b.N {
		us, err := c.ListUsers(context.Background())
		if err != nil || len(us) != 100_001 {
			b.Fatalf("got %d %v", len(us), err)
		}
	}
}

// BenchmarkLargeWrites: a create and a full member replacement in a big
// organization must not scan it.
func BenchmarkLargeWrites(b *testing.B) {
	_, c, uuids := largeServer(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		g, err := c.CreateGroup(ctx, fmt.Sprintf("bench-%d", i), uuids[:50])
		if err != nil {
			b.Fatal(err)
		}
		members := uuids[50:100]
		if _, err := c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &members}); err != nil {
			b.Fatal(err)
		}
	}
}
