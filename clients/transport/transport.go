// Package transport is the one http.RoundTripper every msidm client shares: it retries
// throttled and transiently failed requests the way Microsoft asks (Retry-After first,
// otherwise exponential backoff with full jitter, with a cap on the total wait), limits
// concurrency and request rate per host, tags every request with a client-request-id, and
// logs retries without query strings, headers that carry credentials, or bodies.
//
// Retry rules (../shared/reference/graph/NOTES.md §3.2, §6.1):
//   - 429 for any method: Graph throttles before it executes a request, so even a POST is safe
//     to repeat.
//   - 503, 504 and network errors only for idempotent requests (see Idempotent): a POST that
//     failed half-way may have been executed.
//   - A request whose body cannot be rewound (no GetBody) is never retried.
package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for a zero Options field.
const (
	DefaultMaxRetries         = 5
	DefaultBaseDelay          = 1 * time.Second
	DefaultMaxDelay           = 60 * time.Second
	DefaultMaxTotalWait       = 3 * time.Minute // the Graph Go SDK's cumulative cap (NOTES §6.1)
	DefaultPerHostConcurrency = 16
)

// Options configure a Transport. The zero value gives the defaults above, no rate limit and
// no logging.
type Options struct {
	MaxRetries   int           // retries after the first attempt; 0 = default, <0 = never retry
	BaseDelay    time.Duration // first backoff ceiling without Retry-After; doubles per retry
	MaxDelay     time.Duration // cap of any single wait, including a server's Retry-After
	MaxTotalWait time.Duration // cap of the sum of waits for one request; then the last result is returned

	PerHostConcurrency int     // requests in flight per host; 0 = 16, <0 = unlimited
	RatePerSecond      float64 // token bucket per host; 0 = unlimited
	Burst              int     // bucket size; 0 = max(1, RatePerSecond)

	// DisableClientRequestID stops the transport from adding a client-request-id header
	// (a random UUID, kept across retries) to requests that carry none.
	DisableClientRequestID bool

	Logger *slog.Logger // retries are logged at debug level; nil = no logging

	// Hooks for tests.
	Now   func() time.Time                                 // default time.Now
	Sleep func(ctx context.Context, d time.Duration) error // default: a timer that honours ctx
	Rand  *mrand.Rand                                      // jitter source; default the global generator
}

// Stats are cumulative counters since the Transport was created.
type Stats struct {
	Attempts  int64         // requests handed to the base transport
	Retries   int64         // attempts after the first of a request
	Throttled int64         // 429 responses received
	Waited    time.Duration // total time slept in backoff (not in rate or concurrency limits)
}

// Transport is an http.RoundTripper; create it with New. It is safe for concurrent use.
type Transport struct {
	base http.RoundTripper
	opts Options
	log  *slog.Logger

	randMu sync.Mutex

	hostsMu sync.Mutex
	hosts   map[string]*hostLimiter

	attempts, retries, throttled, waited atomic.Int64
}

// New wraps base (http.DefaultTransport when nil).
func New(base http.RoundTripper, opts Options) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = DefaultBaseDelay
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.MaxTotalWait <= 0 {
		opts.MaxTotalWait = DefaultMaxTotalWait
	}
	if opts.PerHostConcurrency == 0 {
		opts.PerHostConcurrency = DefaultPerHostConcurrency
	}
	if opts.RatePerSecond > 0 && opts.Burst <= 0 {
		opts.Burst = max(1, int(opts.RatePerSecond))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	return &Transport{base: base, opts: opts, log: opts.Logger, hosts: map[string]*hostLimiter{}}
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Attempts:  t.attempts.Load(),
		Retries:   t.retries.Load(),
		Throttled: t.throttled.Load(),
		Waited:    time.Duration(t.waited.Load()),
	}
}

// CloseIdleConnections passes through to the base transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Error is a transport failure of one request after all attempts. It names the request
// without its query string and carries the client-request-id Microsoft support asks for.
type Error struct {
	Method          string
	Host            string
	Path            string
	Attempts        int
	ClientRequestID string
	Err             error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s%s: %v (attempts %d", e.Method, e.Host, e.Path, e.Err, e.Attempts)
	if e.ClientRequestID != "" {
		s += ", client-request-id " + e.ClientRequestID
	}
	return s + ")"
}

func (e *Error) Unwrap() error { return e.Err }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	idempotent := Idempotent(req)
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	crid := req.Header.Get("client-request-id")
	if crid == "" && !t.opts.DisableClientRequestID {
		crid = newUUID()
	}
	lim := t.limiter(req.URL.Host)

	var total time.Duration
	for attempt := 1; ; attempt++ {
		r, err := t.prepare(req, attempt, crid)
		if err != nil {
			return nil, t.fail(req, attempt, crid, err)
		}
		resp, err := t.attempt(ctx, lim, r)
		if ctx.Err() != nil {
			if err == nil {
				discard(resp)
			}
			return nil, t.fail(req, attempt, crid, ctx.Err())
		}
		retryable := false
		switch {
		case err != nil:
			retryable = idempotent
		case resp.StatusCode == http.StatusTooManyRequests:
			t.throttled.Add(1)
			retryable = true
		case resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
			retryable = idempotent
		}
		if !retryable || !rewindable || attempt > t.opts.MaxRetries {
			if err != nil {
				return nil, t.fail(req, attempt, crid, err)
			}
			return resp, nil
		}
		wait := t.delay(resp, attempt)
		if total+wait > t.opts.MaxTotalWait || pastDeadline(ctx, t.opts.Now().Add(wait)) {
			if err != nil {
				return nil, t.fail(req, attempt, crid, err)
			}
			return resp, nil
		}
		t.logRetry(ctx, req, resp, err, attempt, wait, crid)
		if err == nil {
			discard(resp)
		}
		if serr := t.opts.Sleep(ctx, wait); serr != nil {
			return nil, t.fail(req, attempt, crid, serr)
		}
		total += wait
		t.waited.Add(int64(wait))
		t.retries.Add(1)
	}
}

