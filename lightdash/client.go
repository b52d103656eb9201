// Package lightdash is a client for the parts of the Lightdash REST API that
// lightdash-sync needs: the token's user, the organization's users, and user
// groups with their members.
//
// The client is shaped like net/http's: a Client with exported fields whose
// zero values are useful, an injectable *http.Client, and context first on
// every method. It knows the server's quirks (see ../shared/lightdash/API-NOTES.md)
// and hides or reports them: it validates uuids and names before sending,
// de-duplicates member lists, reports members silently dropped on create, turns
// the groups feature flag being off into ErrFeatureDisabled, retries what is
// safe to retry and never blindly re-sends a create. It follows no redirect
// (the token goes to BaseURL only). It reads the users list in pages, which
// Lightdash does not order, and checks each pass against the total the
// server reports (ListUsers).
//
// Every call authenticated by a personal access token costs the server a
// bcrypt hash (~50 ms), so the number of calls is the cost that matters;
// RequestCount reports it.
package lightdash

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
)

// Defaults used when the matching Client field is zero.
const (
	DefaultTimeout = 30 * time.Second
	// DefaultSlowReadTimeout bounds one attempt of a read whose cost on
	// the server grows with the organization (see Client.SlowReadTimeout).
	DefaultSlowReadTimeout  = 10 * time.Minute
	DefaultMaxRetries       = 5
	DefaultBurst            = 5
	DefaultMinBackoff       = 250 * time.Millisecond
	DefaultMaxBackoff       = 30 * time.Second
	DefaultMaxRetryAfter    = 2 * time.Minute
	DefaultMaxResponseBytes = 512 << 20
	DefaultUserAgent        = "lightdash-sync"
	// DefaultListLimit is the includeMembers value sent when listing groups.
	// Lightdash treats any value as "include all members", but a large number
	// keeps that true should a release start reading it as a limit.
	DefaultListLimit = 1_000_000
	// DefaultUserPageSize is the pageSize ListUsers asks for; why this
	// size: docs/architecture.md, "Reading Lightdash".
	DefaultUserPageSize = 10_000
	// MaxUserPageSize is the largest page Lightdash 0.2340.1 answers: one
	// bind parameter per user, and PostgreSQL allows 65,535 (API-NOTES §10).
	MaxUserPageSize = 65_535
	// DefaultListConcurrency is how many list pages are fetched at once.
	DefaultListConcurrency = 4
	// DefaultRateLimit is the rate to start from against a real server,
	// where every call costs a bcrypt hash. A zero RateLimit is unlimited
	// (fakes, tests), so callers set this one explicitly.
	DefaultRateLimit = 5
)

