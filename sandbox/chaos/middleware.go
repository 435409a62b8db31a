package chaos

import (
	"net/http"
	"strconv"
	"time"
)

// FaultWriter writes a Throttle or Fault decision as the emulated service would answer it:
// its error envelope, status and headers.
type FaultWriter func(w http.ResponseWriter, r *http.Request, d Decision)

// Middleware is MeteredMiddleware with every request costing one unit.
func Middleware(service string, c *Controller, key func(*http.Request) string, write FaultWriter) func(http.Handler) http.Handler {
	return MeteredMiddleware(service, c, key, nil, write)
}

// MeteredMiddleware puts c in front of an emulator of service. For each request it asks c
// for a decision, charging cost(r) units (nil: one) to the client key(r) (nil: one client
// for all), waits the decision's delay unless the request is cancelled first, then either
// calls next or answers through write (nil: WritePlainFault). Keys are computed only while
// throttling is on, so an idle Controller costs one lock per request.
func MeteredMiddleware(service string, c *Controller, key func(*http.Request) string, cost func(*http.Request) int,
	write FaultWriter) func(http.Handler) http.Handler {
	if write == nil {
		write = WritePlainFault
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			client, units := "", 1
			if c.Throttling() {
				if key != nil {
					client = key(r)
				}
				if cost != nil {
					units = cost(r)
				}
			}
			d := c.DecideCost(service, client, units)
			if d.Delay > 0 && !sleep(r, d.Delay) {
				return // the client gave up; nobody reads an answer
			}
			if d.Kind == Pass {
				next.ServeHTTP(w, r)
				return
			}
			write(w, r, d)
		})
	}
}

// sleep waits d or until the request is cancelled; it reports whether d elapsed.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// RetryAfterSeconds formats d as a Retry-After value: whole seconds, rounded up, at least 1.
// Microsoft Graph sends integers (NOTES §3.2; older responses had fractions, which the Go SDK
// truncates, so a fraction would invite an early retry).
func RetryAfterSeconds(d time.Duration) string {
	s := (d + time.Second - 1) / time.Second
	return strconv.FormatInt(int64(max(s, 1)), 10)
}

// WritePlainFault answers d with its status, a Retry-After header when it has one and the
// status text as a plain-text body: for services without an error envelope of their own.
func WritePlainFault(w http.ResponseWriter, _ *http.Request, d Decision) {
	if d.RetryAfter > 0 {
		w.Header().Set("Retry-After", RetryAfterSeconds(d.RetryAfter))
	}
	http.Error(w, http.StatusText(d.Status), d.Status)
}
