package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/sandbox/chaos"
	"github.com/msidm/msidm/sandbox/demo"
)

// runSandbox runs the emulators alone until interrupted, so any client (msidm serve, the
// Microsoft Graph SDK, a script) can be pointed at them as if they were a real tenant.
// With --print-env, stdout carries exactly the MSIDM_* NAME=value lines; everything else
// (including the control API's URL) is logged on stderr.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox")
	printEnv := fs.Bool("print-env", false, "print the MSIDM_* NAME=value lines that point 'msidm serve' at this sandbox, then keep serving")
	entraUsers := fs.Int("entra-users", 0, "generate a synthetic tenant with `N` Entra users instead of the demo tenant")
	fs.IntVar(entraUsers, "users", 0, "alias of --entra-users")
	adsUsers := fs.Int("ads-users", 0, "with --entra-users: how many of them also hold a Microsoft Advertising role")
	logFormat := fs.String("log-format", orDefault(os.Getenv("MSIDM_LOG_FORMAT"), "text"), "log format on stderr: text or json")
	logLevel := fs.String("log-level", orDefault(os.Getenv("MSIDM_LOG_LEVEL"), "info"), "log level: debug, info, warn, error")
	opts, err := chaosFlags(fs, os.LookupEnv)
	if err != nil {
		return err
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *entraUsers < 0 || *adsUsers < 0 {
		return &usageError{"--entra-users and --ads-users must be zero or positive"}
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel, nil)
	if err != nil {
		return err
	}
	opts.Logger = logger
	if *entraUsers > 0 {
		opts.Tenant = demo.Large(*entraUsers, *adsUsers, opts.Chaos.Seed)
	}
	sb, err := sandbox.Start(ctx, *opts)
	if err != nil {
		return err
	}
	defer sb.Close()
	if *printEnv {
		for _, line := range sb.Env() {
			fmt.Fprintln(stdout, line)
		}
	}
	c := opts.Chaos
	logger.Info("sandbox serving; press Ctrl-C to stop", "tenant", sb.Tenant.Domain, "entra_users", len(sb.Tenant.People),
		"ads_users", len(sb.Tenant.Ads.Users), "graph", sb.GraphURL, "ads", sb.AdsURL, "identity", sb.AuthorityURL,
		"latency", c.Latency, "jitter", c.Jitter, "fault_rate", c.FaultRate, "throttle_budget", c.ThrottleBudget,
		"throttle_window", c.ThrottleWindow, "token_lifetime", opts.TokenLifetime, "seed", c.Seed)
	if sb.ControlURL != "" {
		logger.Info("control API listening (GET/PUT /config, GET /stats, POST /reset, POST /clock/advance?d=, "+
			"POST /ads/invitations/{id}/accept, GET /calls)", "control", sb.ControlURL)
	}
	<-ctx.Done()
	return nil
}

