package worker_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// TestConcurrentReconcileGroups runs one ReconcileGroups per directory
// group, all at once, against a slow Lightdash: teams that change, teams
// that are new, and groups merged into one Target. Nothing may be lost:
// not a member (two merged groups writing one Lightdash group), not an
// ownership record (two runs saving the state), and no group may be
// created twice.
func TestConcurrentReconcileGroups(t *testing.T) {
	const teams, newTeams, shared = 12, 6, 8
	e := newEnv(t)
	opts := e.options()
	opts.Mapping = worker.Mapping{Rules: []worker.Rule{
		{Name: "shared", NameRegex: "^Shared", Target: "ad-Shared"},
		{Name: "teams", BaseDN: "ou=groups,dc=corp", Prefix: "ad-"},
	}}
	// preserve-manual records added members, one more thing concurrent
	// saves could lose (authoritative mode records none).
	opts.Membership = worker.MembershipPreserveManual
	w := e.worker(opts)

	user := func(i int) string { return fmt.Sprintf("p%02d", i) }
	var users []sources.DirUser
	for i := range 40 {
		e.uuid[user(i)] = e.ld.AddUser(user(i)+"@example.com", lightdash.RoleViewer).UserUUID
		users = append(users, sources.DirUser{ID: "u-" + user(i), Email: user(i) + "@example.com"})
	}
	team := func(i int, members ...int) sources.DirGroup {
		g := sources.DirGroup{ID: fmt.Sprintf("t%02d", i), DN: fmt.Sprintf("cn=Team%02d,ou=groups,dc=corp", i), Name: fmt.Sprintf("Team%02d", i)}
		for _, m := range members {
			g.MemberUsers = append(g.MemberUsers, "u-"+user(m))
		}
		return g
	}
	sharedGroup := func(i int, members ...int) sources.DirGroup {
		g := team(100+i, members...)
		g.ID, g.DN, g.Name = fmt.Sprintf("s%d", i), fmt.Sprintf("cn=Shared%d,ou=groups,dc=corp", i), fmt.Sprintf("Shared%d", i)
		return g
	}
	var groups []sources.DirGroup
	for i := range teams {
		groups = append(groups, team(i, i))
	}
	for i := range shared {
		groups = append(groups, sharedGroup(i))
	}
	e.dir.Replace(groups, users)
	e.reconcile(w)

	// Every group changes at once, and new ones appear.
	var ids []string
	want := map[string][]string{"ad-Shared": nil}
	for i := range teams + newTeams {
		e.dir.SetGroup(team(i, i, 20+i%10, 30+i%10))
		ids = append(ids, fmt.Sprintf("t%02d", i))
		want[fmt.Sprintf("ad-Team%02d", i)] = []string{user(i), user(20 + i%10), user(30 + i%10)}
	}
	for i := range shared {
		e.dir.SetGroup(sharedGroup(i, i))
		ids = append(ids, fmt.Sprintf("s%d", i))
		want["ad-Shared"] = append(want["ad-Shared"], user(i))
	}
	e.ld.SetLatency(5 * time.Millisecond)
	e.ld.ResetRequests()
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Go(func() {
			res, err := w.ReconcileGroups(context.Background(), "corp", []string{id})
			if err == nil && len(res.Failures) > 0 {
				err = fmt.Errorf("%s: %+v", id, res.Failures)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.ld.SetLatency(0)

	var wantLines []string
	for name, ms := range want {
		sort.Strings(ms)
		wantLines = append(wantLines, name+": "+strings.Join(ms, ","))
	}
	sort.Strings(wantLines)
	e.wantGroups(wantLines...)
	if got := e.ld.RequestCount("POST /api/v1/org/groups"); got != newTeams {
		t.Errorf("%d creates, want %d (one per new team)", got, newTeams)
	}
	if got := e.ld.RequestCount("GET /api/v1/org/groups"); got != 0 {
		t.Errorf("%d group lists, want 0: the events plan against the cached view", got)
	}

	// Every owned group is in the saved state under its key.
	st := e.state()
	for i := range teams + newTeams {
		key, name := fmt.Sprintf("group:corp/t%02d", i), fmt.Sprintf("ad-Team%02d", i)
		if g := st.Groups[key]; g == nil || g.UUID != e.groupUUID(name) {
			t.Errorf("state[%s] = %+v, want %s owned", key, g, name)
		}
	}
	if g := st.Groups["target:ad-Shared"]; g == nil || g.UUID != e.groupUUID("ad-Shared") || len(g.AddedMembers) != shared {
		t.Errorf("state[target:ad-Shared] = %+v, want ad-Shared owned with %d added members", g, shared)
	}

	// A full run finds nothing to do.
	e.ld.ResetRequests()
	e.reconcile(w)
	if e.ld.WriteCount() != 0 {
		t.Errorf("full run after the events wrote %d times", e.ld.WriteCount())
	}
}

// listGate holds ListGroups, once armed, until released.
type listGate struct {
	worker.Lightdash
	armed   chan struct{} // closed to arm
	entered chan struct{}
	release chan struct{}
}

func (g *listGate) ListGroups(ctx context.Context) ([]lightdash.GroupWithMembers, error) {
	select {
	case <-g.armed:
		close(g.entered)
		<-g.release
	default:
	}
	return g.Lightdash.ListGroups(ctx)
}

// TestFullRunHoldsOffGroupWork: while a full run is under way, group work
// waits for it to end (the worker's run lock, the only one the daemon
// relies on), then goes through.
func TestFullRunHoldsOffGroupWork(t *testing.T) {
	e := newEnv(t)
	gate := &listGate{Lightdash: e.client(e.ld.AdminToken(), 3), armed: make(chan struct{}), entered: make(chan struct{}), release: make(chan struct{})}
	w := e.workerWith(gate, e.options())
	e.reconcile(w)

	close(gate.armed)
	full := make(chan error, 1)
	go func() { _, err := w.Reconcile(context.Background()); full <- err }()
	<-gate.entered
	e.dir.SetGroup(sources.DirGroup{ID: "g-be", DN: "cn=Backend,ou=groups,dc=corp", Name: "Backend", MemberUsers: []string{"u-cat", "u-dan"}})
	group := make(chan error, 1)
	go func() { _, err := w.ReconcileGroups(context.Background(), "corp", []string{"g-be"}); group <- err }()
	select {
	case err := <-group:
		t.Fatalf("group work ended (%v) while a full run held the lock", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(gate.release)
	if err := <-full; err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if err := <-group; err != nil {
		t.Fatalf("ReconcileGroups: %v", err)
	}
}
