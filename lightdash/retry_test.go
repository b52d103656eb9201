package lightdash_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

const (
	epGroups = "/api/v1/org/groups"
	epGroup  = "/api/v1/groups/{groupUuid}"
)

// Reads are retried on every transient failure, including 500.
func TestReadsRetryTransientFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault lightdashtest.Fault
	}{
		{"429", lightdashtest.Fault{Status: 429}},
		{"500", lightdashtest.Fault{Status: 500}},
		{"502", lightdashtest.Fault{Status: 502}},
		{"503", lightdashtest.Fault{Status: 503}},
		{"504", lightdashtest.Fault{Status: 504}},
		{"dropped connection", lightdashtest.Fault{Drop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.srv.AddGroup("g")
			f.srv.FailNext(tt.fault, tt.fault)
			groups, err := f.c.ListGroups(context.Background())
			if err != nil || len(groups) != 1 {
				t.Fatalf("got %v %v, want the group after retries", groups, err)
			}
			if got := f.srv.RequestCount("GET " + epGroups); got != 3 {
				t.Errorf("got %d requests, want 3", got)
			}
			if got := f.sleeps.got(); len(got) != 2 {
				t.Errorf("got sleeps %v, want 2", got)
			}
		})
	}
}

// Permanent errors are not retried.
func TestPermanentErrorsAreNotRetried(t *testing.T) {
	for _, status := range []int{400, 403, 404, 409, 422} {
		f := newFixture(t)
		f.srv.FailNext(lightdashtest.Fault{Status: status})
		_, err := f.c.ListUsers(context.Background())
		if err == nil {
			t.Fatalf("%d: got no error", status)
		}
		if got := f.c.RequestCount(); got != 1 {
			t.Errorf("%d: got %d requests, want 1", status, got)
		}
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(lightdashtest.Fault{Status: 429, RetryAfter: 3 * time.Second})
	if _, err := f.c.ListUsers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.sleeps.got(); !slices.Equal(got, []time.Duration{3 * time.Second}) {
		t.Errorf("got sleeps %v, want [3s]", got)
	}
}

func TestRetryAfterTooLongGivesUp(t *testing.T) {
	f := newFixture(t)
	f.c.MaxRetryAfter = time.Minute
	f.srv.FailNext(lightdashtest.Fault{Status: 503, RetryAfter: time.Hour})
	_, err := f.c.ListUsers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "server asked to wait") {
		t.Fatalf("got %v, want a give-up error", err)
	}
	if len(f.sleeps.got()) != 0 || f.c.RequestCount() != 1 {
		t.Errorf("got %d sleeps and %d requests, want none and 1", len(f.sleeps.got()), f.c.RequestCount())
	}
}

func TestBackoffGrowsAndGivesUp(t *testing.T) {
	f := newFixtureWith(t, &lightdash.Client{MaxRetries: 3, MinBackoff: 100 * time.Millisecond, MaxBackoff: 250 * time.Millisecond})
	f.c.Jitter = func() float64 { return 0.5 }
	f.srv.SetFailureRate(1, lightdashtest.Fault{Status: 503})
	_, err := f.c.ListUsers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts") {
		t.Fatalf("got %v, want giving up after 4 attempts", err)
	}
	var apiErr *lightdash.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Errorf("got %v, want the last 503 wrapped", err)
	}
	// 100ms, 200ms, 250ms (capped), each with equal jitter at 0.5: 75%.
	want := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 187500 * time.Microsecond}
	if got := f.sleeps.got(); !slices.Equal(got, want) {
		t.Errorf("got sleeps %v, want %v", got, want)
	}
	if got := f.c.RequestCount(); got != 4 {
		t.Errorf("got %d requests, want 4", got)
	}
}

func TestNoRetriesWhenNegative(t *testing.T) {
	f := newFixtureWith(t, &lightdash.Client{MaxRetries: -1})
	f.srv.FailNext(lightdashtest.Fault{Status: 503})
	if _, err := f.c.ListUsers(context.Background()); err == nil {
		t.Fatal("got no error")
	}
	if f.c.RequestCount() != 1 {
		t.Errorf("got %d requests, want 1", f.c.RequestCount())
	}
}

