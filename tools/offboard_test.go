package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/auth"
	"github.com/msidm/msidm/clients/transport"
	"github.com/msidm/msidm/offboard"
	"github.com/msidm/msidm/sandbox/chaos"
)

// offboardEnv is the tools harness with a durable journal in a temporary state directory and
// an approving human.
func offboardEnv(t *testing.T) (*env, *offboard.Journal) {
	t.Helper()
	e := newEnv(t, envOptions{confirmer: approveAll{}})
	j, err := offboard.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	e.deps.Journal = j
	return e, j
}

// mutations counts the requests that reached each mutating endpoint of the emulators;
// injected faults never reach them, so a step done exactly once counts one.
type mutations map[string]int

func (e *env) mutations() mutations {
	m := mutations{}
	for _, w := range [][2]string{{"PATCH", "/users/{id}"}, {"POST", "/users/{id}/revokeSignInSessions"},
		{"POST", "/users/{id}/assignLicense"}, {"DELETE", "/groups/{id}/members/{memberId}/$ref"}, {"DELETE", "/users/{id}"}} {
		m[w[0]+" "+w[1]] = e.sb.Graph.Calls(w[0], w[1])
	}
	for _, op := range []string{"DeleteUser", "UpdateUserRoles", "UpdateUser"} {
		m["ads "+op] = e.sb.Ads.Calls(op)
	}
	return m
}

func (m mutations) minus(before mutations) mutations {
	out := mutations{}
	for k, v := range m {
		if v-before[k] != 0 {
			out[k] = v - before[k]
		}
	}
	return out
}

func (m mutations) String() string { return fmt.Sprintf("%v", map[string]int(m)) }

// person is the single person of an offboarding result.
func person(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	people, _ := out["people"].([]any)
	if len(people) != 1 {
		t.Fatalf("want one person, got %v", out)
	}
	return people[0].(map[string]any)
}

