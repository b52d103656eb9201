package sources

import "context"

type fullReadKey struct{}

// WithFullRead marks ctx so that Snapshot reads the directory in full
// rather than from a change watcher's state (ReadWatcher): an operator's
// forced full read (POST /reconcile?read=full).
func WithFullRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, fullReadKey{}, true)
}

// FullReadWanted reports whether ctx was marked by WithFullRead.
func FullReadWanted(ctx context.Context) bool {
	v, _ := ctx.Value(fullReadKey{}).(bool)
	return v
}

// FullReadPredictor is implemented by sources whose Snapshot sometimes
// answers from a change watcher's state and sometimes reads the directory
// in full (sources/ldap). The daemon reads Lightdash after such a full
// read rather than beside it, to hold less memory at once.
type FullReadPredictor interface {
	// WillReadInFull reports whether a Snapshot called now with ctx would
	// read the directory in full where it could have answered from a
	// watcher's state. It does no I/O, is safe for concurrent use, and is
	// a hint: the watcher's state may change before the Snapshot.
	WillReadInFull(ctx context.Context) bool
}
