package memory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker/sourcetest"
)

func TestContract(t *testing.T) {
	sourcetest.Run(t, func(*testing.T) sourcetest.Env {
		return &memEnv{src: memory.New("mem"), groups: map[string]sources.DirGroup{}}
	})
}

// memEnv drives the in-memory directory through its setters, assigning
// ids the way a directory server would: the suite never picks them.
type memEnv struct {
	src    *memory.Source
	mu     sync.Mutex
	next   int
	groups map[string]sources.DirGroup
}

var (
	_ sourcetest.Env          = (*memEnv)(nil)
	_ sourcetest.WatchReadier = (*memEnv)(nil)
)

func (e *memEnv) Source() sources.Source { return e.src }

func (e *memEnv) id(prefix string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	return fmt.Sprintf("%s-%04d", prefix, e.next)
}

func (e *memEnv) AddUser(_ context.Context, u sources.DirUser) (string, error) {
	u.ID = e.id("u")
	e.src.SetUser(u)
	return u.ID, nil
}

func (e *memEnv) AddGroup(_ context.Context, g sources.DirGroup) (string, error) {
	g.ID = e.id("g")
	g.DN = "cn=" + g.Name + ",ou=groups,dc=example"
	e.mu.Lock()
	e.groups[g.ID] = g
	e.mu.Unlock()
	e.src.SetGroup(g)
	return g.ID, nil
}

func (e *memEnv) SetMembers(_ context.Context, id string, users, groups []string) error {
	e.mu.Lock()
	g, ok := e.groups[id]
	if ok {
		g.MemberUsers, g.MemberGroups = users, groups
		e.groups[id] = g
	}
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("no group %s", id)
	}
	e.src.SetGroup(g)
	return nil
}

func (e *memEnv) UpdateUser(_ context.Context, u sources.DirUser) error {
	e.src.SetUser(u)
	return nil
}

func (e *memEnv) DeleteGroup(_ context.Context, id string) error {
	e.mu.Lock()
	delete(e.groups, id)
	e.mu.Unlock()
	e.src.DeleteGroup(id)
	return nil
}

// WatchReady waits for Watch to register: from then on every setter call
// is queued for it.
func (e *memEnv) WatchReady(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for e.src.Watching() == 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
