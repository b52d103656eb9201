package lightdash

import (
	"context"
	"sync/atomic"
)

type callCounterKey struct{}

// CountCalls returns a context whose calls to the API add one to n each: a
// method that makes several calls (ListUsers reads pages) adds each, and a
// call retried inside the client counts once. It lets a caller sharing a
// Client with others (RequestCount is client-wide) count its own calls.
func CountCalls(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, callCounterKey{}, n)
}

// countCall adds one to the counter CountCalls put in ctx, if any.
func countCall(ctx context.Context) {
	if n, ok := ctx.Value(callCounterKey{}).(*atomic.Int64); ok && n != nil {
		n.Add(1)
	}
}
