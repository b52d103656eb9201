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
