package chaos

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Kind is what a Decision does to a request.
type Kind int

const (
	// Pass lets the request reach the emulator (after Decision.Delay).
	Pass Kind = iota
	// Throttle answers 429: the client has spent its budget (Config.ThrottleBudget).
	Throttle
	// Fault answers an injected failure with Decision.Status (Config.FaultRate).
	Fault
)

func (k Kind) String() string {
	switch k {
	case Pass:
		return "pass"
	case Throttle:
		return "throttle"
	case Fault:
		return "fault"
	}
	return "unknown"
}

// Decision is what happens to one request.
type Decision struct {
	Kind  Kind
	Delay time.Duration // wait this long first, whatever the kind
	// Status is the HTTP status to answer: 429 for Throttle, the drawn status for Fault.
	Status int
	// RetryAfter is the wait to announce with Throttle, and with a Fault of 429 or 503.
	RetryAfter time.Duration
	// Client is the key the request was charged to ("" when throttling is off).
	Client string
}

// ServiceStats counts what one service's requests met.
type ServiceStats struct {
	Requests  uint64         `json:"requests"`
	Passed    uint64         `json:"passed"`
	Throttled uint64         `json:"throttled"`
	Injected  map[int]uint64 `json:"injected"` // injected faults by status
}

// Stats are the counters of every service that has seen a request, by service name.
type Stats map[string]ServiceStats

// maxClients bounds the throttle buckets of one service; when reached the buckets start over
// (every client gets a full budget), which a sandbox can afford.
const maxClients = 1 << 16

// Controller decides the fate of every request of the emulators. It is safe for concurrent
// use; its configuration can be replaced while requests are served.
type Controller struct {
	mu       sync.Mutex
	cfg      Config
	offset   time.Duration // added to the wall clock by Advance
	services map[string]*service
	wall     func() time.Time
}

// service is the state of one service: its own random stream (so its decisions do not depend
// on how its requests interleave with another service's), its buckets and counters.
type service struct {
	rng     *rand.Rand
	buckets map[string]*bucket
	stats   ServiceStats
}

// bucket is one client's token bucket: capacity ThrottleBudget, refilled at
// ThrottleBudget per ThrottleWindow.
type bucket struct {
	units float64
	last  time.Time
}

// NewController returns a Controller with cfg, which must be valid (see Config.Validate).
func NewController(cfg Config) (*Controller, error) {
	c := &Controller{wall: time.Now}
	if err := c.SetConfig(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Config returns a copy of the current configuration.
func (c *Controller) Config() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.clone()
}

// SetConfig validates cfg and replaces the configuration. Random streams, throttle buckets
// and counters start over, so the decisions after SetConfig depend only on cfg.Seed and the
// requests that follow.
func (c *Controller) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = cfg.clone()
	c.services = make(map[string]*service)
	return nil
}

// Reset starts the random streams, throttle buckets and counters over, keeping the
// configuration and the clock.
func (c *Controller) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.services = make(map[string]*service)
}

// Now is the sandbox clock: the wall clock moved forward by every Advance. The emulators'
// token signer uses it, so advancing it expires tokens; throttle buckets refill by it.
func (c *Controller) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

func (c *Controller) now() time.Time { return c.wall().Add(c.offset) }

// Advance moves the sandbox clock forward by d (d ≥ 0) and returns the new time.
func (c *Controller) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.offset += d
	}
	return c.now()
}

// Stats returns a copy of the counters.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(Stats, len(c.services))
	for name, s := range c.services {
		st := s.stats
		st.Injected = make(map[int]uint64, len(s.stats.Injected))
		for k, v := range s.stats.Injected {
			st.Injected[k] = v
		}
		out[name] = st
	}
	return out
}

// Throttling reports whether throttle budgets are on, so callers can skip computing client keys.
func (c *Controller) Throttling() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.ThrottleBudget > 0
}

// Decide is DecideCost with a cost of one unit.
func (c *Controller) Decide(service, client string) Decision {
	return c.DecideCost(service, client, 1)
}

// DecideCost decides what happens to the next request of service from client, which costs
// cost units of the client's throttle budget (values below 1 count as 1). Every call draws the
// same three numbers from the service's random stream whatever the outcome, so the random part
// of the decisions depends only on the seed and the order of the service's requests.
func (c *Controller) DecideCost(service, client string, cost int) Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.service(service)
	s.stats.Requests++
	if c.cfg.Zero() || !c.cfg.applies(service) {
		s.stats.Passed++
		return Decision{}
	}
	faultDraw, statusDraw, jitterDraw := s.rng.Float64(), s.rng.Float64(), s.rng.Float64()
	d := Decision{Delay: c.cfg.delay(jitterDraw)}
	if c.cfg.ThrottleBudget > 0 {
		d.Client = client
		if wait, ok := s.take(client, cost, c.now(), c.cfg); !ok {
			d.Kind, d.Status, d.RetryAfter = Throttle, 429, wait
			s.stats.Throttled++
			return d
		}
	}
	if faultDraw < c.cfg.FaultRate {
		statuses := c.cfg.statuses()
		d.Kind, d.Status = Fault, statuses[int(statusDraw*float64(len(statuses)))]
		if d.Status == 429 || d.Status == 503 {
			d.RetryAfter = c.cfg.retryAfter()
		}
		s.stats.Injected[d.Status]++
		return d
	}
	s.stats.Passed++
	return d
}

func (c *Controller) service(name string) *service {
	s, ok := c.services[name]
	if !ok {
		h := fnv.New64a()
		h.Write([]byte(name))
		s = &service{
			rng:     rand.New(rand.NewPCG(c.cfg.Seed, h.Sum64())),
			buckets: make(map[string]*bucket),
			stats:   ServiceStats{Injected: make(map[int]uint64)},
		}
		c.services[name] = s
	}
	return s
}

// delay is Latency ± Jitter for a uniform draw u in [0,1).
func (c Config) delay(u float64) time.Duration {
	d := c.Latency + time.Duration((2*u-1)*float64(c.Jitter))
	return max(d, 0)
}

// take spends cost units of client's bucket. When the bucket holds too few it spends nothing
// and returns how long until it will hold enough, rounded up to whole seconds (Retry-After is
// whole seconds, NOTES §3.2) and at least one second.
func (s *service) take(client string, cost int, now time.Time, cfg Config) (time.Duration, bool) {
	budget := float64(cfg.ThrottleBudget)
	units := min(float64(max(cost, 1)), budget) // a request dearer than the budget would never pass
	rate := budget / cfg.window().Seconds()     // units per second
	b, ok := s.buckets[client]
	if !ok {
		if len(s.buckets) >= maxClients {
			s.buckets = make(map[string]*bucket)
		}
		b = &bucket{units: budget, last: now}
		s.buckets[client] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.units = min(budget, b.units+elapsed*rate)
		b.last = now
	}
	if b.units >= units {
		b.units -= units
		return 0, true
	}
	wait := math.Ceil((units - b.units) / rate)
	return time.Duration(max(wait, 1)) * time.Second, false
}
