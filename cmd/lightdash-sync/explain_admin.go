package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/admin"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// explain is /explain: every unit's answer (or the one target's), each
// from its last full reconciliation (worker.ExplainLast).
func (h *daemonHandle) explain(ctx context.Context, email, target string) ([]admin.Explained, error) {
	var out []admin.Explained
	for _, u := range h.units {
		if target != "" && u.name != target {
			continue
		}
		x, err := u.app.worker.ExplainLast(ctx, email)
		if errors.Is(err, worker.ErrBadEmail) {
			return nil, err
		}
		e := admin.Explained{Target: u.name, Explanation: x}
		switch {
		case errors.Is(err, worker.ErrNoFullRun) && u.elector != nil && !u.elector.IsLeader():
			e.Error = "this replica is a standby and has not reconciled: ask the leader (" + u.elector.Holder() + ")"
		case err != nil:
			e.Error = err.Error()
		}
		out = append(out, e)
	}
	if target != "" && len(out) == 0 {
		return nil, fmt.Errorf("%w: %q", admin.ErrUnknownTarget, target)
	}
	return out, nil
}
