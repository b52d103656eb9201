package ldap

import (
	"context"
	"fmt"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker/sourcetest"
)

// adEnv is the contract suite's directory on Samba: the activedirectory
// preset, objectGUID ids, watched with DirSync.
type adEnv struct {
	*adDir
	src   *Source
	ready chan struct{}
}

var (
	_ sourcetest.Env          = (*adEnv)(nil)
	_ sourcetest.WatchReadier = (*adEnv)(nil)
)

func newADEnv(t testing.TB, cfg func(*Config)) *adEnv {
	d := newADDir(t)
	c := d.config()
	if cfg != nil {
		cfg(&c)
	}
	e := &adEnv{adDir: d, src: newSource(t, c), ready: make(chan struct{}, 1)}
	e.src.onRefreshDone = func() {
		select {
		case e.ready <- struct{}{}:
		default:
		}
	}
	return e
}

func (e *adEnv) Source() sources.Source { return e.src }

// WatchReady waits for a DirSync poll to end: the first one only learns
// the directory, every later one reports what changed since.
func (e *adEnv) WatchReady(ctx context.Context) error {
	select {
	case <-e.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no dirsync poll ended: %w", ctx.Err())
	}
}

// TestContractActiveDirectory runs the source contract against Samba's
// AD DC with the activedirectory preset and DirSync.
func TestContractActiveDirectory(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Env { return newADEnv(t, nil) })
}
