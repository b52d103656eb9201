package lightdash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// request is one API call as the methods describe it; do turns it into one or
// more HTTP attempts.
type request struct {
	method   string
	endpoint string // path template, the metrics/log label
	path     string // escaped path below the base URL
	query    url.Values
	body     any
	// recoverCreate is set on non-idempotent creates. After an ambiguous
	// failure (the request may have taken effect) do calls it instead of
	// re-sending blindly; it reports whether the create did happen, having
	// filled the result itself.
	recoverCreate func(ctx context.Context) (bool, error)
	// slow marks a read whose server cost grows with the organization: it
	// gets SlowReadTimeout and is not retried after timing out.
	slow bool
}

// result is what do hands back besides the decoded body.
type result struct {
	status    int
	attempts  int
	recovered bool // recoverCreate found the object: no response body was decoded
}

// outcome classifies one attempt. Failures are sorted into retry or give-up
// in this one place (alertmanager notify/util.go style).
type outcome struct {
	err        error
	retry      bool
	ambiguous  bool // the server may have acted on the request
	reason     string
	retryAfter time.Duration
}

// abandonedMsg is logged when an attempt failed and the caller's context
// had ended meanwhile, so the request is given up without a retry.
const abandonedMsg = "lightdash request failed and was not retried: the caller gave up"

func (c *Client) do(ctx context.Context, req *request, out any) (result, error) {
	var res result
	if err := c.init(); err != nil {
		return res, err
	}
	countCall(ctx)
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return res, fmt.Errorf("encode request: %w", err)
		}
	}
	maxRetries := c.maxRetries()
	for attempt := 0; ; attempt++ {
		res.attempts = attempt + 1
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return res, fmt.Errorf("rate limiter: %w", err)
			}
		}
		status, oc := c.attempt(ctx, req, body, out)
		res.status = status
		if oc.err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			// The caller gave up (another read of the same run failed, a
			// shutdown, the end of a leadership term) as this attempt
			// failed. Say so: the failure is neither retried nor reported
			// by the caller, whose error is about something else.
			c.log.Info(abandonedMsg, zap.String("method", req.method), zap.String("endpoint", req.endpoint),
				zap.Int("attempt", attempt+1), zap.Error(oc.err))
			return res, fmt.Errorf("%s %s: %w (the attempt had failed: %v)", req.method, req.endpoint, ctx.Err(), oc.err)
		}
		if !oc.retry || attempt >= maxRetries {
			if attempt > 0 && oc.retry {
				return res, fmt.Errorf("%s %s: giving up after %d attempts: %w", req.method, req.endpoint, attempt+1, oc.err)
			}
			return res, oc.err
		}
		if oc.retryAfter > c.maxRetryAfter() {
			return res, fmt.Errorf("%s %s: server asked to wait %s, more than %s: %w", req.method, req.endpoint, oc.retryAfter, c.maxRetryAfter(), oc.err)
		}
		if req.method == http.MethodPost && oc.ambiguous {
			if req.recoverCreate == nil {
				return res, fmt.Errorf("%s %s: not retried, the request may have taken effect: %w", req.method, req.endpoint, oc.err)
			}
			done, err := req.recoverCreate(ctx)
			if err != nil {
				return res, fmt.Errorf("check whether the failed create took effect: %w (after %v)", err, oc.err)
			}
			if done {
				// The failure is absorbed, not hidden: count and log it
				// like a retry, so every failure shows in the metrics.
				c.Metrics.retry(req.method, req.endpoint, "recovered")
				c.log.Info("lightdash create answered with an error but took effect; using the created object",
					zap.String("method", req.method), zap.String("endpoint", req.endpoint), zap.String("reason", oc.reason))
				res.recovered = true
				return res, nil
			}
		}
		delay := c.backoff(attempt)
		if oc.retryAfter > 0 {
			delay = oc.retryAfter
		}
		c.Metrics.retry(req.method, req.endpoint, oc.reason)
		c.log.Info("retrying lightdash request",
			zap.String("method", req.method), zap.String("endpoint", req.endpoint),
			zap.Int("attempt", attempt+1), zap.String("reason", oc.reason),
			zap.Duration("delay", delay), zap.Error(oc.err))
		if err := c.sleep(ctx, delay); err != nil {
			return res, fmt.Errorf("%s %s: %w (while retrying after %v)", req.method, req.endpoint, err, oc.err)
		}
	}
}

