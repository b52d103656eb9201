// Package natsstate keeps the worker's ownership State in a NATS JetStream
// key-value bucket, so that several replicas (one leader at a time, see
// worker/lease) share one record of what lightdash-sync owns.
//
// # Layout
//
// The state is JSON, gzip-compressed and split into chunks that fit in one
// NATS message (state for 10,000 groups of 50 members is tens of MB of
// JSON; NATS refuses messages over max_payload, 1 MiB by default). Chunks
// live under "<key>.chunks.<set>.<n>", where set is new for every save;
// the key itself holds a small manifest naming the set, the number of
// chunks, their checksum and the state's format version. Writing the
// manifest is the commit: a save writes its chunks first, then the
// manifest, then removes the previous set. A reader never sees a torn
// state, and a crash mid-save leaves the previous state in force.
//
// The same unit's LDAP watch cookies live beside it, one key each under
// "<key>.cookie.", written by Cookies.
//
// # Concurrency
//
// The manifest is written with compare-and-set on the revision this Store
// last loaded or saved. If another replica saved in between, Save fails
// with ErrConflict instead of silently overwriting it; the caller must Load
// again, re-plan, and save. With the leader lease only one replica writes,
// so a conflict means a lost lease or an operator at work, and is rare.
//
// A set's name starts with the manifest revision its writer started from.
// A writer that started from a revision older than the current manifest
// can never commit, so its chunks are garbage: Load removes such leftovers
// of crashed saves without disturbing a save in progress.
package natsstate
