package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock whose Sleep advances it instantly and records each wait.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	return nil
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// scripted answers with the given statuses in order, then 200; it records each request.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header // added to every scripted (non-200) answer
	hits     int
	bodies   []string
	reqs     []http.Header
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.hits++
	s.bodies = append(s.bodies, string(body))
	s.reqs = append(s.reqs, r.Header.Clone())
	status := http.StatusOK
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	s.mu.Unlock()
	if status != http.StatusOK {
		for k, v := range s.header {
			w.Header()[k] = v
		}
	}
	w.Header().Set("request-id", "req-"+strconv.Itoa(status))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"status":`+strconv.Itoa(status)+`}`)
}

func do(t *testing.T, c *http.Client, ctx context.Context, method, url, body string, hdr http.Header) (*http.Response, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		markCtx    bool
		header     http.Header
		statuses   []int
		maxRetries int
		wantHits   int
		wantStatus int
	}{
		{"429 retried for POST", http.MethodPost, false, nil, []int{429}, 0, 2, 200},
		{"429 retried for PATCH", http.MethodPatch, false, nil, []int{429, 429}, 0, 3, 200},
		{"503 retried for GET", http.MethodGet, false, nil, []int{503}, 0, 2, 200},
		{"504 retried for DELETE", http.MethodDelete, false, nil, []int{504}, 0, 2, 200},
		{"503 retried for PUT", http.MethodPut, false, nil, []int{503}, 0, 2, 200},
		{"503 not retried for POST", http.MethodPost, false, nil, []int{503}, 0, 1, 503},
		{"504 not retried for PATCH", http.MethodPatch, false, nil, []int{504}, 0, 1, 504},
		{"503 retried for POST marked idempotent", http.MethodPost, true, nil, []int{503}, 0, 2, 200},
		{"503 retried for POST with Idempotency-Key", http.MethodPost, false, http.Header{"Idempotency-Key": {"k1"}}, []int{503}, 0, 2, 200},
		{"500 never retried", http.MethodGet, false, nil, []int{500}, 0, 1, 500},
		{"401 never retried", http.MethodGet, false, nil, []int{401}, 0, 1, 401},
		{"retries exhausted return the last response", http.MethodGet, false, nil, []int{429, 429, 429, 429}, 2, 3, 429},
		{"negative MaxRetries never retries", http.MethodGet, false, nil, []int{429}, -1, 1, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &scripted{statuses: tt.statuses}
			srv := httptest.NewServer(h)
			defer srv.Close()
			clk := newFakeClock()
			tr := New(nil, Options{MaxRetries: tt.maxRetries, Now: clk.Now, Sleep: clk.Sleep})
			ctx := context.Background()
			if tt.markCtx {
				ctx = WithIdempotent(ctx)
			}
			body := ""
			if tt.method == http.MethodPost || tt.method == http.MethodPatch || tt.method == http.MethodPut {
				body = `{"a":1}`
			}
			resp, err := do(t, &http.Client{Transport: tr}, ctx, tt.method, srv.URL+"/v1.0/users", body, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || h.hits != tt.wantHits {
				t.Fatalf("status %d after %d hits, want %d after %d", resp.StatusCode, h.hits, tt.wantStatus, tt.wantHits)
			}
			st := tr.Stats()
			if st.Attempts != int64(tt.wantHits) || st.Retries != int64(tt.wantHits-1) {
				t.Fatalf("stats %+v, want %d attempts", st, tt.wantHits)
			}
		})
	}
}

// closeFirst hijacks and closes the connection for the first n requests: a network error
// after the request was sent.
type closeFirst struct {
	n    atomic.Int32
	hits atomic.Int32
}

func (c *closeFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.hits.Add(1)
	if c.n.Add(-1) >= 0 {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	_, _ = io.WriteString(w, "ok")
}

func TestNetworkErrorRetriedOnlyWhenIdempotent(t *testing.T) {
	tests := []struct {
		method   string
		mark     bool
		wantErr  bool
		wantHits int32
	}{
		{http.MethodGet, false, false, 2},
		{http.MethodDelete, false, false, 2},
		{http.MethodPost, false, true, 1},
		{http.MethodPatch, false, true, 1},
		{http.MethodPost, true, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.method+"/marked="+strconv.FormatBool(tt.mark), func(t *testing.T) {
			h := &closeFirst{}
			h.n.Store(1)
			srv := httptest.NewServer(h)
			defer srv.Close()
			// No keep-alives: net/http would otherwise repeat some requests on a reused
			// connection by itself, and the hit count would not be ours.
			base := &http.Transport{DisableKeepAlives: true}
			clk := newFakeClock()
			tr := New(base, Options{Now: clk.Now, Sleep: clk.Sleep})
			ctx := context.Background()
			if tt.mark {
				ctx = WithIdempotent(ctx)
			}
			_, err := do(t, &http.Client{Transport: tr}, ctx, tt.method, srv.URL+"/x?secret=q", "payload", nil)
			if (err != nil) != tt.wantErr || h.hits.Load() != tt.wantHits {
				t.Fatalf("err %v after %d hits; want error %v after %d", err, h.hits.Load(), tt.wantErr, tt.wantHits)
			}
			if err != nil {
				var te *Error
				if !errors.As(err, &te) || te.ClientRequestID == "" || te.Attempts != 1 {
					t.Fatalf("error %#v does not carry the request id and attempts", err)
				}
				if strings.Contains(te.Error(), "secret=q") {
					t.Fatalf("error %q leaks the query string", te.Error())
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"10", 10 * time.Second, true},
		{"0", 0, true},
		{" 3 ", 3 * time.Second, true},
		{"2.128", 2128 * time.Millisecond, true},
		{"0.5", 500 * time.Millisecond, true},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Saturday, 01-Mar-25 12:00:30 GMT", 30 * time.Second, true}, // RFC 850, obsolete but valid
		{"", 0, false},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	clkStart := newFakeClock().Now()
	tests := []struct {
		name       string
		retryAfter string
		maxDelay   time.Duration
		want       time.Duration
	}{
		{"seconds", "3", 0, 3 * time.Second},
		{"fraction", "2.128", 0, 2128 * time.Millisecond},
		{"http date", clkStart.Add(5 * time.Second).Format(http.TimeFormat), 0, 5 * time.Second},
		{"date in the past", clkStart.Add(-5 * time.Second).Format(http.TimeFormat), 0, 0},
		{"capped at MaxDelay", "120", 10 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &scripted{statuses: []int{429}, header: http.Header{"Retry-After": {tt.retryAfter}}}
			srv := httptest.NewServer(h)
			defer srv.Close()
			clk := newFakeClock()
			tr := New(nil, Options{MaxDelay: tt.maxDelay, Now: clk.Now, Sleep: clk.Sleep})
			resp, err := do(t, &http.Client{Transport: tr}, context.Background(), http.MethodPost, srv.URL, "x", nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("resp %v err %v", resp, err)
			}
			if w := clk.Waits(); len(w) != 1 || w[0] != tt.want {
				t.Fatalf("waits %v, want [%v]", w, tt.want)
			}
			if st := tr.Stats(); st.Throttled != 1 || st.Waited != tt.want {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestFullJitterBounds(t *testing.T) {
	base, maxDelay := 100*time.Millisecond, 2*time.Second
	tr := New(nil, Options{BaseDelay: base, MaxDelay: maxDelay, Rand: mrand.New(mrand.NewPCG(1, 2))})
	for attempt := 1; attempt <= 8; attempt++ {
		ceiling := min(maxDelay, base<<(attempt-1))
		var sum time.Duration
		const n = 2000
		for range n {
			d := tr.delay(nil, attempt)
			if d < 0 || d >= ceiling {
				t.Fatalf("attempt %d: wait %v outside [0, %v)", attempt, d, ceiling)
			}
			sum += d
		}
		// Full jitter is uniform over [0, ceiling): the mean is close to half the ceiling.
		if mean := sum / n; mean < ceiling*45/100 || mean > ceiling*55/100 {
			t.Fatalf("attempt %d: mean wait %v, want about %v", attempt, mean, ceiling/2)
		}
	}
}

func TestBackoffWithoutRetryAfterGrows(t *testing.T) {
	h := &scripted{statuses: []int{503, 503, 503, 503}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	clk := newFakeClock()
	tr := New(nil, Options{BaseDelay: time.Second, MaxDelay: 3 * time.Second, Now: clk.Now, Sleep: clk.Sleep, Rand: mrand.New(mrand.NewPCG(3, 4))})
	if _, err := do(t, &http.Client{Transport: tr}, context.Background(), http.MethodGet, srv.URL, "", nil); err != nil {
		t.Fatal(err)
	}
	ceilings := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	w := clk.Waits()
	if len(w) != len(ceilings) {
		t.Fatalf("waits %v", w)
	}
	for i, d := range w {
		if d >= ceilings[i] {
			t.Fatalf("wait %d = %v, want < %v", i, d, ceilings[i])
		}
	}
}

func TestTotalWaitCap(t *testing.T) {
	h := &scripted{statuses: []int{429, 429, 429, 429, 429, 429}, header: http.Header{"Retry-After": {"10"}}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	clk := newFakeClock()
	tr := New(nil, Options{MaxRetries: 10, MaxTotalWait: 25 * time.Second, Now: clk.Now, Sleep: clk.Sleep})
	resp, err := do(t, &http.Client{Transport: tr}, context.Background(), http.MethodGet, srv.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || h.hits != 3 {
		t.Fatalf("status %d after %d hits, want the third 429", resp.StatusCode, h.hits)
	}
	if st := tr.Stats(); st.Waited != 20*time.Second {
		t.Fatalf("waited %v, want 20s", st.Waited)
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("during backoff", func(t *testing.T) {
		h := &scripted{statuses: []int{429}, header: http.Header{"Retry-After": {"30"}}}
		srv := httptest.NewServer(h)
		defer srv.Close()
		tr := New(nil, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := do(t, &http.Client{Transport: tr}, ctx, http.MethodGet, srv.URL, "", nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("returned after %v", el)
		}
	})
	t.Run("deadline before the next attempt returns the response", func(t *testing.T) {
		h := &scripted{statuses: []int{429}, header: http.Header{"Retry-After": {"30"}}}
		srv := httptest.NewServer(h)
		defer srv.Close()
		tr := New(nil, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := do(t, &http.Client{Transport: tr}, ctx, http.MethodGet, srv.URL, "", nil)
		if err != nil || resp.StatusCode != 429 || time.Since(start) > 2*time.Second {
			t.Fatalf("resp %v err %v after %v; want the 429 at once", resp, err, time.Since(start))
		}
	})
	t.Run("waiting for a concurrency slot", func(t *testing.T) {
		release := make(chan struct{})
		entered := make(chan struct{}, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
		}))
		defer srv.Close()
		defer close(release)
		tr := New(nil, Options{PerHostConcurrency: 1})
		c := &http.Client{Transport: tr}
		go func() { _, _ = do(t, c, context.Background(), http.MethodGet, srv.URL, "", nil) }()
		<-entered
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := do(t, c, ctx, http.MethodGet, srv.URL, "", nil)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	})
}

func TestPerHostConcurrencyLimit(t *testing.T) {
	tests := []struct{ limit, callers int }{{1, 20}, {4, 50}, {16, 50}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.limit), func(t *testing.T) {
			var inflight, peak atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := inflight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				// Stream a body in two flushes so the client holds the response while the
				// handler is still running: the slot must cover the body, not just headers.
				_, _ = io.WriteString(w, strings.Repeat("a", 1024))
				w.(http.Flusher).Flush()
				time.Sleep(time.Millisecond)
				inflight.Add(-1)
			}))
			defer srv.Close()
			tr := New(nil, Options{PerHostConcurrency: tt.limit})
			c := &http.Client{Transport: tr}
			var wg sync.WaitGroup
			for range tt.callers {
				wg.Go(func() {
					if _, err := do(t, c, context.Background(), http.MethodGet, srv.URL, "", nil); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if p := peak.Load(); p > int32(tt.limit) || p < 1 {
				t.Fatalf("peak in flight %d, limit %d", p, tt.limit)
			}
		})
	}
}

func TestTokenBucketRate(t *testing.T) {
	tests := []struct {
		rate  float64
		burst int
		n     int
		want  time.Duration
	}{
		{10, 3, 13, time.Second},              // 10 beyond the burst at 100 ms each
		{2, 1, 5, 2 * time.Second},            // 4 at 500 ms
		{100, 0, 100, 0},                      // burst defaults to the rate
		{100, 0, 150, 500 * time.Millisecond}, // 50 beyond the burst
		{0, 0, 50, 0},                         // unlimited
		{0.5, 1, 3, 4 * time.Second},          // slower than one a second
		{1000, 10, 1010, 1000 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatFloat(tt.rate, 'f', -1, 64)+"/"+strconv.Itoa(tt.n), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			defer srv.Close()
			clk := newFakeClock()
			start := clk.Now()
			tr := New(nil, Options{RatePerSecond: tt.rate, Burst: tt.burst, Now: clk.Now, Sleep: clk.Sleep})
			c := &http.Client{Transport: tr}
			for range tt.n {
				if _, err := do(t, c, context.Background(), http.MethodGet, srv.URL, "", nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := clk.Now().Sub(start); got < tt.want-time.Millisecond || got > tt.want+time.Millisecond {
				t.Fatalf("%d requests took %v of clock, want %v", tt.n, got, tt.want)
			}
			if st := tr.Stats(); st.Waited != 0 {
				t.Fatalf("rate waits counted as backoff: %+v", st)
			}
		})
	}
}

func TestBodyReplayedOnRetry(t *testing.T) {
	h := &scripted{statuses: []int{429, 429}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	clk := newFakeClock()
	tr := New(nil, Options{Now: clk.Now, Sleep: clk.Sleep})
	body := `{"accountEnabled":false,"displayName":"Adele Vance"}`
	if _, err := do(t, &http.Client{Transport: tr}, context.Background(), http.MethodPost, srv.URL+"/v1.0/users", body, nil); err != nil {
		t.Fatal(err)
	}
	if len(h.bodies) != 3 {
		t.Fatalf("%d attempts", len(h.bodies))
	}
	crid := h.reqs[0].Get("client-request-id")
	if len(crid) != 36 {
		t.Fatalf("client-request-id %q", crid)
	}
	for i, b := range h.bodies {
		if b != body {
			t.Fatalf("attempt %d sent %q", i+1, b)
		}
		if got := h.reqs[i].Get("client-request-id"); got != crid {
			t.Fatalf("attempt %d client-request-id %q, want %q", i+1, got, crid)
		}
		if want := map[int]string{0: "", 1: "1", 2: "2"}[i]; h.reqs[i].Get("Retry-Attempt") != want {
			t.Fatalf("attempt %d Retry-Attempt %q", i+1, h.reqs[i].Get("Retry-Attempt"))
		}
	}
}

func TestCallerClientRequestIDKept(t *testing.T) {
	h := &scripted{statuses: []int{429}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	clk := newFakeClock()
	tr := New(nil, Options{Now: clk.Now, Sleep: clk.Sleep})
	hdr := http.Header{"Client-Request-Id": {"11111111-2222-3333-4444-555555555555"}}
	if _, err := do(t, &http.Client{Transport: tr}, context.Background(), http.MethodGet, srv.URL, "", hdr); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.reqs {
		if r.Get("client-request-id") != hdr.Get("client-request-id") {
			t.Fatalf("client-request-id %q", r.Get("client-request-id"))
		}
	}
}

func TestUnrewindableBodyNotRetried(t *testing.T) {
	h := &scripted{statuses: []int{429}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := New(nil, Options{})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.NopCloser(strings.NewReader("once")))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || h.hits != 1 {
		t.Fatalf("status %d after %d hits", resp.StatusCode, h.hits)
	}
}

// TestFaultInjection: with 30% of answers a 429 or 503, every GET completes.
func TestFaultInjection(t *testing.T) {
	var mu sync.Mutex
	rng := mrand.New(mrand.NewPCG(42, 30))
	var faults atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		p, kind := rng.Float64(), rng.IntN(3)
		mu.Unlock()
		if p < 0.30 {
			faults.Add(1)
			switch kind {
			case 0:
				w.Header().Set("Retry-After", "0.002")
				w.WriteHeader(http.StatusTooManyRequests)
			case 1:
				w.WriteHeader(http.StatusTooManyRequests) // no Retry-After: backoff
			default:
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			_, _ = io.WriteString(w, `{"error":{"code":"TooManyRequests"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"value":[]}`)
	}))
	defer srv.Close()
	tr := New(nil, Options{MaxRetries: 12, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Rand: mrand.New(mrand.NewPCG(7, 7))})
	c := &http.Client{Transport: tr}
	const requests = 300
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			resp, err := do(t, c, context.Background(), http.MethodGet, srv.URL+"/v1.0/users?$top="+strconv.Itoa(i), "", nil)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("request %d: %v %v", i, resp, err)
				return
			}
			ok.Add(1)
		})
	}
	wg.Wait()
	st := tr.Stats()
	if ok.Load() != requests || st.Retries != int64(faults.Load()) || st.Attempts != requests+st.Retries {
		t.Fatalf("%d ok of %d, %d faults, stats %+v", ok.Load(), requests, faults.Load(), st)
	}
	t.Logf("%d requests, %d faults injected, stats %+v", requests, faults.Load(), st)
}

func TestRetryLogHygiene(t *testing.T) {
	h := &scripted{statuses: []int{429}, header: http.Header{"Retry-After": {"1"}, "TrackingId": {"track-77"}}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := newFakeClock()
	tr := New(nil, Options{Logger: log, Now: clk.Now, Sleep: clk.Sleep})
	hdr := http.Header{"Authorization": {"Bearer eyJ-ACCESS-TOKEN-SECRET"}}
	if _, err := do(t, &http.Client{Transport: tr}, context.Background(), http.MethodPost,
		srv.URL+"/v1.0/users/adele@contoso.example?access_token=QUERY-SECRET&$filter=x", "BODY-SECRET", hdr); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want one JSON line, got %q", line)
	}
	want := map[string]any{"msg": "http retry", "method": "POST", "path": "/v1.0/users/adele@contoso.example",
		"status": float64(429), "attempt": float64(1), "request-id": "req-429", "TrackingId": "track-77",
		"client_request_id": h.reqs[0].Get("client-request-id")}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %v", k, rec[k], v)
		}
	}
	for _, secret := range []string{"ACCESS-TOKEN-SECRET", "QUERY-SECRET", "BODY-SECRET", "filter"} {
		if strings.Contains(line, secret) {
			t.Errorf("log line leaks %q: %s", secret, line)
		}
	}
}
