package lightdash

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// endpointKey carries the path template of a request ("/api/v1/groups/{groupUuid}")
// from the method that builds it to the transport, so metrics and logs are
// labelled by endpoint rather than by path (bounded label values).
type endpointKey struct{}

func withEndpoint(ctx context.Context, template string) context.Context {
	return context.WithValue(ctx, endpointKey{}, template)
}

func endpointOf(r *http.Request) string {
	if t, ok := r.Context().Value(endpointKey{}).(string); ok {
		return t
	}
	return "other"
}

// transport adds the token and User-Agent to every request and records
// metrics and a debug log line per attempt. Keeping this out of the methods
// means no method can forget the header or leak the token into a log. It
// refuses a request to any other origin than BaseURL's, so the token cannot
// leave by a path that builds its own URL or follows a redirect.
type transport struct {
	next      http.RoundTripper
	origin    string // scheme://host[:port] of BaseURL
	token     string
	userAgent string
	metrics   *Metrics
	log       *zap.Logger
	count     *atomic.Int64
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if o := r.URL.Scheme + "://" + r.URL.Host; o != t.origin {
		return nil, fmt.Errorf("refusing to send the lightdash token to %s, not the configured %s", o, t.origin)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not modify the caller's request
	r.Header.Set("Authorization", "ApiKey "+t.token)
	r.Header.Set("User-Agent", t.userAgent)
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "application/json")
	}
	endpoint := endpointOf(r)
	t.count.Add(1)
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	elapsed := time.Since(start)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.metrics.observe(r.Method, endpoint, code, elapsed)
	if ce := t.log.Check(zap.DebugLevel, "lightdash request"); ce != nil {
		fields := []zap.Field{
			zap.String("method", r.Method),
			zap.String("endpoint", endpoint),
			zap.String("path", r.URL.Path),
			zap.String("status", code),
			zap.Duration("duration", elapsed),
		}
		if err != nil {
			fields = append(fields, zap.String("error", err.Error()))
		}
		ce.Write(fields...)
	}
	return resp, err
}
