// Package sources is the contract between directory sources and the
// worker: the directory model (Snapshot, DirGroup, DirUser, Change), the
// interfaces a source implements (Source, GroupReader, Watcher,
// WatchExpecter, FullReadPredictor) and the DN helpers both sides use to compare names.
//
// It plays the part database/sql/driver plays for database/sql: the
// sources (sources/ldap, sources/nats, sources/memory) import it and
// never the worker or the Lightdash client; the worker consumes it. It
// imports nothing of this module. deps_test.go checks both with go list.
package sources