// chaosFlags defines the fault-injection, throttling and clock flags of 'msidm sandbox' on fs,
// with defaults from their MSIDM_SANDBOX_* variables (read through lookup), and returns the
// options they fill in when fs is parsed. A bad variable is an error naming it; a bad flag
// fails fs.Parse with a line naming the flag.
func chaosFlags(fs *flag.FlagSet, lookup func(string) (string, bool)) (*sandbox.Options, error) {
	opts := &sandbox.Options{
		TokenLifetime: time.Hour,
		Chaos: chaos.Config{
			ThrottleBudget: chaos.DefaultThrottleBudget,
			ThrottleWindow: chaos.DefaultThrottleWindow,
			RetryAfter:     chaos.DefaultRetryAfter,
			Seed:           1,
		},
	}
	c := &opts.Chaos
	settings := []struct {
		name, env, usage string
		value            flag.Value
	}{
		{"latency", "MSIDM_SANDBOX_LATENCY", "add `DURATION` of latency to every request, e.g. 20ms", durationValue{&c.Latency, false}},
		{"jitter", "MSIDM_SANDBOX_JITTER", "vary each request's latency uniformly by up to ± `DURATION`, e.g. 5ms", durationValue{&c.Jitter, false}},
		{"fault-rate", "MSIDM_SANDBOX_FAULT_RATE", "answer this `SHARE` of requests (0–1) with an injected fault, e.g. 0.2", rateValue{&c.FaultRate}},
		{"fault-statuses", "MSIDM_SANDBOX_FAULT_STATUSES",
			"comma-separated `STATUSES` injected faults are drawn from, of " + joinInts(chaos.FaultableStatuses) + "; empty: 429,503",
			statusesValue{&c.FaultStatuses}},
		{"throttle-budget", "MSIDM_SANDBOX_THROTTLE_BUDGET",
			"`UNITS` each client may spend per --throttle-window before 429 (Graph: resource units per app+tenant, " +
				"the documented limit of a medium tenant; Ads: calls per developer token+customer); 0 turns throttling off",
			countValue{&c.ThrottleBudget}},
		{"throttle-window", "MSIDM_SANDBOX_THROTTLE_WINDOW", "the `DURATION` over which the throttle budget refills", durationValue{&c.ThrottleWindow, true}},
		{"retry-after", "MSIDM_SANDBOX_RETRY_AFTER", "the Retry-After `DURATION` announced with injected 429 and 503 faults", durationValue{&c.RetryAfter, true}},
		{"seed", "MSIDM_SANDBOX_SEED", "`SEED` of the synthetic tenant generator and of every fault-injection draw", seedValue{&c.Seed}},
		{"token-lifetime", "MSIDM_SANDBOX_TOKEN_LIFETIME", "`DURATION` of the access tokens the identity platform issues", durationValue{&opts.TokenLifetime, true}},
		{"control-addr", "MSIDM_SANDBOX_CONTROL_ADDR", "loopback `HOST:PORT` of the control API (implies --control); default 127.0.0.1 on a free port",
			controlAddrValue{opts}},
		{"control", "MSIDM_SANDBOX_CONTROL", "start the control API on loopback and log its URL on stderr", controlValue{&opts.Control}},
		{"ads-fault-status", "MSIDM_SANDBOX_ADS_FAULT_STATUS", "HTTP `STATUS` of Customer Management faults: 500 (documented) or 200 (also seen live)",
			faultStatusValue{&opts.AdsFaultStatus}},
	}
	for _, s := range settings {
		if v, ok := lookup(s.env); ok && v != "" {
			if err := s.value.Set(v); err != nil {
				return nil, fmt.Errorf("%s=%q: %v", s.env, v, err)
			}
		}
		fs.Var(s.value, s.name, s.usage+" (env "+s.env+")")
	}
	return opts, nil
}

// durationValue is a duration flag that must not be negative (positive when nonZero).
type durationValue struct {
	p       *time.Duration
	nonZero bool
}

func (v durationValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return errors.New("must be a duration such as 20ms or 10s")
	case v.nonZero && d <= 0:
		return errors.New("must be positive")
	case d < 0:
		return errors.New("must not be negative")
	}
	*v.p = d
	return nil
}

type rateValue struct{ p *float64 }

func (v rateValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v rateValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 || f != f {
		return errors.New("must be a share between 0 and 1, such as 0.2")
	}
	*v.p = f
	return nil
}

type statusesValue struct{ p *[]int }

func (v statusesValue) String() string {
	if v.p == nil {
		return ""
	}
	return joinInts(*v.p)
}

func (v statusesValue) Set(s string) error {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || !slices.Contains(chaos.FaultableStatuses, n) {
			return fmt.Errorf("%q is not one of %s", f, joinInts(chaos.FaultableStatuses))
		}
		out = append(out, n)
	}
	*v.p = out
	return nil
}

type countValue struct{ p *int }

func (v countValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v countValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New("must be a whole number, zero or more")
	}
	*v.p = n
	return nil
}

type seedValue struct{ p *uint64 }

func (v seedValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatUint(*v.p, 10)
}

func (v seedValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return errors.New("must be a whole number, zero or more")
	}
	*v.p = n
	return nil
}

type controlValue struct{ p *bool }

func (v controlValue) IsBoolFlag() bool { return true }

func (v controlValue) String() string {
	if v.p == nil {
		return "false"
	}
	return strconv.FormatBool(*v.p)
}

func (v controlValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true or false")
	}
	*v.p = b
	return nil
}

// controlAddrValue sets the control API's address and turns it on. It must be loopback
// (sandbox.Start checks again).
type controlAddrValue struct{ opts *sandbox.Options }

func (v controlAddrValue) String() string {
	if v.opts == nil {
		return ""
	}
	return v.opts.ControlAddr
}

func (v controlAddrValue) Set(s string) error {
	host, _, err := net.SplitHostPort(s)
	if ip := net.ParseIP(host); err != nil || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("must be a loopback host:port such as 127.0.0.1:7070; the control API must not leave this machine")
	}
	v.opts.ControlAddr, v.opts.Control = s, true
	return nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// faultStatusValue is the HTTP status of Customer Management SOAP faults: 500 or 200.
type faultStatusValue struct{ p *int }

func (v faultStatusValue) String() string {
	if v.p == nil || *v.p == 0 {
		return "500"
	}
	return strconv.Itoa(*v.p)
}

func (v faultStatusValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || (n != 200 && n != 500) {
		return fmt.Errorf("must be 500 or 200")
	}
	*v.p = n
	return nil
}
