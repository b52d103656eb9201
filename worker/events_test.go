package worker_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func (e *env) reconcileGroups(w *worker.Worker, ids ...string) *worker.Result {
	e.t.Helper()
	res, err := w.ReconcileGroups(context.Background(), "corp", ids)
	if err != nil {
		e.t.Fatalf("ReconcileGroups(%v): %v", ids, err)
	}
	return res
}

// requests renders the fake's request log as "METHOD endpoint status".
func (e *env) requests() []string {
	var out []string
	for _, r := range e.ld.Requests() {
		out = append(out, r.Method+" "+r.Endpoint+" "+itoa(r.Status))
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// wantRequests compares the request log with want. Reads the worker
// makes at once (the users and groups lists) arrive in any order, so each
// run of consecutive GETs is compared as a set.
func (e *env) wantRequests(want ...string) {
	e.t.Helper()
	if got := e.requests(); strings.Join(sortReads(got), "\n") != strings.Join(sortReads(want), "\n") {
		e.t.Errorf("requests\n got %q\nwant %q", got, want)
	}
}

func sortReads(reqs []string) []string {
	out := append([]string(nil), reqs...)
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && strings.HasPrefix(out[j], "GET ") {
			j++
		}
		if j == i {
			i++
			continue
		}
		sort.Strings(out[i:j])
		i = j
	}
	return out
}

const (
	reqPatch   = "PATCH /api/v1/groups/{groupUuid} 200"
	reqCreate  = "POST /api/v1/org/groups 201"
	reqUsers   = "GET /api/v1/org/users 200"
	reqGroups  = "GET /api/v1/org/groups 200"
	reqFlag    = "GET /api/v2/feature-flag/{featureFlagId} 200"
	reqWhoAmI  = "GET /api/v1/user 200"
	salesDN    = "cn=Sales,ou=groups,dc=corp"
	salesGroup = "g-sales"
)

func TestEventAfterFullRunMakesOnlyItsWrite(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcile(w)

	e.ld.ResetRequests()
	e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-ann", "u-zed"}})
	res := e.reconcileGroups(w, salesGroup)
	e.wantRequests(reqPatch)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: ann,dan")
	if s := res.Summary; s.APICalls != 1 || s.Updated != 1 || s.MembersAdded != 1 || s.Unmatched != 1 {
		t.Errorf("summary %+v, want 1 call, 1 update, 1 member added, zed unmatched", s)
	}
	if res.Plan == nil || !res.Plan.Partial || len(res.Plan.Unmatched) != 1 || res.Plan.Unmatched[0].Email != "zed@example.com" {
		t.Errorf("result plan %+v, want the partial plan naming zed as unmatched", res.Plan)
	}

	e.ld.ResetRequests()
	res = e.reconcileGroups(w, salesGroup)
	e.wantRequests()
	if res.Summary.APICalls != 0 {
		t.Errorf("unchanged group: %d API calls, want 0", res.Summary.APICalls)
	}

	// A new directory group: one create; then a nested change: one PATCH
	// per Lightdash group it changes.
	e.dir.SetGroup(sources.DirGroup{ID: "g-new", DN: "cn=New,ou=groups,dc=corp", Name: "New", MemberUsers: []string{"u-bob"}})
	e.reconcileGroups(w, "g-new")
	e.dir.SetGroup(sources.DirGroup{ID: "g-be", DN: "cn=Backend,ou=groups,dc=corp", Name: "Backend", MemberUsers: []string{"u-cat", "u-dan"}})
	e.reconcileGroups(w, "g-be", "g-eng")
	e.wantRequests(reqCreate, reqPatch, reqPatch)
	e.wantGroups("ad-Backend: cat,dan", "ad-Engineering: ann,bob,cat,dan", "ad-New: bob", "ad-Sales: ann,dan")

	// The state the events recorded is what a full run would: it has
	// nothing left to write.
	e.ld.ResetRequests()
	e.reconcile(e.worker(e.options()))
	if e.ld.WriteCount() != 0 {
		t.Errorf("full run after events wrote %d times: %q", e.ld.WriteCount(), e.requests())
	}
}

func TestEventWithoutFullRunReadsOnce(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	e.reconcileGroups(w, salesGroup)
	// Lightdash holds no group yet: the empty list is checked by the preflight.
	e.wantRequests(reqUsers, reqGroups, reqFlag, reqWhoAmI, reqCreate)
	e.ld.ResetRequests()
	e.reconcileGroups(w, "g-eng")
	e.wantRequests(reqCreate, reqCreate) // Engineering and the nested Backend
}

func TestEventUnknownUserRefreshesUsersAtMostOncePerInterval(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.UserRefreshInterval = 30 * time.Second
	w := e.worker(opts)
	e.reconcile(w)

	// fay gets a Lightdash account and joins Sales: the cached users do
	// not know her, so they are read again before planning.
	e.uuid["fay"] = e.ld.AddUser("fay@example.com", lightdash.RoleViewer).UserUUID
	e.dir.SetUser(sources.DirUser{ID: "u-fay", Email: "fay@example.com"})
	e.dir.SetUser(sources.DirUser{ID: "u-gus", Email: "gus@example.com"})
	e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-fay"}})
	e.now = e.now.Add(31 * time.Second)
	e.ld.ResetRequests()
	e.reconcileGroups(w, salesGroup)
	e.wantRequests(reqUsers, reqPatch)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan,fay")

	// gus too, at once: the users were just read, so he stays unmatched
	// and nothing is called.
	e.uuid["gus"] = e.ld.AddUser("gus@example.com", lightdash.RoleViewer).UserUUID
	e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-fay", "u-gus"}})
	e.ld.ResetRequests()
	res := e.reconcileGroups(w, salesGroup)
	e.wantRequests()
	if res.Summary.Unmatched != 1 {
		t.Errorf("unmatched %d, want gus", res.Summary.Unmatched)
	}

	// After the interval he is looked up and added.
	e.now = e.now.Add(30 * time.Second)
	e.reconcileGroups(w, salesGroup)
	e.wantRequests(reqUsers, reqPatch)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: dan,fay,gus")
}

// TestEventKnownUnmatchedUserDoesNotRereadUsers: a member the last full
// run found without a Lightdash account (zed) does not make an event read
// the 100,000 users again each interval; a member new since does. Once
// zed has an account, the next full run finds it.
func TestEventKnownUnmatchedUserDoesNotRereadUsers(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.UserRefreshInterval = 30 * time.Second
	w := e.worker(opts)
	e.reconcile(w)

	e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-zed", "u-ann"}})
	e.now = e.now.Add(31 * time.Second)
	e.ld.ResetRequests()
	res := e.reconcileGroups(w, salesGroup)
	e.wantRequests(reqPatch)
	if res.Summary.Unmatched != 1 {
		t.Errorf("unmatched %d, want zed", res.Summary.Unmatched)
	}

	// hal is new to the directory: the users are read for him.
	e.dir.SetUser(sources.DirUser{ID: "u-hal", Email: "hal@example.com"})
	e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-zed", "u-ann", "u-hal"}})
	e.now = e.now.Add(31 * time.Second)
	e.ld.ResetRequests()
	e.reconcileGroups(w, salesGroup)
	e.wantRequests(reqUsers)

	// zed gets an account; the next full run adds him.
	e.uuid["zed"] = e.ld.AddUser("zed@example.com", lightdash.RoleViewer).UserUUID
	e.reconcile(w)
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: ann,dan,zed")
}

func TestEventCacheTooOldIsReadAgain(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.CacheMaxAge = 10 * time.Minute
	w := e.worker(opts)
	e.reconcile(w)
	e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-ann"}})
	e.now = e.now.Add(10 * time.Minute)
	e.ld.ResetRequests()
	e.reconcileGroups(w, salesGroup)
	// Lightdash lists groups: that proves flag and role, no preflight.
	e.wantRequests(reqUsers, reqGroups, reqPatch)
}

// Writes answered 404, 400 or 409 mean the cached view was wrong: it is
// read again and the group planned and applied once more.
func TestEventStaleViewGuards(t *testing.T) {
	reread := []string{reqUsers, reqGroups}
	tests := []struct {
		name string
		// change alters Lightdash behind the worker's back and the
		// directory, and returns the group ids of the event.
		change func(e *env) []string
		want   []string
		reqs   []string
		check  func(t *testing.T, e *env, res *worker.Result)
	}{
		{
			name: "group deleted in Lightdash (404): recreated",
			change: func(e *env) []string {
				if err := e.client(e.ld.AdminToken(), 0).DeleteGroup(context.Background(), e.groupUUID("ad-Sales")); err != nil {
					e.t.Fatal(err)
				}
				e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-ann"}})
				return []string{salesGroup}
			},
			want: []string{"ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: ann,dan"},
			reqs: append(append([]string{"PATCH /api/v1/groups/{groupUuid} 404"}, reread...), reqCreate),
			check: func(t *testing.T, e *env, res *worker.Result) {
				if res.Summary.Created != 1 || len(res.Failures) != 0 {
					t.Errorf("result %+v, want one create and no failure", res)
				}
				if got := e.state().Groups["group:corp/g-sales"]; got == nil || got.UUID != e.groupUUID("ad-Sales") {
					t.Errorf("state %+v, want the new ad-Sales owned", got)
				}
			},
		},
		{
			name: "member unknown to Lightdash (400): replanned",
			change: func(e *env) []string {
				e.ld.FailNext(lightdashtest.Fault{Method: "PATCH", Status: 400})
				e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-ann"}})
				return []string{salesGroup}
			},
			want: []string{"ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Sales: ann,dan"},
			reqs: append(append([]string{"PATCH /api/v1/groups/{groupUuid} 400"}, reread...), reqPatch),
			check: func(t *testing.T, e *env, res *worker.Result) {
				if res.Summary.Updated != 1 || len(res.Failures) != 0 {
					t.Errorf("result %+v, want one update and no failure", res)
				}
			},
		},
		{
			name: "rename to a name taken since (409): conflict",
			change: func(e *env) []string {
				if _, err := e.ld.AddGroup("ad-Revenue", e.uuid["eve"]); err != nil {
					e.t.Fatal(err)
				}
				e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: "cn=Revenue,ou=groups,dc=corp", Name: "Revenue", MemberUsers: []string{"u-dan"}})
				return []string{salesGroup}
			},
			want: []string{"ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-Revenue: eve", "ad-Sales: dan"},
			reqs: append([]string{"PATCH /api/v1/groups/{groupUuid} 409"}, reread...),
			check: func(t *testing.T, e *env, res *worker.Result) {
				if len(res.Failures) != 0 || len(res.Plan.Conflicts) != 1 || res.Summary.Conflicts != 1 {
					t.Errorf("result %+v, want the rename reported as a conflict", res)
				}
			},
		},
		{
			name: "create of a name taken since (409): conflict, not adopted",
			change: func(e *env) []string {
				if _, err := e.ld.AddGroup("ad-New", e.uuid["eve"]); err != nil {
					e.t.Fatal(err)
				}
				e.dir.SetGroup(sources.DirGroup{ID: "g-new", DN: "cn=New,ou=groups,dc=corp", Name: "New", MemberUsers: []string{"u-bob"}})
				return []string{"g-new"}
			},
			want: []string{"ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-New: eve", "ad-Sales: dan"},
			reqs: append([]string{"POST /api/v1/org/groups 409"}, reread...),
			check: func(t *testing.T, e *env, res *worker.Result) {
				if len(res.Failures) != 0 || res.Summary.Conflicts != 1 {
					t.Errorf("result %+v, want the create reported as a conflict", res)
				}
				if _, owned := e.state().Groups["group:corp/g-new"]; owned {
					t.Error("the stranger's group (or an intent to create it) is recorded as owned")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.worker(e.options())
			e.reconcile(w)
			ids := tt.change(e)
			e.ld.ResetRequests()
			res := e.reconcileGroups(w, ids...)
			e.wantGroups(tt.want...)
			e.wantRequests(tt.reqs...)
			if res.Summary.APICalls != int64(len(tt.reqs)) {
				t.Errorf("APICalls %d, want %d", res.Summary.APICalls, len(tt.reqs))
			}
			tt.check(t, e, res)
			// Recovered: the next event calls nothing.
			e.ld.ResetRequests()
			e.reconcileGroups(w, ids...)
			e.wantRequests()
		})
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	opts := e.options()
	opts.DryRun = true
	w := e.worker(opts)
	res := e.reconcile(w)
	if !res.DryRun || res.Summary.Created != 3 || res.Summary.MembersAdded != 5 || len(res.Plan.Creates) != 3 {
		t.Errorf("dry run result %+v, want DryRun with the 3 creates it would make", res)
	}
	e.dir.SetGroup(sources.DirGroup{ID: salesGroup, DN: salesDN, Name: "Sales", MemberUsers: []string{"u-dan", "u-ann"}})
	res = e.reconcileGroups(w, salesGroup)
	if !res.DryRun || res.Summary.Created != 1 {
		t.Errorf("dry-run event result %+v, want the create it would make", res)
	}
	if n := e.ld.WriteCount(); n != 0 {
		t.Errorf("dry run made %d writes: %q", n, e.requests())
	}
	if len(e.ld.Groups()) != 0 || len(e.state().Groups) != 0 {
		t.Errorf("dry run changed Lightdash (%d groups) or the state (%d groups)", len(e.ld.Groups()), len(e.state().Groups))
	}
}

func TestResultJSONCarriesThePlan(t *testing.T) {
	e := newEnv(t)
	res := e.reconcile(e.worker(e.options()))
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Summary struct {
			Created int `json:"created"`
		} `json:"summary"`
		Plan struct {
			Unmatched []struct {
				Email  string `json:"email"`
				Reason string `json:"reason"`
			} `json:"unmatched"`
		} `json:"plan"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Summary.Created != 3 || len(back.Plan.Unmatched) != 1 || back.Plan.Unmatched[0].Email != "zed@example.com" {
		t.Errorf("JSON %s: want 3 created and zed unmatched with a reason", b)
	}
}

func TestEventForUnmappedGroupCallsNothing(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.options())
	// g-other is outside the rules' base DN; the worker has not read
	// Lightdash yet, and need not.
	res := e.reconcileGroups(w, "g-other")
	e.wantRequests()
	if res.Plan.HasChanges() || res.Summary.APICalls != 0 {
		t.Errorf("result %+v, want nothing planned and no call", res)
	}
}

// A create whose POST failed before Lightdash made the group leaves its
// intent; a same-named group someone then makes by hand is not adopted on
// the strength of that intent, by the next event nor by a full run.
func TestInterruptedCreateDoesNotTakeAHandMadeGroup(t *testing.T) {
	e := newEnv(t)
	w := e.workerWith(e.client(e.ld.AdminToken(), -1), e.options())
	e.reconcile(w)
	e.dir.SetGroup(sources.DirGroup{ID: "g-new", DN: "cn=New,ou=groups,dc=corp", Name: "New", MemberUsers: []string{"u-bob"}})
	e.ld.FailNext(lightdashtest.Fault{Method: "POST", Endpoint: "/api/v1/org/groups", Status: 502})
	if _, err := w.ReconcileGroups(context.Background(), "corp", []string{"g-new"}); err == nil {
		t.Fatal("first attempt: no error, want the failed create reported")
	}
	if o := e.state().Groups["group:corp/g-new"]; o == nil || !o.Creating() {
		t.Fatalf("state %+v, want the create's intent kept", o)
	}
	if _, err := e.ld.AddGroup("ad-New"); err != nil {
		t.Fatal(err)
	}
	ev, _ := w.ReconcileGroups(context.Background(), "corp", []string{"g-new"})
	if ev == nil || ev.Summary.Created+ev.Summary.Adopted+ev.Summary.Updated != 0 {
		t.Errorf("event result %+v, want the hand-made group left alone", ev)
	}
	if o := e.state().Groups["group:corp/g-new"]; o == nil || !o.Creating() {
		t.Errorf("state after the event %+v, want only the intent", o)
	}
	res, err := w.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Conflicts) != 1 || res.Plan.Conflicts[0].Name != "ad-New" {
		t.Errorf("full run conflicts %+v, want one for ad-New", res.Plan.Conflicts)
	}
	if o := e.state().Groups["group:corp/g-new"]; o == nil || !o.Creating() {
		t.Errorf("state %+v, want only the intent, the group not owned", o)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-New: ", "ad-Sales: dan")
}

// A create whose answer was lost is adopted by the next attempt, which
// finds the name taken: the intent the first attempt left proves it ours.
func TestEventCreateWhoseAnswerWasLostIsAdopted(t *testing.T) {
	e := newEnv(t)
	w := e.workerWith(e.client(e.ld.AdminToken(), -1), e.options())
	e.reconcile(w)
	e.dir.SetGroup(sources.DirGroup{ID: "g-new", DN: "cn=New,ou=groups,dc=corp", Name: "New", MemberUsers: []string{"u-bob"}})
	e.ld.FailNext(lightdashtest.Fault{Method: "POST", Endpoint: "/api/v1/org/groups", Status: 502, After: true})
	if _, err := w.ReconcileGroups(context.Background(), "corp", []string{"g-new"}); err == nil {
		t.Fatal("first attempt: no error, want the lost answer reported")
	}
	if o := e.state().Groups["group:corp/g-new"]; o == nil || !o.Creating() {
		t.Fatalf("state %+v, want the create's intent kept", o)
	}

	e.ld.ResetRequests()
	res := e.reconcileGroups(w, "g-new")
	if res.Summary.Failed != 0 || res.Summary.Created != 1 {
		t.Errorf("second attempt: %+v, want the group taken as created", res.Summary)
	}
	// The group found is taken as ours once the token's user is known to
	// have made it: one read of /api/v1/user per process.
	e.wantRequests("POST /api/v1/org/groups 409", reqGroups, "GET /api/v1/user 200")
	if o := e.state().Groups["group:corp/g-new"]; o == nil || o.UUID != e.groupUUID("ad-New") {
		t.Errorf("state %+v, want ad-New owned", o)
	}
	e.wantGroups("ad-Backend: cat", "ad-Engineering: ann,bob,cat", "ad-New: bob", "ad-Sales: dan")
}
