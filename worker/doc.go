// Package worker keeps Lightdash user groups in step with a directory.
//
// The design follows external-dns: sources produce the desired state, a
// pure planner diffs it against Lightdash, a registry of ownership limits
// what may be touched, and an applier makes the changes.
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
// read; a missing group is deleted only after Limits.AbsentGrace and
// Limits.AbsentReads complete reads; deletions and removals over the
// Limits thresholds are held back (additions still apply) and the plan is
// Blocked until run with PlanOptions.AllowDeletions. ReconcileGroups, used
// for change events, never deletes. Preflight refuses to plan when the
// groups feature is off or the token is not an admin, because Lightdash then
// answers an empty group list that is not the truth.
//
// # Cost
//
// A full run makes four reads (feature flag, token user, users, groups with
// all members) and one write per changed group: a create with its members,
// or one PATCH carrying the new name and the full, de-duplicated member
// list. Lightdash diffs PATCH member lists against at most 10,000 current
// members, so groups larger than that are not supported.
package worker
