// Package nats is the NATS JetStream source: directory changes arrive as
// CloudEvents on a stream, and the source keeps the directory they describe
// in a key-value bucket, since NATS has no directory to read in full.
//
// Events (see docs/events.md and event.schema.json) say that a group was
// upserted (full member list) or deleted, that members were added to or
// removed from it, or that a user was upserted (emails, enabled) or
// deleted. Decode validates them strictly; anything it refuses is poison:
// terminated with the reason, logged once and counted, never retried and
// never in the way of the events behind it.
//
// Watch reads a durable pull consumer with explicit acks. A good event is
// first written to the view (one entry per group and per user, compare and
// set, idempotent), unless the view already holds a newer state for that
// group or user (by the event's sequence, else its time): then it is acked,
// ignored and counted. So that no event can make every later one stale,
// Decode refuses a time more than MaxClockSkew ahead, and the view refuses
// (terminates, like poison) a sequence more than MaxSequenceJump above the
// last applied, and any event about a group or user from another
// CloudEvents source than the one that first described it. Otherwise it becomes a sources.Change naming every
// group it may have changed (for a user event, every group the user is in,
// and the groups those are nested in). The event is acknowledged only when
// the daemon calls Change.Done(nil), after Lightdash is in step; Done(err)
// naks it with the configured backoff, and the MaxDeliver-th failure sends
// it to the dead-letter subject and terminates it.
//
// Bursts: events are taken in batches of what the pull has fetched; the
// events of a batch for one group or user are folded into its entry in
// stream order and written once, the entries concurrently, and the changes
// still go out one per event, in stream order, each after its write. Since
// acks wait for the daemon's apply, MaxAckPending (default 100,000) is the
// window a burst flows through; one ticker keeps every held event in
// progress. A held event keeps its ack handle and ids, not its payload,
// and MaxInflightBytes bounds the bytes taken and not yet settled.
//
// A tombstone leaves the view TombstoneRetention after it was written;
// events for unknown ids dated no later than the newest removed tombstone
// are stale from then on, so a replay cannot revive what it deleted.
//
// Snapshot and ReadGroups read the view, so the scheduled reconciliation
// works as with LDAP, and the view survives restarts of the daemon and of
// the NATS server. An empty bucket reads as a complete, empty directory:
// the worker's deletion thresholds are what stop a wiped bucket from
// emptying Lightdash.
//
// One instance should consume a durable at a time; several may share it
// (the view's writes are compare-and-set), but each keeps its own
// in-memory user-to-groups index, so a user event seen by the other
// instance is named only by the next reconciliation.
//
// Configuration: the cmd layer maps the `type: nats` section of a source
// (docs/configuration.md, which gives the binary's defaults) onto Config;
// a zero field here takes the default its comment names.
//
// Metrics (namespace lightdash_sync_nats, label source): events_received_total,
// events_applied_total, events_stale_total, events_naked_total and
// events_dead_lettered_total by type; events_poison_total by reason;
// view_errors_total; inflight_bytes and inflight_full_total;
// tombstones_expired_total; connected (1 or 0).
package nats
