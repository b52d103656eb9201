package sourcetest

import (
	"context"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Env is a directory under test and the source reading it.
type Env interface {
	// Source is the source under test. It is called once per case, after
	// seeding; Watch may be called on it.
	Source() sources.Source
	// AddUser creates a user from u's Email, AltEmails, DisplayName and
	// Disabled, and returns the stable id the source reports for it.
	AddUser(ctx context.Context, u sources.DirUser) (id string, err error)
	// AddGroup creates a group named g.Name whose direct members are the
	// users g.MemberUsers and groups g.MemberGroups (ids returned
	// earlier), and returns the group's stable id.
	AddGroup(ctx context.Context, g sources.DirGroup) (id string, err error)
	// SetMembers replaces a group's direct members.
	SetMembers(ctx context.Context, groupID string, users, groups []string) error
	// UpdateUser changes the user u.ID to u's Email, AltEmails,
	// DisplayName and Disabled.
	UpdateUser(ctx context.Context, u sources.DirUser) error
	// DeleteGroup deletes a group.
	DeleteGroup(ctx context.Context, groupID string) error
}

// Settler is implemented by an Env whose source sees changes
// asynchronously: Settle returns once every change made so far is visible
// to Snapshot and ReadGroups.
type Settler interface {
	Settle(ctx context.Context) error
}

// WatchReadier must be implemented by an Env whose source is a
// sources.Watcher: WatchReady returns once a Watch started before it will
// report every change made from then on.
type WatchReadier interface {
	WatchReady(ctx context.Context) error
}

// Timeout bounds each wait of the suite: for a Change, for Settle, for
// WatchReady.
const Timeout = 20 * time.Second

// Run runs the contract suite; newEnv must return an empty directory each
// time it is called.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	t.Helper()
	t.Run("Snapshot", func(t *testing.T) { testSnapshot(t, newEnv(t)) })
	t.Run("SnapshotAfterChanges", func(t *testing.T) { testSnapshotAfterChanges(t, newEnv(t)) })
	t.Run("ReadGroups", func(t *testing.T) { testReadGroups(t, newEnv(t)) })
	t.Run("WatchMembershipChange", func(t *testing.T) { testWatchMembership(t, newEnv(t)) })
	t.Run("WatchUserChange", func(t *testing.T) { testWatchUser(t, newEnv(t)) })
}

// directory is the seeded directory: ids by the suite's own names.
//
//	Engineering: ann, nested Backend
//	Backend:     bob (two emails)
//	Sales:       cat (disabled), dan
//	Empty:       no members
type directory struct {
	users  map[string]string // name → id
	groups map[string]string
}

func seed(t *testing.T, env Env) *directory {
	t.Helper()
	ctx := ctxT(t)
	d := &directory{users: map[string]string{}, groups: map[string]string{}}
	for _, u := range []sources.DirUser{
		{DisplayName: "Ann", Email: "ann@example.com"},
		{DisplayName: "Bob", Email: "bob@example.com", AltEmails: []string{"robert@example.com"}},
		{DisplayName: "Cat", Email: "cat@example.com", Disabled: true},
		{DisplayName: "Dan", Email: "Dan@Example.com"},
	} {
		id, err := env.AddUser(ctx, u)
		if err != nil {
			t.Fatalf("seed: AddUser(%s): %v", u.DisplayName, err)
		}
		d.users[u.DisplayName] = id
	}
	// Built one by one: Engineering needs Backend's id.
	for _, mk := range []func() sources.DirGroup{
		func() sources.DirGroup { return sources.DirGroup{Name: "Backend", MemberUsers: d.ids(d.users, "Bob")} },
		func() sources.DirGroup {
			return sources.DirGroup{Name: "Engineering", MemberUsers: d.ids(d.users, "Ann"), MemberGroups: d.ids(d.groups, "Backend")}
		},
		func() sources.DirGroup {
			return sources.DirGroup{Name: "Sales", MemberUsers: d.ids(d.users, "Cat", "Dan")}
		},
		func() sources.DirGroup { return sources.DirGroup{Name: "Empty"} },
	} {
		g := mk()
		id, err := env.AddGroup(ctx, g)
		if err != nil {
			t.Fatalf("seed: AddGroup(%s): %v", g.Name, err)
		}
		d.groups[g.Name] = id
	}
	settle(t, env)
	return d
}

func (d *directory) ids(m map[string]string, names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, m[n])
	}
	return out
}

// ctxT is a context ending with the test or after Timeout.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func settle(t *testing.T, env Env) {
	t.Helper()
	if s, ok := env.(Settler); ok {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := s.Settle(ctx); err != nil {
			t.Fatalf("Settle: %v", err)
		}
	}
}
