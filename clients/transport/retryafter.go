package transport

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay-seconds or an
// HTTP-date, relative to now. It also accepts fractional seconds ("2.128"), which older Graph
// throttling docs show; unlike the Graph Go SDK it does not truncate the fraction
// (NOTES §3.2, §6.1). A date in the past means no wait. ok is false when the value is absent
// or unusable, and the caller falls back to its own backoff.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		// Guard the conversion: anything beyond ~290 years overflows a Duration.
		if f > float64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
