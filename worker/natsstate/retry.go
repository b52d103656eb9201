package natsstate

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultRequestTimeout bounds one request to the server when
// Store.RequestTimeout is zero.
const DefaultRequestTimeout = 5 * time.Second

// maxAttempts bounds how often one request is sent: a call made with a
// context that never ends (the clean-up after a save) must end too.
const maxAttempts = 4

// retryPause separates attempts, so a server that is starting up is not
// asked in a tight loop.
const retryPause = 50 * time.Millisecond

// retry runs op, each attempt bounded by timeout, and runs it again while
// the answer was lost: a request sent just as the connection dropped (a
// NATS restart the client has not noticed yet) gets no answer at all, and
// waiting for the caller's deadline would stall the state store for that
// long. Only idempotent requests go through retry.
func retry[T any](ctx context.Context, timeout time.Duration, op func(context.Context) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		v, err := op(actx)
		cancel()
		if err == nil || !lost(err) || ctx.Err() != nil || attempt == maxAttempts {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(retryPause):
		}
	}
}

// once runs op a single time, bounded by timeout, for a request that must
// not be sent twice (the manifest's compare-and-set).
func once[T any](ctx context.Context, timeout time.Duration, op func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return op(ctx)
}

// lost reports whether err means the request or its answer went missing,
// rather than that the server refused it.
func lost(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders)
}