// Client is a Lightdash API client. Set fields before the first call and do
// not change them afterwards; a Client is safe for concurrent use.
type Client struct {
	// BaseURL is the Lightdash address, e.g. https://app.lightdash.cloud or
	// https://example.com/lightdash/ (a path prefix and trailing slash are fine).
	BaseURL string
	// Token is a personal access token, sent as "Authorization: ApiKey <token>".
	// It never appears in errors, logs or String().
	Token string
	// HTTPClient sends the requests. Nil means a client with no timeout of its
	// own (Timeout applies per attempt) on http.DefaultTransport. The client's
	// Transport is wrapped, not replaced. Its CheckRedirect is not used: no
	// redirect is ever followed, and a 3xx answer is a *RedirectError.
	HTTPClient *http.Client
	// Timeout bounds one attempt, reading the body included. Zero means
	// DefaultTimeout; negative means none (the context still applies).
	Timeout time.Duration
	// SlowReadTimeout bounds one attempt of a read Lightdash computes for
	// every user of the organization: a space's shares (SpaceGroupShares),
	// whose answer resolves each user's access. Such a read is not retried
	// after it times out, since a retry starts the server's work again.
	// Zero means DefaultSlowReadTimeout; negative means none.
	SlowReadTimeout time.Duration
	// RateLimit is the most requests per second the client sends, retries
	// included. Zero means unlimited.
	RateLimit float64
	// Burst is the token-bucket size for RateLimit. Zero means DefaultBurst.
	Burst int
	// MaxRetries is how many times a retryable failure is retried. Zero means
	// DefaultMaxRetries; negative means never retry.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// attempts (jittered). Zero means DefaultMinBackoff / DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client will wait for; a
	// longer one ends the retries with the server's error. Zero means
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// MaxResponseBytes caps how much of a response body is read. Zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MemberUUIDsOnly makes ListGroups fill only MemberUUIDs (always the
	// complete list) and leave Members nil. The sync needs nothing else, and
	// the member summaries are most of what a large group list keeps. False
	// fills both.
	MemberUUIDsOnly bool
	// SkipUserNames makes ListUsers leave FirstName and LastName empty: they
	// are skipped while decoding, not decoded and dropped. The sync plans
	// with uuids, emails, roles and flags only. False fills them.
	SkipUserNames bool
	// UserPageSize is the pageSize of ListUsers' pages, at most
	// MaxUserPageSize. Zero means DefaultUserPageSize.
	UserPageSize int
	// ListConcurrency is how many pages of a list are fetched at once
	// (within RateLimit). Zero means DefaultListConcurrency.
	ListConcurrency int
	// UserAgent is sent on every request. Empty means DefaultUserAgent.
	UserAgent string
	// Logger gets one debug line per attempt (method, path, status, duration)
	// and retries at info level. Nil means no logging.
	Logger *zap.Logger
	// Metrics, when set, counts requests and retries and times them. Build it
	// with NewMetrics; nil means no metrics.
	Metrics *Metrics
	// Sleep waits between attempts. Nil means a timer that stops early when
	// ctx ends; tests inject a recorder to drive backoff without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0,1) that spreads backoff. Nil means math/rand/v2.
	Jitter func() float64

	once     sync.Once
	initErr  error
	base     *url.URL
	hc       *http.Client
	limiter  *rate.Limiter
	log      *zap.Logger
	requests atomic.Int64

	selfMu sync.Mutex
	self   string // the token's user uuid, once read (ownCreate)
}

