package main

import (
	"context"
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// newStateStore opens the ownership state store the configuration names.
func (a *app) newStateStore(ctx context.Context) (worker.StateStore, error) {
	switch a.cfg.State.Type {
	case "file":
		return worker.NewFileStore(a.cfg.State.Path), nil
	}
	return nil, fmt.Errorf("state store %q is not available yet", a.cfg.State.Type)
}

// cookieBackend is where the sources' cookies are kept: beside the
// ownership state, in a document of their own.
func (a *app) cookieBackend() worker.StateStore {
	return worker.NewFileStore(a.cfg.State.Path + ".cookies")
}