// prepare returns the request for one attempt: the caller's request untouched when nothing
// needs to change, otherwise a clone with the client-request-id, Retry-Attempt (as the Graph
// SDK sends it) and a fresh body.
func (t *Transport) prepare(req *http.Request, attempt int, crid string) (*http.Request, error) {
	if attempt == 1 && (crid == "" || req.Header.Get("client-request-id") == crid) {
		return req, nil
	}
	r := req.Clone(req.Context())
	if crid != "" {
		r.Header.Set("client-request-id", crid)
	}
	if attempt > 1 {
		r.Header.Set("Retry-Attempt", strconv.Itoa(attempt-1))
		if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("rewinding the request body: %w", err)
			}
			r.Body = body
		}
	}
	return r, nil
}

// attempt sends one request through the host's rate and concurrency limits. The concurrency
// slot is held until the response body is read to the end or closed.
func (t *Transport) attempt(ctx context.Context, lim *hostLimiter, r *http.Request) (*http.Response, error) {
	if err := lim.wait(ctx, t.opts.Now, t.opts.Sleep); err != nil {
		return nil, err
	}
	if err := lim.acquire(ctx); err != nil {
		return nil, err
	}
	t.attempts.Add(1)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		lim.release()
		return nil, err
	}
	if lim.slots == nil {
		return resp, nil
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		lim.release()
		return resp, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: lim.release}
	return resp, nil
}

// delay is the wait before the next attempt: the server's Retry-After when it sent one,
// otherwise full jitter over an exponentially growing ceiling; never more than MaxDelay.
func (t *Transport) delay(resp *http.Response, attempt int) time.Duration {
	if resp != nil {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), t.opts.Now()); ok {
			return min(d, t.opts.MaxDelay)
		}
	}
	ceiling := t.opts.MaxDelay
	if shift := attempt - 1; shift < 30 {
		ceiling = min(ceiling, t.opts.BaseDelay<<shift)
	}
	return t.jitter(ceiling)
}

// jitter returns a uniformly random duration in [0, ceiling) ("full jitter").
func (t *Transport) jitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	if t.opts.Rand == nil {
		return time.Duration(mrand.Int64N(int64(ceiling)))
	}
	t.randMu.Lock()
	defer t.randMu.Unlock()
	return time.Duration(t.opts.Rand.Int64N(int64(ceiling)))
}

func (t *Transport) fail(req *http.Request, attempts int, crid string, err error) error {
	return &Error{Method: req.Method, Host: req.URL.Host, Path: req.URL.Path, Attempts: attempts, ClientRequestID: crid, Err: err}
}

// logRetry writes one debug line per retry. It names the request by method, host and path:
// the query string may carry filters with personal data or, on some endpoints, tokens.
func (t *Transport) logRetry(ctx context.Context, req *http.Request, resp *http.Response, err error, attempt int, wait time.Duration, crid string) {
	if t.log == nil || !t.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method), slog.String("host", req.URL.Host), slog.String("path", req.URL.Path),
		slog.Int("attempt", attempt), slog.Duration("wait", wait),
	}
	if crid != "" {
		attrs = append(attrs, slog.String("client_request_id", crid))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
		for _, h := range [...]string{"request-id", "TrackingId", "x-ms-throttle-scope"} {
			if v := resp.Header.Get(h); v != "" {
				attrs = append(attrs, slog.String(h, v))
			}
		}
	}
	t.log.LogAttrs(ctx, slog.LevelDebug, "http retry", attrs...)
}

func pastDeadline(ctx context.Context, at time.Time) bool {
	d, ok := ctx.Deadline()
	return ok && at.After(d)
}

// discard drains a little of a response that will not be returned (so the connection can be
// reused) and closes it.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// newUUID returns a random (version 4) UUID, the form Graph expects in client-request-id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// releasingBody gives the host's concurrency slot back once, when the body is exhausted or closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.release)
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
