package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func (e *env) explain(w *worker.Worker, email string) *worker.Explanation {
	e.t.Helper()
	x, err := w.Explain(context.Background(), email)
	if err != nil {
		e.t.Fatalf("Explain(%s): %v", email, err)
	}
	return x
}

// access renders x's Lightdash groups as "name state".
func access(x *worker.Explanation) string {
	var out []string
	for _, a := range x.Lightdash {
		out = append(out, a.Name+" "+a.State)
	}
	return strings.Join(out, "; ")
}

func wantAccess(t *testing.T, x *worker.Explanation, want string) {
	t.Helper()
	if got := access(x); got != want {
		t.Errorf("Lightdash groups %q, want %q\n%+v", got, want, x.Lightdash)
	}
}

func TestExplainDirectMember(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	x := e.explain(w, "DAN@example.com")
	wantAccess(t, x, "ad-Sales add")
	e.reconcile(w)
	x = e.explain(w, "dan@example.com")
	if len(x.Directory) != 1 || x.Directory[0].ID != "u-dan" || x.Directory[0].Disabled {
		t.Errorf("directory %+v, want u-dan, enabled", x.Directory)
	}
	if len(x.Groups) != 1 {
		t.Fatalf("groups %+v, want Sales", x.Groups)
	}
	g := x.Groups[0]
	if !g.Direct || g.Group.Name != "Sales" || g.Group.DN != "cn=Sales,ou=groups,dc=corp" ||
		g.Mapping.Verdict != worker.VerdictMapped || g.Mapping.Rule != "groups" || g.Mapping.LightdashGroup != "ad-Sales" {
		t.Errorf("group %+v, want Sales, direct, mapped by rule groups to ad-Sales", g)
	}
	if a := x.Account; a.Status != worker.AccountActive || a.UUID != e.uuid["dan"] {
		t.Errorf("account %+v, want active %s", a, e.uuid["dan"])
	}
	wantAccess(t, x, "ad-Sales ok")
	if len(x.Pending) != 0 || x.Grants == nil || len(x.Grants) != 0 {
		t.Errorf("pending %+v, grants %+v: want none of either", x.Pending, x.Grants)
	}
}

func TestExplainNestedMember(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)
	x := e.explain(w, "cat@example.com") // cat's alternative address
	var got []string
	for _, g := range x.Groups {
		var path []string
		for _, p := range g.Path {
			path = append(path, p.Name+"("+p.DN+")")
		}
		got = append(got, g.Group.Name+" direct="+map[bool]string{true: "yes", false: "no"}[g.Direct]+" path="+strings.Join(path, " > "))
	}
	want := "Backend direct=yes path=; Engineering direct=no path=Backend(cn=Backend,ou=groups,dc=corp) > Engineering(cn=Engineering,ou=groups,dc=corp)"
	if strings.Join(got, "; ") != want {
		t.Errorf("groups\n got %q\nwant %q", strings.Join(got, "; "), want)
	}
	wantAccess(t, x, "ad-Backend ok; ad-Engineering ok")
}

func TestExplainDisabledUser(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.dir.SetUser(dirUser("u-eve", "eve@example.com", false))
	e.reconcile(w)
	e.dir.SetUser(dirUser("u-eve", "eve@example.com", true))
	x := e.explain(w, "eve@example.com")
	if len(x.Directory) != 1 || !x.Directory[0].Disabled {
		t.Errorf("directory %+v, want eve disabled", x.Directory)
	}
	if len(x.Notes) == 0 || !strings.Contains(x.Notes[0], "disabled") {
		t.Errorf("notes %q, want one saying eve is disabled", x.Notes)
	}
	wantAccess(t, x, "ad-Sales remove")
}

func TestExplainNoLightdashAccount(t *testing.T) {
	for _, policy := range []worker.UnmatchedPolicy{worker.UnmatchedSkip, worker.UnmatchedInvite} {
		t.Run(string(policy), func(t *testing.T) {
			e := newEnv(t)
			opts := e.options()
			opts.Unmatched = policy
			x := e.explain(e.worker(opts), "zed@example.com")
			a := x.Account
			if a.Status != worker.AccountNone || a.UUID != "" || !strings.Contains(a.Detail, `identity.unmatched is "`+string(policy)+`"`) {
				t.Errorf("account %+v, want none, saying what identity.unmatched %s does", a, policy)
			}
			wantAccess(t, x, "ad-Sales unmatched")
			invited := false
			for _, p := range x.Pending {
				invited = invited || p.Kind == "invite"
			}
			if invited != (policy == worker.UnmatchedInvite) {
				t.Errorf("pending %+v: invite listed %v, want %v", x.Pending, invited, policy == worker.UnmatchedInvite)
			}
		})
	}
}

func TestExplainGroupNotMapped(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*worker.Options)
		group string
		want  string
	}{
		{"no rule", func(*worker.Options) {}, "Other", worker.VerdictNoRule},
		{"excluded", func(o *worker.Options) { o.Mapping.Exclude = []string{"Engineering"} }, "Engineering", worker.VerdictExcluded},
		{"collision", func(o *worker.Options) {
			o.Mapping.Overrides = []worker.Override{{Group: "Other", Name: "ad-Engineering"}}
		}, "Other", worker.VerdictCollision},
		{"invalid name", func(o *worker.Options) {
			o.Mapping.Rules = append([]worker.Rule{{Name: "blank", NameRegex: "^Other$", RewriteRegex: ".*"}}, o.Mapping.Rules...)
		}, "Other", worker.VerdictInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			opts := e.options()
			tt.edit(&opts)
			x := e.explain(e.worker(opts), "ann@example.com")
			for _, g := range x.Groups {
				if g.Group.Name != tt.group {
					continue
				}
				if g.Mapping.Verdict != tt.want || g.Mapping.Reason == "" {
					t.Errorf("%s: mapping %+v, want %s with a reason", tt.group, g.Mapping, tt.want)
				}
				return
			}
			t.Errorf("groups %+v lack %s", x.Groups, tt.group)
		})
	}
}

