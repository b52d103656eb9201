package ldap

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Controls advertised in the root DSE that choose the watch mode.
const (
	oidSyncRequest = "1.3.6.1.4.1.4203.1.9.1.1"
	oidDirSync     = goldap.ControlTypeDirSync
)

// Watch follows directory changes until ctx is done, using the configured
// mode (auto picks syncrepl, then DirSync, then polling from the controls
// the server advertises). Connection failures are retried forever with
// backoff and jitter; Watch returns nil when ctx ends.
func (s *Source) Watch(ctx context.Context, changes chan<- sources.Change) error {
	// Whatever happens, a Snapshot still waiting for this watcher's
	// first read (share.go) is not left waiting once Watch returns.
	defer s.decline()
	mode := s.cfg.Watch
	bo := newBackoff(s.cfg.ReconnectMin, s.cfg.ReconnectMax)
	for mode == WatchAuto {
		m, err := s.detectMode(ctx)
		if err == nil {
			mode = m
			s.log.Info("ldap watch mode chosen", zap.String("mode", mode))
			break
		}
		s.log.Warn("ldap watch: cannot read the root DSE, retrying", zap.Error(err))
		s.decline() // a Snapshot waiting for this watcher's read makes its own
		if !bo.sleep(ctx) {
			return nil
		}
	}
	if mode != WatchSyncrepl {
		s.decline()
	}
	switch mode {
	case WatchNone:
		<-ctx.Done()
		return nil
	case WatchSyncrepl:
		return s.watchSyncrepl(ctx, changes)
	case WatchDirSync:
		return s.watchDirSync(ctx, changes)
	case WatchPoll:
		return s.watchPoll(ctx, changes)
	}
	return fmt.Errorf("ldap watch: unknown mode %q", mode)
}

func (s *Source) detectMode(ctx context.Context) (string, error) {
	c, err := s.dial(ctx, true)
	if err != nil {
		return "", err
	}
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"supportedControl"}, nil))
	if err != nil {
		return "", fmt.Errorf("read root DSE: %w", err)
	}
	if len(res.Entries) == 0 {
		return WatchPoll, nil
	}
	return chooseMode(res.Entries[0].GetAttributeValues("supportedControl")), nil
}

func chooseMode(controls []string) string {
	has := map[string]bool{}
	for _, c := range controls {
		has[c] = true
	}
	switch {
	case has[oidSyncRequest]:
		return WatchSyncrepl
	case has[oidDirSync]:
		return WatchDirSync
	}
	return WatchPoll
}

// send hands a change to the worker, blocking (backpressure) until it is
// taken or ctx ends. It reports whether the change was delivered.
func (s *Source) send(ctx context.Context, changes chan<- sources.Change, c *sources.Change, mode string) bool {
	if c == nil {
		return true
	}
	c.Source = s.cfg.Name
	select {
	case changes <- *c:
		s.metrics.changes.WithLabelValues(s.cfg.Name, mode).Inc()
		s.log.Debug("ldap change", zap.String("reason", c.Reason), zap.Strings("groups", c.GroupIDs), zap.Strings("users", c.UserIDs))
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff doubles from min to max with full jitter on the upper half, so
// many daemons do not reconnect in step after a server restart.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits for the next backoff step; false when ctx ended first.
func (b *backoff) sleep(ctx context.Context) bool { return sleep(ctx, b.next()) }

// sleep waits for d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
