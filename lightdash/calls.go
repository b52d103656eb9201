package lightdash

import (
	"context"
	"sync/atomic"
)

type callCounterKey struct{}

// counters are the counters CountCalls put in a context, innermost last.
type counters []*atomic.Int64

// CountCalls returns a context whose calls to the API add one to n each: a
// method that makes several calls (ListUsers reads pages) adds each, and a
// call retried inside the client counts once. It lets a caller sharing a
// Client with others (RequestCount is client-wide) count its own calls.
// Counters nest: a call adds one to every counter of its context.
func CountCalls(ctx context.Context, n *atomic.Int64) context.Context {
	outer, _ := ctx.Value(callCounterKey{}).(counters)
	return context.WithValue(ctx, callCounterKey{}, append(outer[:len(outer):len(outer)], n))
}

// countCall adds one to each counter CountCalls put in ctx.
func countCall(ctx context.Context) {
	cs, _ := ctx.Value(callCounterKey{}).(counters)
	for _, n := range cs {
		if n != nil {
			n.Add(1)
		}
	}
}