func list(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, x := range m[key].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// expected is what each mutating endpoint must count for a run: one per step of its kind.
func expected(p map[string]any) mutations {
	m := mutations{}
	for _, s := range list(p, "steps") {
		if s["status"] != "done" || strings.HasPrefix(fmt.Sprint(s["detail"]), "already") || s["detail"] == "no licences assigned" || s["detail"] == "not a member any more" {
			continue
		}
		key := fmt.Sprint(s["key"])
		switch {
		case key == "entra/block" || key == "entra/leave_date":
			m["PATCH /users/{id}"]++
		case key == "entra/revoke":
			m["POST /users/{id}/revokeSignInSessions"]++
		case key == "entra/licenses":
			m["POST /users/{id}/assignLicense"]++
		case strings.HasPrefix(key, "entra/group/"):
			m["DELETE /groups/{id}/members/{memberId}/$ref"]++
		case key == "entra/delete":
			m["DELETE /users/{id}"]++
		case strings.HasSuffix(key, "/deactivate"):
			m["ads DeleteUser"]++
		}
	}
	return m
}

func assertAllPass(t *testing.T, p map[string]any) {
	t.Helper()
	checks := list(p, "verification")
	if len(checks) == 0 {
		t.Fatal("no verification checks")
	}
	for _, c := range checks {
		if c["result"] != "PASS" {
			t.Errorf("verification %s %s: %s (%s)", c["check"], c["target"], c["result"], c["detail"])
		}
	}
}

const diego = "diego.siciliani@contoso.example"

func TestOffboardEndToEndAndIdempotentRerun(t *testing.T) {
	e, _ := offboardEnv(t)
	args := map[string]any{"people": []any{diego}, "reason": "HR-1001", "set_leave_date": "2026-01-31"}
	before := e.mutations()
	out := e.ok("offboard_everywhere", args)
	p := person(t, out)
	if out["status"] != "done" || p["status"] != "done" {
		t.Fatalf("status %v / %v: %v", out["status"], p["status"], out)
	}
	assertAllPass(t, p)
	kinds := map[string]int{}
	for _, s := range list(p, "steps") {
		kinds[strings.SplitN(fmt.Sprint(s["key"]), "/", 3)[0]+"/"+strings.SplitN(fmt.Sprint(s["key"]), "/", 3)[1]]++
	}
	t.Logf("steps %v, verification %d checks", kinds, len(list(p, "verification")))
	if kinds["entra/block"] != 1 || kinds["entra/revoke"] != 1 || kinds["entra/group"] == 0 {
		t.Errorf("plan lacks Entra steps: %v", kinds)
	}
	adsSteps := 0
	for k, n := range kinds {
		if strings.HasPrefix(k, "ads/") {
			adsSteps += n
		}
	}
	if adsSteps == 0 {
		t.Errorf("no Ads user matched %s: %v", diego, kinds)
	}
	got := e.mutations().minus(before)
	if want := expected(p); got.String() != want.String() {
		t.Errorf("mutating requests %v, want one per step %v", got, want)
	}
	// Re-running the same person and ticket continues the same (finished) run: nothing is
	// sent again, the state is verified again.
	before = e.mutations()
	again := e.ok("offboard_everywhere", args)
	pa := person(t, again)
	if pa["run_id"] != p["run_id"] {
		t.Errorf("re-run started run %v, want %v", pa["run_id"], p["run_id"])
	}
	if d := e.mutations().minus(before); len(d) != 0 {
		t.Errorf("re-run repeated steps: %v", d)
	}
	assertAllPass(t, pa)
	st := e.ok("offboard_status", map[string]any{"run_id": p["run_id"]})
	if st["status"] != "done" {
		t.Errorf("offboard_status %v", st)
	}
}

func TestOffboardDryRunTouchesNothing(t *testing.T) {
	e, j := offboardEnv(t)
	before := e.mutations()
	out := e.ok("offboard_everywhere", map[string]any{"people": []any{diego}, "reason": "HR-1002", "dry_run": true, "entra": "disable_and_delete"})
	if out["status"] != "dry_run" || len(list(person(t, out), "steps")) < 3 {
		t.Fatalf("dry run: %v", out)
	}
	if d := e.mutations().minus(before); len(d) != 0 {
		t.Fatalf("a dry run sent %v", d)
	}
	if _, err := j.Get(context.Background(), offboard.RunID(diego, "HR-1002")); !errors.Is(err, offboard.ErrNoRun) {
		t.Fatalf("a dry run wrote the journal: %v", err)
	}
}

func TestOffboardProtectedPrincipalRefused(t *testing.T) {
	e, _ := offboardEnv(t)
	before := e.mutations()
	e.fails("offboard_everywhere", map[string]any{"people": []any{"breakglass1@contoso.example"}, "reason": "HR-1003"}, "protected")
	if d := e.mutations().minus(before); len(d) != 0 {
		t.Fatalf("a refused call sent %v", d)
	}
}

// TestOffboardPartialFailureThenResume breaks Customer Management after sign-in is blocked:
// the Entra steps still finish, the call says partial, and offboard_resume finishes the Ads
// steps without repeating an Entra one.
func TestOffboardPartialFailureThenResume(t *testing.T) {
	e, j := offboardEnv(t)
	j.Hook = func(_, key, status string) error {
		if key == "entra/block" && status == offboard.StatusDone {
			_ = e.sb.Chaos.SetConfig(chaos.Config{FaultRate: 1, FaultStatuses: []int{503}, Services: []string{chaos.ServiceAds}})
		}
		return nil
	}
	before := e.mutations()
	res, out := e.call("offboard_everywhere", map[string]any{"people": []any{diego}, "reason": "HR-1004"})
	p := person(t, out)
	if !res.IsError || out["status"] != "partial" {
		t.Fatalf("want an isError partial result, got %v: %s", out["status"], text(res))
	}
	for _, s := range list(p, "steps") {
		failed := s["status"] == "failed"
		if strings.HasPrefix(fmt.Sprint(s["key"]), "ads/") != failed {
			t.Errorf("step %s: %s (%s)", s["key"], s["status"], s["detail"])
		}
	}
	entraDone := e.mutations().minus(before)
	_ = e.sb.Chaos.SetConfig(chaos.Config{})
	j.Hook = nil
	st := e.ok("offboard_status", map[string]any{"run_id": p["run_id"]})
	if st["status"] != "unfinished" {
		t.Errorf("offboard_status: %v", st["status"])
	}
	out = e.ok("offboard_resume", map[string]any{"run_id": p["run_id"]})
	p2 := person(t, out)
	assertAllPass(t, p2)
	got := e.mutations().minus(before)
	for k, v := range entraDone {
		if got[k] != v {
			t.Errorf("%s: %d before resume, %d after: a done step was repeated", k, v, got[k])
		}
	}
	if want := expected(p2); got.String() != want.String() {
		t.Errorf("mutating requests %v, want %v", got, want)
	}
}

// TestOffboardCrashResume stops the engine as a crash would, right after it journaled
// "running" for the revocation and before it acted; offboard_resume then finishes the run
// without repeating the block, and re-running offboard_everywhere changes nothing more.
func TestOffboardCrashResume(t *testing.T) {
	e, j := offboardEnv(t)
	crash := errors.New("simulated crash")
	j.Hook = func(_, key, status string) error {
		if key == "entra/revoke" && status == offboard.StatusRunning {
			return crash
		}
		return nil
	}
	before := e.mutations()
	args := map[string]any{"people": []any{diego}, "reason": "HR-1005", "entra": "disable_and_delete"}
	res, out := e.call("offboard_everywhere", args)
	if !res.IsError {
		t.Fatalf("a crashed run reported success: %s", text(res))
	}
	runID := offboard.RunID(diego, "HR-1005")
	if got := e.mutations().minus(before); got.String() != (mutations{"PATCH /users/{id}": 1}).String() {
		t.Fatalf("before the crash: %v, want only the block", got)
	}
	r, err := j.Get(context.Background(), runID)
	if err != nil {
		t.Fatalf("%v: %s", err, text(res))
	}
	states := map[string]string{}
	for _, s := range r.Steps {
		states[s.Key] = s.Status
	}
	if states["entra/block"] != "done" || states["entra/revoke"] != "running" {
		t.Fatalf("journal after the crash: %v", states)
	}
	_ = out
	j.Hook = nil
	out = e.ok("offboard_resume", map[string]any{"run_id": runID})
	p := person(t, out)
	assertAllPass(t, p)
	got := e.mutations().minus(before)
	if want := expected(p); got.String() != want.String() {
		t.Errorf("mutating requests %v, want one per step %v", got, want)
	}
	if got["PATCH /users/{id}"] != 1 || got["DELETE /users/{id}"] != 1 {
		t.Errorf("block or delete repeated: %v", got)
	}
	events, _ := j.Events(context.Background(), runID)
	t.Logf("%d journal events; %d steps; mutations %v", len(events), len(p["steps"].([]any)), got)
	// The same call again continues the finished run: nothing more is sent.
	mid := e.mutations()
	again := e.ok("offboard_everywhere", args)
	if d := e.mutations().minus(mid); len(d) != 0 || person(t, again)["run_id"] != runID {
		t.Errorf("re-run after resume sent %v (run %v)", d, person(t, again)["run_id"])
	}
}

// fastAds is a Customer Management client over the sandbox whose wait after CallRateExceeded
// (117) is 10 ms instead of the documented 60 s, so throttling tests finish quickly.
func fastAds(t *testing.T, e *env) ads.Service {
	t.Helper()
	pool := http.DefaultTransport.(*http.Transport).Clone()
	base := transport.New(pool, transport.Options{BaseDelay: 10 * time.Millisecond})
	plain := &http.Client{Transport: base, Timeout: 30 * time.Second}
	src := auth.AdsTokenSource(plain, auth.DelegatedCredentials{AuthorityURL: e.sb.AuthorityURL, TenantID: e.sb.TenantID,
		ClientID: e.sb.ClientID, ClientSecret: e.sb.ClientSecret, RefreshToken: e.sb.AdsRefreshToken, Scope: auth.AdsScope}, nil)
	c, err := ads.New(ads.Config{Root: e.sb.AdsURL, HTTPClient: plain, Tokens: src, DeveloperToken: e.sb.AdsDeveloperToken,
		Options: ads.Options{RateLimitWait: 10 * time.Millisecond, RateLimitRetries: 5, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOffboardUnderChaos injects 20% 429/503 into Graph and Customer Management: every step
// still finishes exactly once (each mutating endpoint counts one request per step).
func TestOffboardUnderChaos(t *testing.T) {
	e, j := offboardEnv(t)
	e.deps.Ads = fastAds(t, e)
	var running atomic.Int64
	j.Hook = func(_, _, status string) error {
		if status == offboard.StatusRunning {
			running.Add(1)
		}
		return nil
	}
	if err := e.sb.Chaos.SetConfig(chaos.Config{FaultRate: 0.2, FaultStatuses: []int{429, 503}, Seed: 7,
		RetryAfter: 10 * time.Millisecond, Services: []string{chaos.ServiceGraph, chaos.ServiceAds}}); err != nil {
		t.Fatal(err)
	}
	before := e.mutations()
	out := e.ok("offboard_everywhere", map[string]any{"people": []any{diego}, "reason": "HR-1006", "set_leave_date": "2026-02-28"})
	st := e.sb.Chaos.Stats()
	_ = e.sb.Chaos.SetConfig(chaos.Config{})
	p := person(t, out)
	assertAllPass(t, p)
	got := e.mutations().minus(before)
	if want := expected(p); got.String() != want.String() {
		t.Errorf("mutating requests %v, want exactly one per step %v", got, want)
	}
	t.Logf("chaos stats %+v; %d step attempts for %d steps; mutations %v", st, running.Load(), len(p["steps"].([]any)), got)
}
