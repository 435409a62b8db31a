package ads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// Invalidator is implemented by a token source that can drop its cached access token, so
// that the next Token call fetches a fresh one. On AuthenticationTokenExpired (109) the
// transport calls Invalidate before its one retry; a source without it is simply asked again.
type Invalidator interface {
	Invalidate()
}

// Options tune the transport policy that both bindings share. The zero value is the
// documented behaviour.
type Options struct {
	// Logger receives one debug record per HTTP exchange (operation, attempt, HTTP status,
	// TrackingId, duration, fault codes) and the retry decisions. Tokens are never logged.
	// nil discards.
	Logger *slog.Logger
	// RateLimitWait is how long to wait after CallRateExceeded (117) before resending.
	// The docs say to resubmit after 60 seconds (NOTES §7); 0 means 60 s.
	RateLimitWait time.Duration
	// RateLimitRetries bounds the resends after 117 per call; 0 means 2, negative disables.
	// SendUserInvitation is never resent (not idempotent).
	RateLimitRetries int
}

// DefaultRateLimitWait is the documented wait after CallRateExceeded (117).
const DefaultRateLimitWait = 60 * time.Second

// defaultRateLimitRetries keeps a throttled call under about three minutes with the default wait.
const defaultRateLimitRetries = 2

// transport is the HTTP side both bindings share: tokens, the retry policy and logging.
type transport struct {
	protocol       string // "soap" or "rest", for logs
	http           *http.Client
	tokens         oauth2.TokenSource
	developerToken string
	log            *slog.Logger
	wait           time.Duration
	retries        int
}

func newTransport(protocol string, hc *http.Client, tokens oauth2.TokenSource, developerToken string) transport {
	if hc == nil {
		hc = http.DefaultClient
	}
	t := transport{protocol: protocol, http: hc, tokens: tokens, developerToken: developerToken}
	t.setOptions(Options{})
	return t
}

func (t *transport) setOptions(o Options) {
	t.log = o.Logger
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.wait = o.RateLimitWait
	if t.wait <= 0 {
		t.wait = DefaultRateLimitWait
	}
	t.retries = o.RateLimitRetries
	switch {
	case t.retries == 0:
		t.retries = defaultRateLimitRetries
	case t.retries < 0:
		t.retries = 0
	}
}

// exchange is what one attempt reports back: the HTTP status and the TrackingId the
// service returned (0 and "" when no response arrived).
type exchange struct {
	status   int
	tracking string
}

// send performs one HTTP exchange with the given access token.
type send func(ctx context.Context, accessToken string) (exchange, error)

// do runs one operation under the transport policy:
//   - AuthenticationTokenExpired (109): invalidate the token (Invalidator) and resend once.
//     The service rejects the request before running it, so this is safe for every operation.
//   - CallRateExceeded (117): wait RateLimitWait and resend, at most RateLimitRetries times,
//     giving up when ctx ends; never for a non-idempotent operation, whose fault is returned.
//   - everything else, including network errors, is returned at once: no blind retries.
//
// Every exchange is logged at debug level with its TrackingId; an error that is not a
// *Fault (which carries its own) is annotated with the TrackingId when one is known.
func (t *transport) do(ctx context.Context, op string, idempotent bool, attempt send) error {
	refreshed, throttled := false, 0
	for n := 1; ; n++ {
		tok, err := t.tokens.Token()
		if err != nil {
			return fmt.Errorf("ads: %s: getting an access token: %w", op, err)
		}
		start := time.Now()
		ex, err := attempt(ctx, tok.AccessToken)
		var f *Fault
		isFault := errors.As(err, &f)
		tracking := ex.tracking
		if tracking == "" && isFault {
			tracking = f.TrackingID
		}
		attrs := []slog.Attr{slog.String("protocol", t.protocol), slog.String("operation", op),
			slog.Int("attempt", n), slog.Int("http_status", ex.status), slog.String("tracking_id", tracking),
			slog.Duration("duration", time.Since(start))}
		if isFault {
			attrs = append(attrs, slog.String("fault", f.codes()))
		} else if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		t.log.LogAttrs(ctx, slog.LevelDebug, "ads call", attrs...)
		switch {
		case err == nil:
			return nil
		case !isFault:
			if tracking != "" {
				return fmt.Errorf("%w (TrackingId %s)", err, tracking)
			}
			return err
		case f.Has(CodeAuthenticationTokenExpired) && !refreshed:
			refreshed = true
			inv, ok := t.tokens.(Invalidator)
			if ok {
				inv.Invalidate()
			}
			t.log.DebugContext(ctx, "ads: access token expired (109); retrying once", "operation", op,
				"tracking_id", f.TrackingID, "invalidated", ok)
		case f.Has(CodeCallRateExceeded) && idempotent && throttled < t.retries:
			throttled++
			t.log.InfoContext(ctx, "ads: throttled (117 CallRateExceeded); waiting before retrying", "operation", op,
				"tracking_id", f.TrackingID, "wait", t.wait, "retry", throttled, "of", t.retries)
			timer := time.NewTimer(t.wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return fmt.Errorf("ads: %s: gave up waiting after CallRateExceeded: %w (last fault: %w)", op, ctx.Err(), f)
			case <-timer.C:
			}
		default:
			return err
		}
	}
}

// readBody reads a bounded response body.
func readBody(op string, resp *http.Response) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("ads: %s: reading response: %w", op, err)
	}
	return raw, nil
}
