package worker_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/memory"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// env is a real fake Lightdash over HTTP, the real client, an in-memory
// directory and a state file: everything but a real Lightdash and LDAP.
type env struct {
	t     *testing.T
	ld    *lightdashtest.Server
	dir   *memory.Source
	store *worker.FileStore
	uuid  map[string]string // Lightdash user uuid by email local part
	now   time.Time
	reg   *prometheus.Registry
}

func newEnv(t *testing.T, opts ...lightdashtest.Option) *env {
	t.Helper()
	e := &env{
		t:     t,
		ld:    lightdashtest.NewServer(append([]lightdashtest.Option{lightdashtest.WithSeed(1)}, opts...)...),
		dir:   memory.New("corp"),
		store: worker.NewFileStore(filepath.Join(t.TempDir(), "state.json")),
		uuid:  map[string]string{},
		now:   time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
	}
	t.Cleanup(e.ld.Close)
	for _, n := range []string{"ann", "bob", "cat", "dan", "eve"} {
		e.uuid[n] = e.ld.AddUser(n+"@example.com", lightdash.RoleMember).UserUUID
	}
	// The directory: Engineering nests Backend; eve is disabled; zed has
	// no Lightdash account.
	e.dir.Replace([]sources.DirGroup{
		{ID: "g-eng", DN: "cn=Engineering,ou=groups,dc=corp", Name: "Engineering", MemberUsers: []string{"u-ann", "u-bob"}, MemberGroups: []string{"g-be"}},
		{ID: "g-be", DN: "cn=Backend,ou=groups,dc=corp", Name: "Backend", MemberUsers: []string{"u-cat"}},
		{ID: "g-sales", DN: "cn=Sales,ou=groups,dc=corp", Name: "Sales", MemberUsers: []string{"u-dan", "u-eve", "u-zed"}},
		{ID: "g-other", DN: "cn=Other,ou=elsewhere,dc=corp", Name: "Other", MemberUsers: []string{"u-ann"}},
	}, []sources.DirUser{
		{ID: "u-ann", Email: "Ann@Example.com"},
		{ID: "u-bob", Email: "bob@example.com"},
		{ID: "u-cat", Email: "cat@corp.local", AltEmails: []string{"cat@example.com"}},
		{ID: "u-dan", Email: "dan@example.com"},
		{ID: "u-eve", Email: "eve@example.com", Disabled: true},
		{ID: "u-zed", Email: "zed@example.com"},
	})
	return e
}

// options are the test defaults: groups under ou=groups, prefixed "ad-",
// no grace and no limits unless a test sets them.
func (e *env) options() worker.Options {
	return worker.Options{
		Mapping:     worker.Mapping{Rules: []worker.Rule{{Name: "groups", BaseDN: "ou=groups,dc=corp", Prefix: "ad-"}}},
		Concurrency: 3,
		Now:         func() time.Time { return e.now },
	}
}

func (e *env) client(token string, retries int) *lightdash.Client {
	e.t.Helper()
	c := &lightdash.Client{
		BaseURL:    e.ld.URL(),
		Token:      token,
		HTTPClient: e.ld.Client(),
		MaxRetries: retries,
		MinBackoff: time.Millisecond,
		MaxBackoff: time.Millisecond,
		Sleep:      func(context.Context, time.Duration) error { return nil },
	}
	if err := c.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) worker(opts worker.Options) *worker.Worker {
	return e.workerWith(e.client(e.ld.AdminToken(), 3), opts)
}

func (e *env) workerWith(ld worker.Lightdash, opts worker.Options) *worker.Worker {
	e.t.Helper()
	e.reg = prometheus.NewRegistry()
	w, err := worker.New([]sources.Source{e.dir}, ld, e.store, opts, zaptest.NewLogger(e.t), e.reg)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

func (e *env) reconcile(w *worker.Worker) *worker.Result {
	e.t.Helper()
	res, err := w.Reconcile(context.Background())
	if err != nil {
		e.t.Fatalf("Reconcile: %v", err)
	}
	return res
}

// groups renders Lightdash's groups as "name: member local parts".
func (e *env) groups() []string {
	byUUID := map[string]string{}
	for n, u := range e.uuid {
		byUUID[u] = n
	}
	var out []string
	for _, g := range e.ld.Groups() {
		var ms []string
		for _, m := range g.MemberUUIDs {
			n := byUUID[m]
			if n == "" {
				n = "?" + m
			}
			ms = append(ms, n)
		}
		sort.Strings(ms)
		out = append(out, g.Name+": "+strings.Join(ms, ","))
	}
	return out
}

func (e *env) groupUUID(name string) string {
	for _, g := range e.ld.Groups() {
		if g.Name == name {
			return g.UUID
		}
	}
	return ""
}

func (e *env) wantGroups(want ...string) {
	e.t.Helper()
	got := e.groups()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		e.t.Errorf("Lightdash groups\n got %q\nwant %q", got, want)
	}
}

func (e *env) state() *worker.State {
	e.t.Helper()
	s, err := e.store.Load(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}
