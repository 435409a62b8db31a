package transport

import (
	"context"
	"sync"
	"time"
)

// hostLimiter bounds one host: a semaphore for requests in flight and a token bucket for the
// request rate. Graph's limits are per app and tenant (NOTES §3.2); staying under them
// client-side costs less than being throttled.
type hostLimiter struct {
	slots chan struct{} // nil = unlimited

	mu     sync.Mutex
	rate   float64 // tokens per second; 0 = unlimited
	burst  float64
	tokens float64
	last   time.Time
}

func (t *Transport) limiter(host string) *hostLimiter {
	t.hostsMu.Lock()
	defer t.hostsMu.Unlock()
	if l, ok := t.hosts[host]; ok {
		return l
	}
	l := &hostLimiter{rate: t.opts.RatePerSecond, burst: float64(t.opts.Burst), tokens: float64(t.opts.Burst)}
	if t.opts.PerHostConcurrency > 0 {
		l.slots = make(chan struct{}, t.opts.PerHostConcurrency)
	}
	t.hosts[host] = l
	return l
}

// acquire takes a concurrency slot, or fails when ctx ends first.
func (l *hostLimiter) acquire(ctx context.Context) error {
	if l.slots == nil {
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *hostLimiter) release() {
	if l.slots != nil {
		<-l.slots
	}
}

// wait takes one token, sleeping until it is due. The token is reserved before sleeping (the
// bucket may go negative), so concurrent callers queue in order instead of stampeding; a
// caller whose ctx ends gives its token back.
func (l *hostLimiter) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	if l.rate <= 0 {
		return nil
	}
	l.mu.Lock()
	t := now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+t.Sub(l.last).Seconds()*l.rate)
	}
	l.last = t
	l.tokens--
	var d time.Duration
	if l.tokens < 0 {
		d = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if d == 0 {
		return nil
	}
	if err := sleep(ctx, d); err != nil {
		l.mu.Lock()
		l.tokens++
		l.mu.Unlock()
		return err
	}
	return nil
}