// A hanging server is cut off by the per-attempt timeout and retried.
func TestPerAttemptTimeout(t *testing.T) {
	f := newFixtureWith(t, &lightdash.Client{Timeout: 50 * time.Millisecond})
	f.srv.FailNext(lightdashtest.Fault{Hang: true})
	if _, err := f.c.ListUsers(context.Background()); err != nil {
		t.Fatalf("got %v, want success on the retry", err)
	}
	if f.c.RequestCount() != 2 {
		t.Errorf("got %d requests, want 2", f.c.RequestCount())
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.c.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	f.srv.SetFailureRate(1, lightdashtest.Fault{Status: 503})
	_, err := f.c.ListUsers(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if f.c.RequestCount() != 1 {
		t.Errorf("got %d requests, want 1", f.c.RequestCount())
	}
}

// Writes other than create are idempotent (full replacement, put, delete)
// and retried on transient failures, but not on 500.
func TestWritesRetry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, _ := f.srv.AddGroup("g")
	f.srv.FailNext(lightdashtest.Fault{Method: "PATCH", Status: 502})
	members := []string{f.bob.UserUUID}
	if _, err := f.c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &members}); err != nil {
		t.Fatal(err)
	}
	if got := f.srv.RequestCount("PATCH " + epGroup); got != 2 {
		t.Errorf("got %d PATCHes, want 2", got)
	}
	f.srv.FailNext(lightdashtest.Fault{Method: "PATCH", Status: 500})
	if _, err := f.c.UpdateGroup(ctx, g.UUID, lightdash.GroupUpdate{Members: &members}); !errors.Is(err, lightdash.ErrServer) {
		t.Errorf("got %v, want ErrServer", err)
	}
	if got := f.srv.RequestCount("PATCH " + epGroup); got != 3 {
		t.Errorf("got %d PATCHes, want 3 (500 not retried)", got)
	}
}

// A delete whose answer was lost is retried; the retry's 404 means the
// first attempt did it.
func TestDeleteAnswerLost(t *testing.T) {
	f := newFixture(t)
	g, _ := f.srv.AddGroup("g")
	f.srv.FailNext(lightdashtest.Fault{Method: "DELETE", Drop: true, After: true})
	if err := f.c.DeleteGroup(context.Background(), g.UUID); err != nil {
		t.Fatalf("got %v, want success", err)
	}
	if len(f.srv.Groups()) != 0 {
		t.Error("group still there")
	}
}

// Create is never re-sent blindly.
func TestCreateAfterAmbiguousFailure(t *testing.T) {
	tests := []struct {
		name        string
		fault       lightdashtest.Fault
		wantPosts   int
		wantLists   int
		wantMembers int
	}{
		// The group was created but the answer lost: found by listing, not re-sent.
		{"answer dropped after create", lightdashtest.Fault{Method: "POST", Drop: true, After: true}, 1, 1, 1},
		{"504 after create", lightdashtest.Fault{Method: "POST", Status: 504, After: true}, 1, 1, 1},
		{"timeout after create", lightdashtest.Fault{Method: "POST", Hang: true, After: true}, 1, 1, 1},
		// Not created: the list shows nothing, so it is sent again, once.
		{"dropped before create", lightdashtest.Fault{Method: "POST", Drop: true}, 2, 1, 1},
		{"503 before create", lightdashtest.Fault{Method: "POST", Status: 503}, 2, 1, 1},
		// 429 means not processed: re-sent without a look.
		{"429", lightdashtest.Fault{Method: "POST", Status: 429}, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, &lightdash.Client{Timeout: 100 * time.Millisecond})
			f.srv.FailNext(tt.fault)
			g, err := f.c.CreateGroup(context.Background(), "team", []string{f.bob.UserUUID})
			if err != nil {
				t.Fatal(err)
			}
			if g.Name != "team" || len(g.MemberUUIDs) != tt.wantMembers || len(g.DroppedMembers) != 0 {
				t.Errorf("got %+v", g)
			}
			if got := f.srv.RequestCount("POST " + epGroups); got != tt.wantPosts {
				t.Errorf("got %d POSTs, want %d", got, tt.wantPosts)
			}
			if got := f.srv.RequestCount("GET " + epGroups); got != tt.wantLists {
				t.Errorf("got %d lists, want %d", got, tt.wantLists)
			}
			if n := len(f.srv.Groups()); n != 1 {
				t.Errorf("got %d groups, want exactly 1", n)
			}
		})
	}
}