func TestExplainDeletionHeldBack(t *testing.T) {
	tests := []struct {
		name   string
		limits worker.Limits
		state  string
		reason string
	}{
		{"grace period", worker.Limits{DeleteGracePeriod: 24 * time.Hour}, worker.AccessGrace, "deleted after 24h0m0s"},
		{"safety limit", worker.Limits{MaxGroupDeletesPercent: 10}, worker.AccessHeldBack, "exceed maxDeletedGroupsPercent 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			opts := e.options()
			opts.Limits = tt.limits
			w := e.worker(opts)
			e.reconcile(w)
			e.dir.DeleteGroup("g-sales")
			x := e.explain(w, "dan@example.com")
			if len(x.Lightdash) != 1 || x.Lightdash[0].State != tt.state || !x.Lightdash[0].Now || x.Lightdash[0].Should ||
				!strings.Contains(x.Lightdash[0].Reason, tt.reason) {
				t.Fatalf("Lightdash groups %+v, want ad-Sales %s (%q)", x.Lightdash, tt.state, tt.reason)
			}
			if len(x.Pending) == 0 || x.Pending[0].Group != "ad-Sales" || x.Pending[0].Kind != tt.state {
				t.Errorf("pending %+v, want ad-Sales %s", x.Pending, tt.state)
			}
		})
	}
}

func TestExplainLastAnswersFromTheLastFullRun(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.KeepLastRead = true
	w := e.worker(opts)
	if _, err := w.ExplainLast(context.Background(), "cat@example.com"); !errors.Is(err, worker.ErrNoFullRun) {
		t.Fatalf("before a full run: %v, want ErrNoFullRun", err)
	}
	e.reconcile(w)
	e.dir.DeleteGroup("g-be") // not read until the next full run
	e.ld.ResetRequests()
	x, err := w.ExplainLast(context.Background(), "cat@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wantAccess(t, x, "ad-Backend ok; ad-Engineering ok")
	if x.Account.UUID != e.uuid["cat"] || x.Freshness.From != "last full reconciliation" {
		t.Errorf("account %+v, freshness %+v", x.Account, x.Freshness)
	}
	// One lookup per address of cat's, never the whole users list.
	if got, all := e.ld.RequestCount("GET /api/v1/org/users/email/{email}"), len(e.ld.Requests()); got != 2 || all != 2 {
		t.Errorf("%d lookups of %d requests, want 2 of 2: %v", got, all, e.ld.Requests())
	}
	if _, err := w.ExplainLast(context.Background(), "k\u212Ate@example.com"); !errors.Is(err, worker.ErrBadEmail) {
		t.Errorf("a lookalike address: %v, want ErrBadEmail", err)
	}
}

func TestExplainLastNeedsKeepLastRead(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)
	if _, err := w.ExplainLast(context.Background(), "cat@example.com"); !errors.Is(err, worker.ErrNoFullRun) {
		t.Errorf("without KeepLastRead: %v, want ErrNoFullRun", err)
	}
}

func dirUser(id, email string, disabled bool) sources.DirUser {
	return sources.DirUser{ID: id, Email: email, Disabled: disabled}
}

func TestExplainPendingAndDeactivatedAccounts(t *testing.T) {
	e := newEnv(t)
	zed := e.ld.AddPendingUser("zed@example.com")
	w := e.worker(e.options())
	e.reconcile(w)
	x := e.explain(w, "zed@example.com")
	if a := x.Account; a.Status != worker.AccountPending || a.UUID != zed.UserUUID {
		t.Errorf("zed's account %+v, want pending %s", a, zed.UserUUID)
	}
	wantAccess(t, x, "ad-Sales ok")

	if err := e.ld.DeactivateUser(e.uuid["dan"]); err != nil {
		t.Fatal(err)
	}
	x = e.explain(w, "dan@example.com")
	if a := x.Account; a.Status != worker.AccountDeactivated || a.UUID != e.uuid["dan"] || !strings.Contains(a.Detail, "deactivated") {
		t.Errorf("dan's account %+v, want deactivated", a)
	}
	wantAccess(t, x, "ad-Sales unmatched")
	if a := x.Lightdash[0]; !a.Now || !strings.Contains(a.Reason, "the next run removes them") {
		t.Errorf("ad-Sales %+v, want dan listed now and removed by the next run", a)
	}
	e.reconcile(w)
	if a := e.explain(w, "dan@example.com").Lightdash[0]; a.Now || a.State != worker.AccessUnmatched {
		t.Errorf("after the run, ad-Sales %+v, want dan removed", a)
	}
}

// TestExplainLastDuringRuns asks while full runs go on: ExplainLast takes
// no run lock, so the race detector checks what it shares with them.
func TestExplainLastDuringRuns(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.KeepLastRead = true
	w := e.worker(opts)
	e.reconcile(w)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3; i++ {
			e.dir.SetUser(dirUser("u-dan", "dan@example.com", i%2 == 0))
			if _, err := w.Reconcile(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if _, err := w.ExplainLast(context.Background(), "dan@example.com"); err != nil {
			t.Fatal(err)
		}
	}
}
