package main

import (
	"time"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/admin"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
)

// ready is /readyz: ready when every unit is. A configuration without
// targets answers exactly as a single unit always did.
func (h *daemonHandle) ready(cfg *config.Config) (bool, string) {
	for _, u := range h.units {
		if ok, why := u.ready(cfg.Admin.ReadyMaxAge); !ok {
			if u.name != "" {
				why = "target " + u.name + ": " + why
			}
			return false, why
		}
	}
	return true, ""
}

func (u *unit) ready(maxAge time.Duration) (bool, string) {
	d := u.d
	if u.elector != nil && !u.elector.IsLeader() {
		// A standby is ready to take over, which is what it is for; it must
		// not block a rolling update by never turning ready. One that has
		// seen no leader yet is still campaigning, and may be the leader
		// whose start-up reconciliation has not run.
		if u.elector.Holder() == "" {
			return false, "campaigning for leadership: no leader seen yet"
		}
		return true, ""
	}
	for _, s := range u.app.sources {
		if up, why := sourceUp(d, s); !up {
			return false, "source " + s.Name() + " " + why
		}
	}
	return d.Ready(time.Now(), maxAge)
}

// status is /status: the single unit's status as it always was, or with
// targets a summary whose Targets list every unit.
func (h *daemonHandle) status(cfg *config.Config, started time.Time) admin.Status {
	if len(h.units) == 1 && h.units[0].name == "" {
		return h.units[0].status(started)
	}
	st := admin.Status{Version: versionString(), StartedAt: started, Now: time.Now(), DryRun: cfg.Sync.DryRun}
	st.Leader = admin.Leader{Enabled: cfg.HA.Enabled, Identity: hostname()}
	for _, u := range h.units {
		us := u.status(started)
		st.Leader.Identity = us.Leader.Identity
		st.Queue.Pending += us.Queue.Pending
		st.Queue.InFlight += us.Queue.InFlight
		st.Targets = append(st.Targets, us)
	}
	return st
}

func (u *unit) status(started time.Time) admin.Status {
	d := u.d
	cfg := u.cfg
	st := admin.Status{Version: versionString(), StartedAt: started, Now: time.Now(), DryRun: cfg.Sync.DryRun, Target: u.name, Lightdash: cfg.Lightdash.URL}
	st.Leader = admin.Leader{Identity: hostname()}
	if e := u.elector; e != nil {
		st.Leader = admin.Leader{Enabled: true, IsLeader: e.IsLeader(), Identity: e.Identity(), Holder: e.Holder()}
	}
	for i, sc := range cfg.Sources {
		up, why := sourceUp(d, u.app.sources[i])
		src := admin.Source{Name: sc.Name, Type: sc.Type, Connected: up, Detail: why}
		if t := d.LastEvent(sc.Name); !t.IsZero() {
			src.LastEvent = &t
		}
		st.Sources = append(st.Sources, src)
	}
	st.Queue.Pending, st.Queue.InFlight = d.QueueDepth()
	st.Progress = u.app.progress.Snapshot()
	run, lastOK := d.Last()
	if !lastOK.IsZero() {
		st.LastSuccess = &lastOK
	}
	if run != nil {
		r := &admin.Reconcile{Started: run.Started, Duration: run.Duration.Round(time.Millisecond).String(), Result: "ok"}
		if run.Err != nil {
			r.Result, r.Error = "failed", run.Err.Error()
		}
		if res := run.Result; res != nil {
			s := res.Summary
			r.Summary = map[string]int{"created": s.Created, "renamed": s.Renamed, "updated": s.Updated, "deleted": s.Deleted,
				"members added": s.MembersAdded, "members removed": s.MembersRemoved, "unmatched users": s.Unmatched,
				"conflicts": s.Conflicts, "failed": s.Failed, "API calls": int(s.APICalls),
				"access granted": s.AccessGranted, "access changed": s.AccessChanged, "access revoked": s.AccessRevoked}
			r.DirectoryRead = res.DirectoryRead
			if res.Blocked {
				r.Result, r.Blocked = "blocked", res.BlockedReason
			}
			if p := res.Plan; p != nil {
				r.Unmatched, r.Conflicts, r.HeldBack, r.Problems = p.Unmatched, p.Conflicts, p.HeldBack, p.Problems
				r.Access = p.Access
			}
			if len(res.Failures) > 0 {
				r.Result = "failed"
			}
		}
		st.LastReconcile = r
	}
	return st
}
