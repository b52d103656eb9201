// Package worker keeps Lightdash user groups in step with a directory.
//
// The design follows external-dns: sources produce the desired state, a
// pure planner diffs it against Lightdash, a registry of ownership limits
// what may be touched, and an applier makes the changes. The directory
// model and the source interfaces are package sources, which the sources
// (sources/ldap, sources/nats, sources/memory) implement and the worker
// consumes: it reaches a source only through those interfaces.
//
//	Source.Snapshot ─┐
//	                 ├─ Mapper.Map ─► Desired ─┐
//	Lightdash reads ─┼─────────────────────────┼─► ComputePlan ─► Plan ─► Worker.Apply
//	StateStore.Load ─┘                         ┘    (pure, no I/O)         (writes, saves state)
//
// # Mapping
//
// Mapping rules select directory groups (by source, base DN, name regex,
// include and exclude lists) and name their Lightdash groups (template or
// explicit Target/Override). Nested groups are flattened with cycle
// detection and a depth limit; disabled users are dropped. A name Lightdash
// would reject (empty, over 255 characters, control characters) or an
// unintended collision is a blocking Problem: that group is neither
// created, changed nor deleted until it is fixed.
//
// # Identity
//
// Directory users become Lightdash users by email, case-insensitively,
// Email first and then AltEmails. Pending Lightdash users are valid members;
// deactivated ones are not added and are reported. Users with no account
// are reported (policy skip, retried every run) or invited (policy invite).
//
// # Ownership
//
// Lightdash groups carry no metadata, so State records, per desired-group
// key, the Lightdash uuid, its name and the members the worker added. The
// planner never changes or deletes a group that is not in the state; the
// applier checks the state again before each write and saves it after each
// one. A create records its intent before the call, so a create whose answer
// was lost (crash, timeout, a retried POST answered 409) is adopted by name
// rather than duplicated.
//
// Losing the state is recoverable: every group then shows in `plan` as a
// conflict (an existing unowned group with the wanted name) and nothing is
// written. After reviewing that plan, one run with adopt: true takes them
// back; no group is duplicated and none is deleted. Ownership also moves by
// itself when a key is retired and another key now produces the same name
// (for example a rule changed from a template to a Target).
//
// # Safety
//
// Policies (sync, upsert-only, create-only) bound what kinds of change are
// made; membership modes (authoritative, preserve-manual) bound which
// members are removed. Nothing is deleted or removed on an incomplete
// read; a missing group is deleted only after Limits.DeleteGracePeriod and
// Limits.DeleteAfterReads complete reads; deletions and removals over the
// Limits thresholds are held back (additions still apply) and the plan is
// Blocked until run with PlanOptions.AllowDeletions. ReconcileGroups, used
// for change events, never deletes. Preflight refuses to plan when the
// groups feature is off or the token is not an admin; it runs whenever the
// groups list read is empty (docs/architecture.md, "The data path of one reconciliation").
//
// # Cost
//
// Every Lightdash call costs the server a bcrypt check of the token
// (about 50 ms), so calls are what the worker economises. A full run
// (Reconcile) reads the users (one call per 10,000, pages read at once)
// and the groups with all members (one call), side by side; plus feature
// flag and token user when no group is listed, and the grants of the
// projects and spaces the mapping names. It makes one write per changed
// group — a create with its members, or one PATCH with the new name and
// the full member list — while the group stays within the server's write
// limits; larger groups take the few more calls memberstep.go picks
// (docs/architecture.md, "Member writes at scale").
//
// A change event (ReconcileGroups) makes one call, its write, and none
// when nothing changed: it plans against a cached view of Lightdash and
// the in-memory ownership state instead of reading them again.
//
// # The cached view and its guards
//
// The view holds the users (with their index by email) and every group
// with its members. Every full read (Reconcile, Plan, ApplySaved) reloads it; every
// write of the worker updates it in place from Lightdash's answer (a
// create or PATCH returns the group with its member uuids; a delete drops
// it; an invite adds the pending user). Changes made in Lightdash by
// others are seen at the next full run, or sooner through these guards:
//
//   - Age: a view older than Options.CacheMaxAge (10 minutes) is read
//     again before an event uses it (with the preflight if it lists no
//     group).
//   - Unknown users: when a directory member's email matches no cached
//     user, the users are read again before planning, at most once per
//     Options.UserRefreshInterval (30 seconds), so that a burst of events
//     about people without an account costs one read, not one each.
//   - Refused writes: a write answered 404 (the group is gone), 400 (a
//     member uuid is unknown) or 409 (the name is taken) means the view
//     was wrong. The view is dropped, read again, and the event's groups
//     planned and applied once more, which recreates the group, leaves
//     the unknown user out, or reports the conflict. An event's create
//     answered 409 never adopts the group that holds the name: the replan
//     shows it as a conflict, as a full run would. (A full run has just
//     read the groups, so there a 409 on create is a retried request of
//     its own, and the group is adopted.)
//   - A create whose answer lists fewer members than were sent means a
//     cached user is gone: the view is dropped.
//
// # Concurrency
//
// Full runs (Reconcile, Plan, Apply, ApplySaved) are exclusive: they hold
// the worker's run lock, so the daemon's events wait for them. Any number
// of ReconcileGroups calls may run at once between them. Each takes, in
// sorted order, a lock per ownership key and per Lightdash name its
// mapped groups produce, and holds them from planning until the view is
// updated with its write's answer: two directory groups merged into one
// Lightdash group (a Target, an allowMerge union) are written one after
// the other, each from the other's result, so neither drops the other's
// members. Calls for unrelated groups proceed in parallel.
//
// The ownership state lives in memory between full runs (each full run
// reads it from the store again). Every change to it is made under one
// mutex that also covers the save, and each save writes the whole state,
// so concurrent runs never save over each other's records.
//
// # Dry run
//
// With Options.DryRun every plan is computed and logged (a summary line,
// then one line per item it would write) and nothing is written: no
// Lightdash write, no state save. Results have DryRun set and count what
// would have been done.
//
// Every Result carries its Plan: the unmatched users, conflicts, held-back
// changes and problems behind "why am I not in the group?".
package worker
