package sourcetest_test

import (
	"context"
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker/sourcetest"
)

// env is the smallest Env: the in-memory directory, with ids assigned by
// the Env as a directory server would assign them. A real one lives in
// sources/memory/contract_test.go and is handed to sourcetest.Run:
//
//	func TestContract(t *testing.T) {
//		sourcetest.Run(t, func(*testing.T) sourcetest.Env { return newEnv() })
//	}
type env struct {
	src    *memory.Source
	n      int
	groups map[string]sources.DirGroup
}

var _ sourcetest.Env = (*env)(nil)

func (e *env) Source() sources.Source { return e.src }

func (e *env) AddUser(_ context.Context, u sources.DirUser) (string, error) {
	e.n++
	u.ID = fmt.Sprintf("user-%d", e.n)
	e.src.SetUser(u)
	return u.ID, nil
}

func (e *env) AddGroup(_ context.Context, g sources.DirGroup) (string, error) {
	e.n++
	g.ID = fmt.Sprintf("group-%d", e.n)
	e.groups[g.ID] = g
	e.src.SetGroup(g)
	return g.ID, nil
}

func (e *env) SetMembers(_ context.Context, id string, users, groups []string) error {
	g := e.groups[id]
	g.MemberUsers, g.MemberGroups = users, groups
	e.groups[id] = g
	e.src.SetGroup(g)
	return nil
}

func (e *env) UpdateUser(_ context.Context, u sources.DirUser) error {
	e.src.SetUser(u)
	return nil
}

func (e *env) DeleteGroup(_ context.Context, id string) error {
	delete(e.groups, id)
	e.src.DeleteGroup(id)
	return nil
}

func Example() {
	ctx := context.Background()
	e := &env{src: memory.New("corp"), groups: map[string]sources.DirGroup{}}
	ann, _ := e.AddUser(ctx, sources.DirUser{DisplayName: "Ann", Email: "ann@example.com"})
	_, _ = e.AddGroup(ctx, sources.DirGroup{Name: "Analysts", MemberUsers: []string{ann}})

	snap, _ := e.Source().Snapshot(ctx)
	for _, g := range snap.Groups {
		fmt.Println(g.ID, g.Name, g.MemberUsers, snap.Complete)
	}
	// Output:
	// group-2 Analysts [user-1] true
}
