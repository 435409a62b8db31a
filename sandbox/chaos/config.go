// Package chaos injects latency, faults and throttling into the sandbox emulators, so that
// msidm's clients (and any other client pointed at the sandbox) meet the failures the real
// services produce: Microsoft Graph's 429 with Retry-After and x-ms-throttle-* headers
// (/work/shared/reference/graph/NOTES.md §3.2), 503/504 (§3.1), Customer Management's
// CallRateExceeded fault 117 (/work/shared/reference/ads/NOTES.md §7).
//
// The package knows nothing of the emulators' wire formats: a Controller decides what happens
// to each request (Decide), Middleware applies the decision in front of an emulator, and each
// emulator supplies a FaultWriter that writes the decision in its service's real error shape.
// ControlHandler is the small loopback HTTP API tests and benchmarks use to change the
// configuration at run time.
package chaos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Service names: the first argument of Decide and Middleware and the keys of Stats.
const (
	ServiceIdentity = "identity"
	ServiceGraph    = "graph"
	ServiceAds      = "ads"
)

// Defaults from the documented limits.
const (
	// DefaultThrottleBudget and DefaultThrottleWindow are Microsoft Graph's identity and access
	// application+tenant limit for a medium tenant (50–500 users): 5,000 resource units per 10 s
	// (NOTES §3.2 [limits-ia]).
	DefaultThrottleBudget = 5000
	DefaultThrottleWindow = 10 * time.Second
	// DefaultRetryAfter is the Retry-After of injected 429/503 faults when Config.RetryAfter is
	// zero: the value of the documented 429 sample (NOTES §3.2).
	DefaultRetryAfter = 10 * time.Second
)

// FaultableStatuses are the statuses an injected fault may have: the ones Microsoft Graph
// documents as transient and its SDK's chaos handler draws from for a GET (NOTES §3.1, §6.2).
var FaultableStatuses = []int{429, 500, 502, 503, 504}

// defaultFaultStatuses are drawn from when Config.FaultStatuses is empty.
var defaultFaultStatuses = []int{429, 503}

// Config is what the Controller injects. The zero value injects nothing.
type Config struct {
	// Latency is added to every request; each request waits Latency ± a uniform draw of
	// Jitter, never less than zero.
	Latency, Jitter time.Duration
	// FaultRate is the share of requests (0–1) answered with an injected fault instead of
	// reaching the emulator.
	FaultRate float64
	// FaultStatuses are the statuses a fault is drawn from, uniformly; empty means 429 and 503.
	// Each must be one of FaultableStatuses.
	FaultStatuses []int
	// Seed makes every draw (faults, statuses, jitter) reproducible: the same seed and the same
	// order of requests per service give the same decisions. Every seed, 0 included, is fixed.
	Seed uint64
	// ThrottleBudget is the number of cost units (requests, or Graph resource units) each client
	// may spend per ThrottleWindow, as a token bucket that refills continuously; 0 turns
	// throttling off. A client is what the emulator's key function says: app+tenant for Graph,
	// developer token+customer for Customer Management.
	ThrottleBudget int
	ThrottleWindow time.Duration // 0 with a budget: DefaultThrottleWindow
	// RetryAfter is announced with injected 429 and 503 faults; 0 means DefaultRetryAfter.
	// Throttled requests announce the time until the bucket holds enough units instead.
	RetryAfter time.Duration
	// Services limits injection to these services (ServiceGraph, …); empty means all. A
	// sub-service such as "graph/batch" (the items of a $batch) follows its family.
	Services []string
}