// New returns a Client for baseURL and token with every other field zero,
// after checking it with Validate, which freezes it. To set other fields,
// build the Client as a struct literal instead.
func New(baseURL, token string) (*Client, error) {
	c := &Client{BaseURL: baseURL, Token: token}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks the configuration (an absolute http(s) BaseURL without
// credentials, a token, a rate limit and burst that are not negative) and
// freezes it: the first call does the same, so calling Validate is optional,
// a way to report a bad configuration before the first request.
func (c *Client) Validate() error { return c.init() }

// String describes the client without its token.
func (c *Client) String() string {
	return fmt.Sprintf("lightdash.Client{BaseURL: %q, Token: <redacted>}", c.BaseURL)
}

// GoString keeps %#v from printing the token.
func (c *Client) GoString() string { return "&" + c.String() }

// RequestCount is the number of HTTP requests (attempts, retries included)
// sent with the token so far: the cost metric, since each costs the server
// a bcrypt hash.
func (c *Client) RequestCount() int64 { return c.requests.Load() }

// URLError is a BaseURL the client refuses.
type URLError struct {
	URL    string // the URL with any password redacted
	Reason string // why, e.g. "scheme must be http or https"
	Err    error  // the parse error, if the URL does not parse
}

func (e *URLError) Error() string {
	switch {
	case e.Err != nil:
		return "lightdash base URL: " + e.Err.Error()
	case strings.TrimSpace(e.URL) == "":
		return "lightdash base URL is empty"
	}
	return fmt.Sprintf("lightdash base URL %q: %s", e.URL, e.Reason)
}

func (e *URLError) Unwrap() error { return e.Err }

// CheckURL reports whether raw is a BaseURL the client accepts: an absolute
// http or https URL with a host and no credentials. A refusal is a *URLError.
func CheckURL(raw string) error {
	_, err := parseBaseURL(raw)
	return err
}

func parseBaseURL(raw string) (*url.URL, error) {
	refuse := func(reason string) error { return &URLError{URL: redact.URL(raw), Reason: reason} }
	if strings.TrimSpace(raw) == "" {
		return nil, refuse("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &URLError{URL: redact.URL(raw), Reason: "not a URL", Err: redact.Error(err, raw)}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, refuse("scheme must be http or https")
	}
	if u.Host == "" {
		return nil, refuse("no host")
	}
	if u.User != nil {
		return nil, refuse("credentials in the URL are not supported, use the token")
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// init validates the configuration and builds the wrapped transport and
// limiter once, so a Client built as a struct literal works too.
func (c *Client) init() error {
	c.once.Do(func() {
		base, err := parseBaseURL(c.BaseURL)
		if err != nil {
			c.initErr = err
			return
		}
		if c.Token == "" {
			c.initErr = errors.New("lightdash token is empty")
			return
		}
		if strings.ContainsAny(c.Token, "\r\n") {
			c.initErr = errors.New("lightdash token contains a line break")
			return
		}
		if c.RateLimit < 0 || c.Burst < 0 {
			c.initErr = fmt.Errorf("lightdash client: rate limit %v/s burst %d: must not be negative", c.RateLimit, c.Burst)
			return
		}
		if c.UserPageSize < 0 || c.UserPageSize > MaxUserPageSize || c.ListConcurrency < 0 {
			c.initErr = fmt.Errorf("lightdash client: user page size %d (want 0 to %d), list concurrency %d: out of range",
				c.UserPageSize, MaxUserPageSize, c.ListConcurrency)
			return
		}
		c.base = base
		c.log = c.Logger
		if c.log == nil {
			c.log = zap.NewNop()
		}
		inner := http.DefaultTransport
		var jar http.CookieJar
		if c.HTTPClient != nil {
			if c.HTTPClient.Transport != nil {
				inner = c.HTTPClient.Transport
			}
			jar = c.HTTPClient.Jar
		}
		c.hc = &http.Client{
			Transport: &transport{
				next:      inner,
				origin:    base.Scheme + "://" + base.Host,
				token:     c.Token,
				userAgent: or(c.UserAgent, DefaultUserAgent),
				metrics:   c.Metrics,
				log:       c.log,
				count:     &c.requests,
			},
			Jar:           jar,
			CheckRedirect: refuseRedirect,
		}
		if c.HTTPClient != nil {
			c.hc.Timeout = c.HTTPClient.Timeout
		}
		if c.RateLimit > 0 {
			burst := c.Burst
			if burst <= 0 {
				burst = DefaultBurst
			}
			c.limiter = rate.NewLimiter(rate.Limit(c.RateLimit), burst)
		}
	})
	return c.initErr
}

// refuseRedirect makes http.Client hand back a 3xx answer instead of
// following it, to another host with the token or as a GET replaying a write.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (c *Client) timeout() time.Duration { return or(c.Timeout, DefaultTimeout) }
func (c *Client) slowReadTimeout() time.Duration {
	return or(c.SlowReadTimeout, DefaultSlowReadTimeout)
}
func (c *Client) minBackoff() time.Duration { return or(c.MinBackoff, DefaultMinBackoff) }
func (c *Client) maxBackoff() time.Duration { return or(c.MaxBackoff, DefaultMaxBackoff) }
func (c *Client) maxRetryAfter() time.Duration {
	return or(c.MaxRetryAfter, DefaultMaxRetryAfter)
}
func (c *Client) maxBody() int64    { return or(c.MaxResponseBytes, DefaultMaxResponseBytes) }
func (c *Client) userPageSize() int { return or(c.UserPageSize, DefaultUserPageSize) }
func (c *Client) listConcurrency() int {
	return or(c.ListConcurrency, DefaultListConcurrency)
}
func (c *Client) maxRetries() int {
	switch {
	case c.MaxRetries < 0:
		return 0
	case c.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return c.MaxRetries
}

func (c *Client) jitter() float64 {
	if c.Jitter != nil {
		return c.Jitter()
	}
	return rand.Float64()
}
