package worker_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// recordedProgress keeps what a worker reported, in order.
type recordedProgress struct {
	mu     sync.Mutex
	events []string
}

func (r *recordedProgress) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recordedProgress) Phase(name string) { r.add("phase " + name) }
func (r *recordedProgress) Read(what string, done bool, size string) {
	if done {
		r.add("read " + what + ": " + size)
	} else {
		r.add("reading " + what)
	}
}
func (r *recordedProgress) Wrote(done, total int) { r.add(fmt.Sprintf("wrote %d/%d", done, total)) }

func (r *recordedProgress) has(e string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.events, e)
}

// TestReconcileReportsProgress: a full run reports its reads, its phases
// in order and every write of its total; an event run reports nothing.
func TestReconcileReportsProgress(t *testing.T) {
	e := newEnv(t)
	rec := &recordedProgress{}
	opts := e.options()
	opts.Progress = rec
	w := e.worker(opts)
	e.reconcile(w)
	for _, want := range []string{
		"reading source corp", "read source corp: 6 users, 4 groups",
		"reading Lightdash users", "read Lightdash users: 6 users in 1 page",
		"reading Lightdash groups", "read Lightdash groups: 0 groups",
		"wrote 0/3", "wrote 3/3",
	} {
		if !rec.has(want) {
			t.Errorf("no %q in %s", want, strings.Join(rec.events, "; "))
		}
	}
	var phases []string
	for _, ev := range rec.events {
		if p, ok := strings.CutPrefix(ev, "phase "); ok {
			phases = append(phases, p)
		}
	}
	if got := strings.Join(phases, ","); got != "reading,planning,writing," {
		t.Errorf("phases %q, want reading,planning,writing, then the end", got)
	}

	rec.events = nil
	e.dir.SetGroup(sources.DirGroup{ID: "g-be", DN: "cn=Backend,ou=groups,dc=corp", Name: "Backend", MemberUsers: []string{"u-cat", "u-dan"}})
	e.reconcileGroups(w, "g-be")
	if len(rec.events) != 0 {
		t.Errorf("an event run reported %s", strings.Join(rec.events, "; "))
	}
}

// TestProgressCountsUsersPages: a users list read in pages reports how
// many pages it took, and the run's call count still counts each page.
func TestProgressCountsUsersPages(t *testing.T) {
	e := newEnv(t)
	rec := &recordedProgress{}
	opts := e.options()
	opts.Progress = rec
	c := e.client(e.ld.AdminToken(), 3)
	c.UserPageSize = 2
	w := e.workerWith(c, opts)
	res := e.reconcile(w)
	got := e.ld.RequestCount("/api/v1/org/users")
	if got < 3 {
		t.Fatalf("6 users in pages of 2 took %d calls", got)
	}
	if want := fmt.Sprintf("read Lightdash users: 6 users in %d pages", got); !rec.has(want) {
		t.Errorf("no %q in %s", want, strings.Join(rec.events, "; "))
	}
	if res.Summary.APICalls < int64(got) {
		t.Errorf("the run counted %d calls, but the users list alone took %d", res.Summary.APICalls, got)
	}
}
