// Package sourcetest is the contract suite every sources.Source runs: the
// same tests against sources/memory, sources/ldap and sources/nats, so
// that the worker can rely on one behaviour (litestream's
// RunWithReplicaClient, STYLE.md rule 14).
//
// # Using it
//
// A source package adds a test that builds an Env per case and hands it
// to Run:
//
//	func TestContract(t *testing.T) {
//		sourcetest.Run(t, func(t *testing.T) sourcetest.Env {
//			srv := ldaptest.Start(t)          // a fresh, empty directory
//			return &ldapEnv{srv: srv, src: newSource(t, srv)}
//		})
//	}
//
// newEnv is called once per case and must return an empty directory: the
// suite seeds what it needs. Clean-up goes in t.Cleanup.
//
// # The Env
//
// Env changes the directory through the source's native means (LDAP adds
// and modifies on slapd; NATS events published to the stream), never by
// calling into the source. The suite never chooses ids: AddUser and
// AddGroup return the stable id the source will report (the entryUUID the
// server assigned, or the id an event producer chose), and the suite
// refers to users and groups by those ids afterwards. The DirUser and
// DirGroup the suite passes carry names, emails and member ids; their ID
// and DN fields are empty and the Env picks DNs as it likes (an LDAP Env
// would use the name as cn or uid).
//
// Sources that apply changes asynchronously (a NATS source consuming its
// stream into a view) implement Settler: the suite calls Settle after
// every change and before it reads, and Settle returns once everything
// made so far is visible to Snapshot and ReadGroups. Sources whose reads
// go to the server (LDAP) need not implement it.
//
// Watchers take a moment to start (a syncrepl session's first refresh, a
// JetStream consumer), and a change made before that might be missed. So
// an Env whose source is a sources.Watcher must implement WatchReadier:
// WatchReady returns once a change made from then on will be reported
// (memory: Watching() > 0; LDAP: the refresh phase is over). The suite
// fails, saying so, when it is missing.
//
// # What is checked
//
//   - Snapshot returns every seeded group and user (other entries the
//     source sees are allowed) under the ids AddUser and AddGroup
//     returned, with Complete true, Source empty or the source's Name,
//     ids unique, members resolved to user ids, nested groups as
//     MemberGroups (not flattened), emails (compared case-insensitively)
//     and disabled users flagged.
//   - After membership changes, user changes (email, disabled) and a
//     group deletion, Snapshot shows the new directory.
//   - GroupReader, when implemented: ReadGroups returns the named groups,
//     every group nested below them and their member users, Complete
//     true; an id that no longer exists is left out, not an error (an
//     event may name a group deleted since).
//   - Watcher, when implemented: a membership change is reported by a
//     Change naming the group, and a user change by a Change naming every
//     group the user is in; every Change names the source. The suite
//     calls Done on every Change it receives.
package sourcetest
