package chaos

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustController(t *testing.T, cfg Config) *Controller {
	t.Helper()
	c, err := NewController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"zero", Config{}, ""},
		{"full", Config{Latency: time.Millisecond, Jitter: time.Millisecond, FaultRate: 1, FaultStatuses: []int{429, 500, 502, 503, 504},
			ThrottleBudget: 10, ThrottleWindow: time.Second, RetryAfter: time.Second, Services: []string{"graph", "ads", "identity"}}, ""},
		{"negative latency", Config{Latency: -1}, "latency"},
		{"negative jitter", Config{Jitter: -1}, "jitter"},
		{"rate above one", Config{FaultRate: 1.5}, "fault_rate"},
		{"rate NaN", Config{FaultRate: math.NaN()}, "fault_rate"},
		{"status 404", Config{FaultStatuses: []int{404}}, "fault_statuses: 404"},
		{"negative budget", Config{ThrottleBudget: -1}, "throttle_budget"},
		{"negative window", Config{ThrottleWindow: -time.Second}, "throttle_window"},
		{"negative retry", Config{RetryAfter: -time.Second}, "retry_after"},
		{"unknown service", Config{Services: []string{"scim"}}, `services: "scim"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigJSON(t *testing.T) {
	base := Config{Latency: 20 * time.Millisecond, FaultRate: 0.2, Seed: 7, ThrottleBudget: 5000, ThrottleWindow: 10 * time.Second}
	for _, tc := range []struct {
		name, in string
		want     Config
		err      string
	}{
		{"empty object keeps all", `{}`, base, ""},
		{"overlay", `{"jitter":"5ms","fault_statuses":[503],"throttle_budget":0}`,
			Config{Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, FaultRate: 0.2, FaultStatuses: []int{503}, Seed: 7,
				ThrottleWindow: 10 * time.Second}, ""},
		{"bad duration", `{"latency":"20"}`, Config{}, `latency: "20" is not a duration`},
		{"unknown member", `{"latncy":"20ms"}`, Config{}, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := base
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			// Round trip through MarshalJSON.
			data, _ := json.Marshal(got)
			var back Config
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if back.Latency != got.Latency || back.Jitter != got.Jitter || back.ThrottleWindow != got.ThrottleWindow {
				t.Fatalf("round trip: %s -> %+v", data, back)
			}
		})
	}
}

func decisions(c *Controller, service string, n int) []Decision {
	out := make([]Decision, n)
	for i := range out {
		out[i] = c.Decide(service, "client")
	}
	return out
}

func TestDecideDeterministic(t *testing.T) {
	cfg := Config{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, FaultRate: 0.3, FaultStatuses: []int{429, 503, 504}, Seed: 42}
	a, b := mustController(t, cfg), mustController(t, cfg)
	// Interleaving another service must not disturb graph's stream.
	var got []Decision
	for range 200 {
		got = append(got, a.Decide(ServiceGraph, "client"))
		a.Decide(ServiceAds, "client")
	}
	if want := decisions(b, ServiceGraph, 200); !reflect.DeepEqual(got, want) {
		t.Fatal("same seed and request order gave different decisions")
	}
	b.Reset()
	if again := decisions(b, ServiceGraph, 200); !reflect.DeepEqual(got, again) {
		t.Fatal("Reset did not restart the stream")
	}
	cfg.Seed = 43
	if other := decisions(mustController(t, cfg), ServiceGraph, 200); reflect.DeepEqual(got, other) {
		t.Fatal("different seeds gave the same decisions")
	}
}

func TestDecideFaultRateAndDelay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		statuses map[int]bool
	}{
		{"default statuses", Config{FaultRate: 0.3, Seed: 1}, map[int]bool{429: true, 503: true}},
		{"chosen statuses", Config{FaultRate: 0.5, FaultStatuses: []int{500, 504}, Seed: 2}, map[int]bool{500: true, 504: true}},
		{"all faults", Config{FaultRate: 1, FaultStatuses: []int{502}, Seed: 3}, map[int]bool{502: true}},
		{"none", Config{Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 4}, map[int]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustController(t, tc.cfg)
			const n = 20000
			seen := map[int]int{}
			faults := 0
			for _, d := range decisions(c, ServiceGraph, n) {
				if lo, hi := tc.cfg.Latency-tc.cfg.Jitter, tc.cfg.Latency+tc.cfg.Jitter; d.Delay < max(lo, 0) || d.Delay > hi {
					t.Fatalf("delay %v outside [%v, %v]", d.Delay, lo, hi)
				}
				if d.Kind == Fault {
					faults++
					seen[d.Status]++
					if !tc.statuses[d.Status] {
						t.Fatalf("status %d not in %v", d.Status, tc.statuses)
					}
					if wantRA := d.Status == 429 || d.Status == 503; (d.RetryAfter == DefaultRetryAfter) != wantRA {
						t.Fatalf("status %d with Retry-After %v", d.Status, d.RetryAfter)
					}
				}
			}
			if got := float64(faults) / n; math.Abs(got-tc.cfg.FaultRate) > 0.02 {
				t.Fatalf("fault share %.3f, want %.2f", got, tc.cfg.FaultRate)
			}
			if len(seen) != len(tc.statuses) {
				t.Fatalf("statuses seen %v, want all of %v", seen, tc.statuses)
			}
			st := c.Stats()[ServiceGraph]
			if st.Requests != n || st.Passed != uint64(n-faults) || st.Throttled != 0 {
				t.Fatalf("stats %+v after %d requests, %d faults", st, n, faults)
			}
		})
	}
}

func TestThrottleBucket(t *testing.T) {
	c := mustController(t, Config{ThrottleBudget: 10, ThrottleWindow: 10 * time.Second})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.wall = func() time.Time { return base }
	for _, step := range []struct {
		name    string
		advance time.Duration
		client  string
		cost    int
		kind    Kind
		retry   time.Duration
	}{
		{"spend 6", 0, "a", 6, Pass, 0},
		{"spend 4", 0, "a", 4, Pass, 0},
		{"empty", 0, "a", 1, Throttle, time.Second},
		{"other client has its own budget", 0, "b", 10, Pass, 0},
		{"cost above budget is capped", 0, "c", 50, Pass, 0},
		{"needs 5 units = 5 s", 0, "a", 5, Throttle, 5 * time.Second},
		{"after 3 s, 3 units", 3 * time.Second, "a", 5, Throttle, 2 * time.Second},
		{"after 5 s, 5 units", 2 * time.Second, "a", 5, Pass, 0},
		{"refill caps at budget", time.Hour, "a", 10, Pass, 0},
		{"and no more", 0, "a", 1, Throttle, time.Second},
	} {
		c.Advance(step.advance)
		d := c.DecideCost(ServiceGraph, step.client, step.cost)
		if d.Kind != step.kind || d.RetryAfter != step.retry || d.Client != step.client {
			t.Fatalf("%s: got %+v, want kind %v retry %v", step.name, d, step.kind, step.retry)
		}
		if d.Kind == Throttle && d.Status != 429 {
			t.Fatalf("%s: throttled with status %d", step.name, d.Status)
		}
	}
	if st := c.Stats()[ServiceGraph]; st.Throttled != 4 || st.Passed != 6 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServicesFilter(t *testing.T) {
	c := mustController(t, Config{FaultRate: 1, Services: []string{ServiceAds}})
	if d := c.Decide(ServiceGraph, ""); d.Kind != Pass {
		t.Fatalf("graph: %+v, want pass", d)
	}
	if d := c.Decide(ServiceAds, ""); d.Kind != Fault {
		t.Fatalf("ads: %+v, want fault", d)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for in, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", 10 * time.Second: "10"} {
		if got := RetryAfterSeconds(in); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %s, want %s", in, got, want)
		}
	}
}

// TestMiddleware drives the middleware over real HTTP.
func TestMiddleware(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		write      FaultWriter
		wantStatus int
		wantBody   string
		wantHeader map[string]string
		minElapsed time.Duration
	}{
		{"pass", Config{}, nil, 200, "ok", nil, 0},
		{"latency", Config{Latency: 60 * time.Millisecond}, nil, 200, "ok", nil, 60 * time.Millisecond},
		{"plain fault", Config{FaultRate: 1, FaultStatuses: []int{503}, RetryAfter: 2500 * time.Millisecond}, nil, 503,
			"Service Unavailable\n", map[string]string{"Retry-After": "3"}, 0},
		{"plain fault without retry-after", Config{FaultRate: 1, FaultStatuses: []int{504}}, nil, 504,
			"Gateway Timeout\n", map[string]string{"Retry-After": ""}, 0},
		{"throttled by key", Config{ThrottleBudget: 1, ThrottleWindow: time.Minute}, nil, 429,
			"Too Many Requests\n", map[string]string{"Retry-After": "60"}, 0},
		{"custom writer", Config{FaultRate: 1, FaultStatuses: []int{429}}, func(w http.ResponseWriter, r *http.Request, d Decision) {
			w.Header().Set("X-Kind", d.Kind.String())
			w.WriteHeader(d.Status)
			io.WriteString(w, "custom")
		}, 429, "custom", map[string]string{"X-Kind": "fault"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustController(t, tc.cfg)
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
			key := func(r *http.Request) string { return r.Header.Get("X-Client") }
			srv := httptest.NewServer(Middleware(ServiceGraph, c, key, tc.write)(next))
			defer srv.Close()
			get := func(client string) *http.Response {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				req.Header.Set("X-Client", client)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			if tc.cfg.ThrottleBudget > 0 { // spend the budget first
				if resp := get("one"); resp.StatusCode != 200 {
					t.Fatalf("first request: %d", resp.StatusCode)
				}
			}
			start := time.Now()
			resp := get("one")
			elapsed := time.Since(start)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || string(body) != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if elapsed < tc.minElapsed {
				t.Errorf("answered after %v, want at least %v", elapsed, tc.minElapsed)
			}
			if tc.cfg.ThrottleBudget > 0 {
				if resp := get("two"); resp.StatusCode != 200 {
					t.Errorf("another client was throttled too: %d", resp.StatusCode)
				}
			}
		})
	}
}

func TestMiddlewareCancelledDuringLatency(t *testing.T) {
	c := mustController(t, Config{Latency: time.Hour})
	called := false
	h := Middleware(ServiceGraph, c, nil, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the middleware kept sleeping after the request was cancelled")
	}
	if called {
		t.Fatal("next was called for a cancelled request")
	}
}

func TestControllerConcurrent(t *testing.T) {
	c := mustController(t, Config{FaultRate: 0.5, ThrottleBudget: 100, ThrottleWindow: time.Second})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 500 {
				c.Decide(ServiceGraph, string(rune('a'+i)))
				if j%100 == 0 {
					_ = c.SetConfig(Config{FaultRate: 0.1, Seed: uint64(j)})
					_ = c.Stats()
				}
			}
		})
	}
	wg.Wait()
}

type controlCall struct {
	method, path, body string
	header             map[string]string
	wantStatus         int
	wantBody           []string // substrings
}

func doControl(t *testing.T, base string, tc controlCall) {
	t.Helper()
	req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
	for k, v := range tc.header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != tc.wantStatus {
		t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.wantStatus)
	}
	for _, s := range tc.wantBody {
		if !strings.Contains(string(body), s) {
			t.Fatalf("%s %s: body %s lacks %q", tc.method, tc.path, body, s)
		}
	}
}

func TestControlHandler(t *testing.T) {
	c := mustController(t, Config{Seed: 9})
	srv := httptest.NewServer(ControlHandler(c))
	defer srv.Close()
	c.Decide(ServiceGraph, "")
	for _, tc := range []controlCall{
		{"GET", "/config", "", nil, 200, []string{`"latency": "0s"`, `"seed": 9`, `"fault_statuses": []`}},
		{"GET", "/stats", "", nil, 200, []string{`"graph"`, `"requests": 1`}},
		{"PUT", "/config", `{"latency":"20ms","fault_rate":0.25,"fault_statuses":[429,504]}`, nil, 200,
			[]string{`"latency": "20ms"`, `"fault_rate": 0.25`, `"seed": 9`}},
		{"GET", "/stats", "", nil, 200, []string{"{}"}}, // SetConfig starts the counters over
		{"PUT", "/config", `{"fault_rate":2}`, nil, 400, []string{`"error": "invalid configuration: fault_rate must be between 0 and 1`}},
		{"PUT", "/config", `{"fault_statuses":[404]}`, nil, 400, []string{"fault_statuses: 404"}},
		{"PUT", "/config", `not json`, nil, 400, []string{"invalid configuration"}},
		{"GET", "/config", "", nil, 200, []string{`"fault_rate": 0.25`}}, // the rejected PUTs changed nothing
		{"POST", "/reset", "", nil, 204, nil},
		{"POST", "/clock/advance?d=2h", "", nil, 200, []string{`"now"`}},
		{"POST", "/clock/advance?d=soon", "", nil, 400, []string{"positive duration"}},
		{"DELETE", "/config", "", nil, 405, nil},
		{"GET", "/config", "", map[string]string{"Host": "evil.example:80"}, 403, []string{"loopback clients only"}},
		{"POST", "/reset", "", map[string]string{"Origin": "https://evil.example"}, 403, []string{"cross-origin"}},
		{"GET", "/config", "", map[string]string{"Origin": "http://localhost:3000"}, 200, nil},
	} {
		doControl(t, srv.URL, tc)
	}
	if got := c.Config(); got.Latency != 20*time.Millisecond || got.FaultRate != 0.25 || !reflect.DeepEqual(got.FaultStatuses, []int{429, 504}) {
		t.Fatalf("config after PUT: %+v", got)
	}
	if now := c.Now(); now.Sub(time.Now()) < 2*time.Hour-time.Minute {
		t.Fatalf("clock not advanced: %v", now)
	}
}
