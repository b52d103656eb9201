package ldaptest

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
)

// Samba and 389-DS take seconds to create (a domain provision, dscreate),
// so a test binary makes one of each, on first use, and Main stops them
// after the tests. Tests that share one keep apart by working under an
// OU or subtree of their own, and do not run in parallel with each other
// when they restart it.
var shared struct {
	mu       sync.Mutex
	dirs     []string
	samba    *Samba
	sambaErr error
	ds       *DS389
	dsErr    error
}

// SharedSamba returns the test binary's Samba, provisioning and starting
// it on first use. When Samba is missing or cannot run here, the test is
// skipped, or fails when CI is "true".
func SharedSamba(t testing.TB) *Samba {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.samba == nil && shared.sambaErr == nil {
		shared.samba, shared.sambaErr = startShared("samba", func(dir string) (*Samba, error) {
			return StartSamba(context.Background(), dir, SambaConfig{})
		})
	}
	if shared.sambaErr != nil {
		missing(t, shared.sambaErr, errors.Is(shared.sambaErr, ErrSambaMissing) || errors.Is(shared.sambaErr, ErrNoNetns))
	}
	return shared.samba
}

// Shared389DS returns the test binary's 389 Directory Server, creating
// and starting it on first use; skipped or failed like SharedSamba.
func Shared389DS(t testing.TB) *DS389 {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ds == nil && shared.dsErr == nil {
		shared.ds, shared.dsErr = startShared("389ds", func(dir string) (*DS389, error) {
			return Start389DS(context.Background(), dir)
		})
	}
	if shared.dsErr != nil {
		missing(t, shared.dsErr, errors.Is(shared.dsErr, Err389DSMissing))
	}
	return shared.ds
}

func startShared[T any](name string, start func(dir string) (T, error)) (T, error) {
	var zero T
	dir, err := os.MkdirTemp("", "ldaptest-"+name+"-")
	if err != nil {
		return zero, err
	}
	shared.dirs = append(shared.dirs, dir)
	return start(dir)
}

// missing skips the test for a server that is not installed (or cannot
// run here), unless CI is "true"; any other error fails it.
func missing(t testing.TB, err error, skippable bool) {
	t.Helper()
	if !skippable {
		t.Fatal(err)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v; CI=true, so this is a failure", err)
	}
	t.Skipf("%v; skipping (set CI=true to make this a failure)", err)
}

// stopShared stops the shared servers and removes their directories.
func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.samba != nil {
		shared.samba.Stop()
	}
	if shared.ds != nil {
		shared.ds.Stop()
	}
	for _, d := range shared.dirs {
		_ = os.RemoveAll(d)
	}
}