// Validate reports the first setting that is out of range, naming it as the control API and
// the environment do.
func (c Config) Validate() error {
	switch {
	case c.Latency < 0:
		return errors.New("latency must not be negative")
	case c.Jitter < 0:
		return errors.New("jitter must not be negative")
	case c.FaultRate < 0 || c.FaultRate > 1 || c.FaultRate != c.FaultRate:
		return fmt.Errorf("fault_rate must be between 0 and 1, not %v", c.FaultRate)
	case c.ThrottleBudget < 0:
		return errors.New("throttle_budget must not be negative")
	case c.ThrottleWindow < 0:
		return errors.New("throttle_window must not be negative")
	case c.RetryAfter < 0:
		return errors.New("retry_after must not be negative")
	}
	for _, s := range c.FaultStatuses {
		if !slices.Contains(FaultableStatuses, s) {
			return fmt.Errorf("fault_statuses: %d is not one of %v", s, FaultableStatuses)
		}
	}
	for _, s := range c.Services {
		if s != ServiceIdentity && s != ServiceGraph && s != ServiceAds {
			return fmt.Errorf("services: %q is not one of %s, %s, %s", s, ServiceIdentity, ServiceGraph, ServiceAds)
		}
	}
	return nil
}

// Zero reports whether c injects nothing at all.
func (c Config) Zero() bool {
	return c.Latency == 0 && c.Jitter == 0 && c.FaultRate == 0 && c.ThrottleBudget == 0
}

// statuses returns the statuses a fault is drawn from.
func (c Config) statuses() []int {
	if len(c.FaultStatuses) == 0 {
		return defaultFaultStatuses
	}
	return c.FaultStatuses
}

func (c Config) window() time.Duration {
	if c.ThrottleWindow == 0 {
		return DefaultThrottleWindow
	}
	return c.ThrottleWindow
}

func (c Config) retryAfter() time.Duration {
	if c.RetryAfter == 0 {
		return DefaultRetryAfter
	}
	return c.RetryAfter
}

// applies reports whether service is injected into; "graph/batch" counts as "graph".
func (c Config) applies(service string) bool {
	family, _, _ := strings.Cut(service, "/")
	return len(c.Services) == 0 || slices.Contains(c.Services, family)
}

// clone returns c with its slices copied, so a caller's later edits do not reach the Controller.
func (c Config) clone() Config {
	c.FaultStatuses = slices.Clone(c.FaultStatuses)
	c.Services = slices.Clone(c.Services)
	return c
}

// configJSON is the control API's form of Config: durations as Go duration strings ("20ms").
type configJSON struct {
	Latency        string   `json:"latency"`
	Jitter         string   `json:"jitter"`
	FaultRate      float64  `json:"fault_rate"`
	FaultStatuses  []int    `json:"fault_statuses"`
	Seed           uint64   `json:"seed"`
	ThrottleBudget int      `json:"throttle_budget"`
	ThrottleWindow string   `json:"throttle_window"`
	RetryAfter     string   `json:"retry_after"`
	Services       []string `json:"services"`
}

// MarshalJSON writes durations as Go duration strings.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{
		Latency: c.Latency.String(), Jitter: c.Jitter.String(), FaultRate: c.FaultRate,
		FaultStatuses: nonNil(c.FaultStatuses), Seed: c.Seed, ThrottleBudget: c.ThrottleBudget,
		ThrottleWindow: c.ThrottleWindow.String(), RetryAfter: c.RetryAfter.String(), Services: nonNil(c.Services),
	})
}

// UnmarshalJSON overlays the members present in data on c, so a PUT may send only what it
// changes. Unknown members are errors (a typo must not be silently ignored).
func (c *Config) UnmarshalJSON(data []byte) error {
	j := configJSON{
		Latency: c.Latency.String(), Jitter: c.Jitter.String(), FaultRate: c.FaultRate,
		FaultStatuses: c.FaultStatuses, Seed: c.Seed, ThrottleBudget: c.ThrottleBudget,
		ThrottleWindow: c.ThrottleWindow.String(), RetryAfter: c.RetryAfter.String(), Services: c.Services,
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	var out Config
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{
		{"latency", j.Latency, &out.Latency},
		{"jitter", j.Jitter, &out.Jitter},
		{"throttle_window", j.ThrottleWindow, &out.ThrottleWindow},
		{"retry_after", j.RetryAfter, &out.RetryAfter},
	} {
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return fmt.Errorf("%s: %q is not a duration such as 20ms or 10s", d.name, d.in)
		}
		*d.out = v
	}
	out.FaultRate, out.FaultStatuses, out.Seed = j.FaultRate, j.FaultStatuses, j.Seed
	out.ThrottleBudget, out.Services = j.ThrottleBudget, j.Services
	*c = out
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