// A create whose answer was lost is not taken to have made a same-named
// group someone else made meanwhile (by hand, in Lightdash's UI): the
// recovery asks who the token's user is, once, and compares the creator.
func TestCreateRecoveryLeavesAHandMadeGroupAlone(t *testing.T) {
	f := newFixtureWith(t, &lightdash.Client{Timeout: 100 * time.Millisecond})
	hand, err := f.srv.AddGroup("team") // made outside the API: no creator of ours
	if err != nil {
		t.Fatal(err)
	}
	// The POST is answered 409 by the server, but the answer is lost.
	f.srv.FailNext(lightdashtest.Fault{Method: "POST", Drop: true, After: true})
	_, err = f.c.CreateGroup(context.Background(), "team", []string{f.bob.UserUUID})
	if !errors.Is(err, lightdash.ErrAlreadyExists) || !strings.Contains(err.Error(), hand.UUID) {
		t.Fatalf("got %v, want ErrAlreadyExists naming %s", err, hand.UUID)
	}
	if got := f.srv.RequestCount("GET /api/v1/user"); got != 1 {
		t.Errorf("got %d reads of the token's user, want 1", got)
	}
	if g := f.srv.Groups(); len(g) != 1 || len(g[0].MemberUUIDs) != 0 {
		t.Errorf("groups %+v, want the hand-made group alone and unchanged", g)
	}
}

// A 500 on create is not retried: it is deterministic (and may have half-happened).
func TestCreate500NotRetried(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(lightdashtest.Fault{Method: "POST", Status: 500})
	if _, err := f.c.CreateGroup(context.Background(), "team", nil); !errors.Is(err, lightdash.ErrServer) {
		t.Fatalf("got %v, want ErrServer", err)
	}
	if f.c.RequestCount() != 1 {
		t.Errorf("got %d requests, want 1", f.c.RequestCount())
	}
}

// The invite link has no lookup to recover with, so an ambiguous failure
// is returned rather than re-sent.
func TestInviteNotRetriedWhenAmbiguous(t *testing.T) {
	f := newFixture(t)
	f.srv.FailNext(lightdashtest.Fault{Method: "POST", Status: 502})
	_, err := f.c.CreateInviteLink(context.Background(), "x@example.com", time.Now())
	if err == nil || !strings.Contains(err.Error(), "may have taken effect") {
		t.Fatalf("got %v", err)
	}
	if f.c.RequestCount() != 1 {
		t.Errorf("got %d requests, want 1", f.c.RequestCount())
	}
}

// The token bucket refuses at once when the wait would outlast the
// deadline; no timing is measured.
func TestRateLimit(t *testing.T) {
	f := newFixtureWith(t, &lightdash.Client{RateLimit: 0.5, Burst: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i := range 2 {
		if _, err := f.c.WhoAmI(ctx); err != nil {
			t.Fatalf("call %d within burst: %v", i, err)
		}
	}
	_, err := f.c.WhoAmI(ctx)
	if err == nil || !strings.Contains(err.Error(), "rate limiter") {
		t.Fatalf("got %v, want a rate limiter error", err)
	}
	if got := f.srv.RequestCount(""); got != 2 {
		t.Errorf("got %d requests at the server, want 2", got)
	}
	neg := &lightdash.Client{BaseURL: f.srv.URL(), Token: "t", RateLimit: -1}
	if err := neg.Validate(); err == nil {
		t.Error("negative rate: got no error")
	}
}

func TestResponseSizeLimit(t *testing.T) {
	f := newFixture(t)
	f.c.MaxResponseBytes = 64
	_, err := f.c.ListUsers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("got %v, want a size error", err)
	}
	if f.c.RequestCount() != 1 {
		t.Errorf("got %d requests, want 1 (not retried)", f.c.RequestCount())
	}
}

// Dial failures are retried even for creates: the server never saw them.
func TestConnectionRefused(t *testing.T) {
	srv := lightdashtest.NewServer()
	url, tok := srv.URL(), srv.AdminToken()
	srv.Close()
	s := &sleeps{}
	c := &lightdash.Client{BaseURL: url, Token: tok, Sleep: s.sleep, MaxRetries: 2}
	_, err := c.CreateGroup(context.Background(), "x", nil)
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("got %v", err)
	}
	if c.RequestCount() != 3 {
		t.Errorf("got %d attempts, want 3", c.RequestCount())
	}
}