// attempt sends the request once, reads and decodes the body within the
// per-attempt timeout, and classifies the outcome.
func (c *Client) attempt(ctx context.Context, req *request, body []byte, out any) (int, outcome) {
	d := c.timeout()
	if req.slow {
		d = c.slowReadTimeout()
	}
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	u := *c.base
	u.Path = c.base.Path + req.path
	u.RawPath = ""
	if len(req.query) > 0 {
		u.RawQuery = req.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(withEndpoint(ctx, req.endpoint), req.method, u.String(), rd)
	if err != nil {
		return 0, outcome{err: fmt.Errorf("build request: %w", err)}
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return 0, outcome{
			err:       fmt.Errorf("%s %s: %w", req.method, req.endpoint, err),
			retry:     !slowTimedOut(req, err),
			ambiguous: !isDialError(err),
			reason:    "network",
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && out != nil {
		// A 204 where results are expected is a bad answer too, not an
		// empty one. decodeBody resets out first: an earlier attempt may
		// have filled part of it before its body broke.
		err := c.decodeBody(resp, out)
		var rerr *readError
		switch {
		case err == nil:
			return resp.StatusCode, outcome{}
		case errors.As(err, &rerr):
			return resp.StatusCode, readFailure(req, rerr.err)
		default:
			return resp.StatusCode, outcome{err: fmt.Errorf("%s %s: %w", req.method, req.endpoint, err)}
		}
	}
	data, err := c.readBody(resp)
	if err != nil {
		return resp.StatusCode, readFailure(req, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, outcome{}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, outcome{err: fmt.Errorf("%s %s: %w", req.method, req.endpoint, redirectError(resp))}
	}
	apiErr := parseAPIError(resp.StatusCode, data)
	oc := outcome{err: apiErr, reason: strconv.Itoa(resp.StatusCode)}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		oc.retry = true
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		oc.retry, oc.ambiguous = true, true
	case http.StatusInternalServerError:
		// A 500 on a write is usually deterministic (bad uuid, long name)
		// and may have half-happened; only reads are retried.
		oc.retry = req.method == http.MethodGet
	}
	if oc.retry {
		oc.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return resp.StatusCode, oc
}

// readFailure classifies a body that could not be read: the status line
// arrived but the body did not, so it is retryable (unless it was too large,
// which a retry does not change), and a create may have happened.
func readFailure(req *request, err error) outcome {
	return outcome{
		err:       fmt.Errorf("%s %s: read response: %w", req.method, req.endpoint, err),
		retry:     !errors.Is(err, errBodyTooLarge) && !slowTimedOut(req, err),
		ambiguous: true,
		reason:    "network",
	}
}

// slowTimedOut reports a slow read that ran out of time: retrying it would
// make the server start its work again.
func slowTimedOut(req *request, err error) bool {
	return req.slow && errors.Is(err, context.DeadlineExceeded)
}

// isDialError reports a failure to connect at all: the server cannot have
// seen the request, so even a create may be re-sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// parseRetryAfter reads delay-seconds or an HTTP date; anything else is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// backoff is exponential from MinBackoff, capped at MaxBackoff, with "equal
// jitter": half fixed, half random, so retries from many clients spread out
// but never collapse to zero.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.minBackoff()
	for i := 0; i < attempt && d < c.maxBackoff(); i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff())
	half := d / 2
	return half + time.Duration(c.jitter()*float64(d-half))
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
