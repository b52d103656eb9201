package sources

import "context"

// Source reads a directory in full. Implementations: sources/ldap,
// sources/nats, and sources/memory for tests and the demo.
type Source interface {
	// Name is the source's configured name; it appears in logs, metrics and
	// the plan, and scopes mapping rules.
	Name() string
	// Snapshot reads every group and user the source is configured to see.
	// A partial read is returned with Complete false rather than as an
	// error, so additions can still be applied; an error means nothing
	// usable was read.
	Snapshot(ctx context.Context) (*Snapshot, error)
}

// GroupReader is implemented by sources that can re-read some groups
// cheaply. The daemon uses it when an event names a few groups, so that it
// need not read the whole directory. The snapshot holds the named groups,
// every group nested below them and their member users; Complete speaks
// for those groups only.
type GroupReader interface {
	ReadGroups(ctx context.Context, groupIDs []string) (*Snapshot, error)
}

// Watcher is implemented by sources that report changes as they happen
// (LDAP syncrepl, DirSync or polling; NATS events).
type Watcher interface {
	// Watch sends a Change for every change it sees until ctx is done or a
	// fatal error occurs. Sending blocks when the daemon is busy: that is
	// the backpressure, and a watcher must not drop changes to avoid it.
	// Transient failures (a server restart, a network cut) are retried
	// inside Watch with backoff; they are not returned.
	Watch(ctx context.Context, changes chan<- Change) error
}

// WatchExpecter is a Watcher told before Watch starts that its first read may serve the next Snapshot.
type WatchExpecter interface {
	ExpectWatch()
}

// Change is a trigger, not truth: it names what changed, and the worker
// re-reads the named groups before deciding anything. A lost, duplicated or
// reordered change therefore cannot corrupt the result, and the scheduled
// full reconciliation repairs anything missed.
type Change struct {
	// Source is the name of the source that saw the change.
	Source string
	// GroupIDs are the directory groups whose membership or name may have
	// changed. A user change names every group the user is in.
	GroupIDs []string
	// UserIDs are the users that changed, for logs and re-resolution.
	UserIDs []string
	// Reason is a short human description for logs ("syncrepl modify", ...).
	Reason string
	// Done, when not nil, is called exactly once after the change has been
	// applied to Lightdash (err nil) or could not be (err non-nil). The
	// NATS source acknowledges its message there.
	Done func(err error)
}
