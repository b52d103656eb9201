package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Result is what a run did.
type Result struct {
	Summary       Summary   `json:"summary"`
	Failures      []Failure `json:"failures,omitempty"`
	Blocked       bool      `json:"blocked,omitempty"`
	BlockedReason string    `json:"blockedReason,omitempty"`
	// DryRun is set when Options.DryRun kept every write back; Summary
	// then counts what would have been done.
	DryRun bool `json:"dryRun,omitempty"`
	// Plan is the plan the run applied (for ReconcileGroups retried after
	// a stale view, the second one). Its Unmatched, Conflicts, HeldBack and
	// Problems answer "why am I not in the group?" on the status page.
	Plan *Plan `json:"plan,omitempty"`
	// DirectoryRead says, per source, how a full run's directory side was
	// obtained (sources.ReadFull or sources.ReadWatcher).
	DirectoryRead map[string]string `json:"directoryRead,omitempty"`
	// accessMade are the access changes made, each with its group's uuid
	// (for ExplainLast).
	accessMade []AccessChangeItem
}

// directoryReads is DirectoryRead for snaps.
func directoryReads(snaps []*sources.Snapshot) map[string]string {
	out := make(map[string]string, len(snaps))
	for _, s := range snaps {
		out[s.Source] = s.Read
		if s.Read == "" {
			out[s.Source] = sources.ReadFull
		}
	}
	return out
}

// Failure is one change that could not be made.
type Failure struct {
	Key   string `json:"key,omitempty"`
	Name  string `json:"name"`
	Op    string `json:"op"`
	Error string `json:"error"`
	err   error
}

// Unwrap gives errors.Is access to the cause.
func (f Failure) Unwrap() error { return f.err }

// finish completes the summary, logs it, records the metrics and turns
// failures into ErrApplyFailed.
func (w *Worker) finish(res *Result, ld *counted, start time.Time) (*Result, error) {
	s := &res.Summary
	s.APICalls = ld.calls()
	s.Duration = time.Since(start)
	s.Failed = len(res.Failures)
	msg := "reconciliation applied"
	if res.DryRun {
		msg = "dry run: reconciliation computed, nothing written"
	}
	if res.Plan != nil && res.Plan.Partial && s.Failed == 0 && !res.Plan.HasChanges() {
		w.log.Debug(msg, s.fields()...)
	} else {
		w.log.Info(msg, s.fields()...)
	}
	switch {
	case s.Failed > 0:
		w.m.result("failed", s.Duration)
		return res, fmt.Errorf("%w: %d of the run's changes failed (first: %s %q: %s)", ErrApplyFailed,
			s.Failed, res.Failures[0].Op, res.Failures[0].Name, res.Failures[0].Error)
	case res.Blocked:
		w.m.result("blocked", s.Duration)
	default:
		w.m.result("success", s.Duration)
	}
	return res, nil
}

// staleView reports whether err says the cached view of Lightdash was
// wrong: the group is gone (404), a member uuid is unknown (400), or the
// name is taken (409).
func staleView(err error) bool {
	return errors.Is(err, lightdash.ErrNotFound) || errors.Is(err, lightdash.ErrInvalidParameter) ||
		errors.Is(err, lightdash.ErrAlreadyExists)
}
