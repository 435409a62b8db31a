package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/sandboxtest"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/offboard"
)

// TestE2EOffboardSurvivesKill9 kills a real 'msidm serve' with SIGKILL in the middle of
// offboard_everywhere and continues the run with a new process on the same state directory:
// the emulators ('msidm sandbox', a process of its own) outlive both, and their request
// counters (GET /calls on the control API) prove that across the kill and the continuation
// every mutating endpoint was hit exactly once per planned step.
func TestE2EOffboardSurvivesKill9(t *testing.T) {
	bin := binary(t)
	started := time.Now()
	sb := sandboxtest.Start(t, "--control", "--latency", "150ms")
	env := append(cleanEnv(), "MSIDM_STATE_DIR="+t.TempDir())
	env = append(env, sb.Lines...)

	const person, ticket = "diego.siciliani@contoso.example", "HR-KILL-9"
	args := map[string]any{"people": []any{person}, "reason": ticket, "entra": "disable_and_delete",
		"revoke_sessions": true, "remove_groups": true, "remove_licenses": true, "ads": "deactivate",
		"set_leave_date": "2026-03-31"}
	runID := offboard.RunID(person, ticket)
	base := calls(t, sb)

	// First process: the call runs until the first PATCH (block sign-in) reached Graph, then
	// the process is killed without a chance to write anything more.
	c1, cmd1 := startKillableServe(t, bin, env, &typist{answer: person})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type callResult struct {
		res *mcp.CallToolResult
		err error
	}
	first := make(chan callResult, 1)
	go func() {
		res, err := c1.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "offboard_everywhere", Arguments: args}})
		first <- callResult{res, err}
	}()
	deadline := time.Now().Add(time.Minute)
	for calls(t, sb).graph["PATCH /users/{id}"] == base.graph["PATCH /users/{id}"] {
		select {
		case r := <-first:
			t.Fatalf("offboard_everywhere ended before any PATCH: %v %s", r.err, resultText(r.res))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no PATCH reached Graph within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	atKill := minusCounts(calls(t, sb).mutations(), base.mutations())
	select {
	case r := <-first:
		if r.err == nil && !r.res.IsError {
			t.Fatalf("the killed call reported success: %s", resultText(r.res))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the call to the killed process did not return")
	}
	_ = cmd1.Wait()
	if cmd1.ProcessState == nil || cmd1.ProcessState.Success() {
		t.Fatalf("the first serve was not killed: %v", cmd1.ProcessState)
	}
	_ = c1.Close()

	// Second process, same state directory and configuration (the stored refresh token, rotated
	// by the first process, wins over the bootstrap one in the environment).
	c2, _ := startKillableServe(t, bin, env, &typist{answer: person})
	_, st := callTool(t, c2, "offboard_status", map[string]any{"run_id": runID})
	var after []string
	for _, p := range list(st, "people") {
		for _, s := range list(p, "steps") {
			after = append(after, fmt.Sprintf("%s=%s", s["key"], s["status"]))
		}
	}
	if st["status"] == "done" || len(after) == 0 {
		t.Fatalf("the journal after the kill: %v %v", st["status"], after)
	}
	t.Logf("killed after %v; requests before the kill %v; journal: %s", time.Since(started).Round(time.Millisecond), atKill, strings.Join(after, " "))

	res, out := callToolWithin(t, c2, "offboard_everywhere", args, 2*time.Minute)
	if res.IsError || out["status"] != "done" {
		t.Fatalf("continuation: %s", resultText(res))
	}
	people := list(out, "people")
	if len(people) != 1 || people[0]["run_id"] != runID || people[0]["status"] != "done" {
		t.Fatalf("continuation: %v", out["people"])
	}
	p := people[0]
	checks := list(p, "verification")
	if len(checks) == 0 {
		t.Fatal("no verification")
	}
	for _, c := range checks {
		if c["result"] != "PASS" {
			t.Errorf("verification %s %s: %s (%s)", c["check"], c["target"], c["result"], c["detail"])
		}
	}
	// One request per planned step that has something to change; skipped memberships none.
	want := map[string]int{}
	for _, s := range list(p, "steps") {
		key := fmt.Sprint(s["key"])
		switch {
		case s["status"] == "skipped":
			continue
		case s["status"] != "done":
			t.Errorf("step %s: %s (%s)", key, s["status"], s["detail"])
		case key == "entra/block" || key == "entra/leave_date":
			want["graph PATCH /users/{id}"]++
		case key == "entra/revoke":
			want["graph POST /users/{id}/revokeSignInSessions"]++
		case key == "entra/licenses":
			want["graph POST /users/{id}/assignLicense"]++
		case strings.HasPrefix(key, "entra/group/"):
			want["graph DELETE /groups/{id}/members/{memberId}/$ref"]++
		case key == "entra/delete":
			want["graph DELETE /users/{id}"]++
		case strings.HasSuffix(key, "/deactivate"):
			want["ads DeleteUser"]++
		default:
			t.Errorf("unexpected step %s", key)
		}
	}
	if want["graph PATCH /users/{id}"] != 2 || want["graph DELETE /users/{id}"] != 1 || want["ads DeleteUser"] == 0 ||
		want["graph DELETE /groups/{id}/members/{memberId}/$ref"] == 0 {
		t.Fatalf("the plan lacks steps: %v", want)
	}
	got := minusCounts(calls(t, sb).mutations(), base.mutations())
	if !maps.Equal(got, want) {
		t.Errorf("mutating requests across the kill and the continuation %v, want one per step %v (before the kill: %v)", got, want, atKill)
	}
	t.Logf("total %v; mutations %v", time.Since(started).Round(time.Millisecond), got)
}

// callCounts is GET /calls of the control API.
type callCounts struct {
	graph map[string]int
	ads   map[string]int
}

func calls(t *testing.T, sp *sandboxtest.Process) callCounts {
	t.Helper()
	resp, err := http.Get(sp.Control + "/calls")
	if err != nil {
		t.Fatalf("GET /calls: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Graph map[string]int `json:"graph"`
		Ads   map[string]int `json:"ads"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /calls: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET /calls: %v", err)
	}
	return callCounts{graph: body.Graph, ads: body.Ads}
}

// adsWrites are the Customer Management operations that change something.
var adsWrites = []string{"DeleteUser", "UpdateUser", "UpdateUserRoles", "SendUserInvitation"}

// mutations are the counters of every endpoint that changes state: every Graph method but
// GET (a $batch is only the envelope; its items count under their own endpoints) and the
// Customer Management writes.
func (c callCounts) mutations() map[string]int {
	out := map[string]int{}
	for k, n := range c.graph {
		if !strings.HasPrefix(k, "GET ") && k != "POST /$batch" {
			out["graph "+k] = n
		}
	}
	for _, op := range adsWrites {
		if n := c.ads[op]; n != 0 {
			out["ads "+op] = n
		}
	}
	return out
}

// minusCounts is m - before, without the endpoints that did not change.
func minusCounts(m, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// startKillableServe runs 'msidm serve' (configured by env only) over stdio with an
// elicitation handler, and returns the client and the process, so a test can kill it.
func startKillableServe(t *testing.T, bin string, env []string, human client.ElicitationHandler) (*client.Client, *exec.Cmd) {
	t.Helper()
	var mu sync.Mutex
	var cmd *exec.Cmd
	tr := transport.NewStdioWithOptions(bin, env, []string{"serve"}, transport.WithCommandFunc(
		func(ctx context.Context, command string, env []string, args []string) (*exec.Cmd, error) {
			c := exec.CommandContext(ctx, command, args...)
			c.Env = env
			mu.Lock()
			cmd = c
			mu.Unlock()
			return c, nil
		}))
	c := client.NewClient(tr, client.WithElicitationHandler(human))
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c)
	mu.Lock()
	defer mu.Unlock()
	return c, cmd
}

func callToolWithin(t *testing.T, c *client.Client, name string, args map[string]any, d time.Duration) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	if len(res.RawStructuredContent) > 0 {
		raw = res.RawStructuredContent
	}
	_ = json.Unmarshal(raw, &out)
	return res, out
}

// list is the objects of m[key].
func list(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	xs, _ := m[key].([]any)
	for _, x := range xs {
		if o, ok := x.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}
