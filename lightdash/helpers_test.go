package lightdash_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// sleeps records the waits between attempts instead of waiting, so retry
// tests run in microseconds and can assert the delays.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// fixture is a fake Lightdash with an admin, two more users, and a client
// for the admin token whose sleeps are recorded.
type fixture struct {
	srv    *lightdashtest.Server
	c      *lightdash.Client
	sleeps *sleeps
	bob    lightdash.OrgMember
	carol  lightdash.OrgMember
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, &lightdash.Client{})
}

// newFixtureWith uses c, a Client with only the fields under test set, for
// the fixture's client: it fills in the address, the token, the recorded
// sleeps and, when zero, a 5s timeout.
func newFixtureWith(t *testing.T, c *lightdash.Client) *fixture {
	t.Helper()
	srv := lightdashtest.NewServer()
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, sleeps: &sleeps{}}
	f.bob = srv.AddUser("bob@example.com", lightdash.RoleEditor)
	f.carol = srv.AddUser("carol@example.com", lightdash.RoleViewer)
	c.BaseURL, c.Token, c.Sleep = srv.URL(), srv.AdminToken(), f.sleeps.sleep
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

func (f *fixture) group(t *testing.T, name string) (lightdash.GroupWithMembers, bool) {
	t.Helper()
	for _, g := range f.srv.Groups() {
		if g.Name == name {
			return g, true
		}
	}
	return lightdash.GroupWithMembers{}, false
}

var timeZero = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
