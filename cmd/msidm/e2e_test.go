package main

// End-to-end tests: build the real binary, run it as a subprocess with --sandbox, and drive
// it through mcp-go's client over stdio and over streamable HTTP, in both protocol eras.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/sandbox/sandboxtest"
)

// binary is the built cmd/msidm; end-to-end tests are skipped with -short.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test builds the binary; skipped with -short")
	}
	return sandboxtest.Binary(t)
}

// cleanEnv is the test process environment without MSIDM_* settings.
func cleanEnv() []string { return sandboxtest.CleanEnv() }

// testEnv is cleanEnv plus a private state directory for the audit log and tokens.
func testEnv(t *testing.T) []string {
	return append(cleanEnv(), "MSIDM_STATE_DIR="+t.TempDir())
}

func startStdio(t *testing.T, legacy bool, args ...string) *client.Client {
	t.Helper()
	return startStdioWith(t, testEnv(t), legacy, nil, args...)
}

// startStdioWith runs 'msidm serve --sandbox args…' with env and an optional elicitation
// handler (the human at the host), and initializes a session.
func startStdioWith(t *testing.T, env []string, legacy bool, human client.ElicitationHandler, args ...string) *client.Client {
	t.Helper()
	return startCommand(t, env, legacy, human, append([]string{"serve", "--sandbox"}, args...)...)
}

// startServe runs 'msidm serve' (no sandbox) with env naming the endpoints and credentials.
func startServe(t *testing.T, env []string) *client.Client {
	t.Helper()
	return startCommand(t, env, false, nil, "serve")
}

func startCommand(t *testing.T, env []string, legacy bool, human client.ElicitationHandler, args ...string) *client.Client {
	t.Helper()
	tr := transport.NewStdio(binary(t), env, args...)
	var opts []client.ClientOption
	if human != nil {
		opts = append(opts, client.WithElicitationHandler(human))
	}
	if legacy {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	c := client.NewClient(tr, opts...)
	// The stdio transport ties the subprocess to the Start context: it must outlive the test.
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c)
	return c
}

func initialize(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "msidm-e2e", Version: "1"},
	}})
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res.ServerInfo.Name != "msidm" {
		t.Fatalf("server name %q", res.ServerInfo.Name)
	}
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var structured map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	if len(res.RawStructuredContent) > 0 {
		raw = res.RawStructuredContent
	}
	_ = json.Unmarshal(raw, &structured)
	return res, structured
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// exerciseBothTools checks real sandbox data through both tools.
func exerciseBothTools(t *testing.T, c *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]mcp.Tool{}
	for _, tool := range list.Tools {
		names[tool.Name] = tool
	}
	for _, want := range []string{"list_ads_users", "list_entra_users"} {
		tool, ok := names[want]
		if !ok {
			t.Fatalf("tools/list lacks %s", want)
		}
		if tool.Annotations.ReadOnlyHint == nil || !*tool.Annotations.ReadOnlyHint {
			t.Errorf("%s is not marked read-only", want)
		}
	}

	// Entra: page through the whole demo tenant with small pages; every user exactly once.
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		args := map[string]any{"limit": 7}
		if cursor != "" {
			args["cursor"] = cursor
		}
		res, out := callTool(t, c, "list_entra_users", args)
		if res.IsError {
			t.Fatalf("list_entra_users: %s", resultText(res))
		}
		for _, u := range out["users"].([]any) {
			upn := u.(map[string]any)["upn"].(string)
			if seen[upn] {
				t.Fatalf("%s returned twice", upn)
			}
			seen[upn] = true
		}
		next, _ := out["next_cursor"].(string)
		if next == "" {
			break
		}
		if page > 50 {
			t.Fatal("paging does not end")
		}
		cursor = next
	}
	if !seen["megan.bowen@contoso.example"] || !seen["breakglass1@contoso.example"] || len(seen) < 50 {
		t.Fatalf("unexpected Entra users (%d): %v", len(seen), seen)
	}
	if seen["greta.holm@contoso.example"] {
		t.Error("a soft-deleted user is listed among users")
	}

	// Ads: full profiles carry roles per account; the Super Admin is customer-level.
	res, out := callTool(t, c, "list_ads_users", map[string]any{"full_profiles": true, "limit": 100})
	if res.IsError {
		t.Fatalf("list_ads_users: %s", resultText(res))
	}
	byName := map[string]map[string]any{}
	for _, u := range out["users"].([]any) {
		m := u.(map[string]any)
		byName[m["user_name"].(string)] = m
	}
	megan := byName["megan.bowen@contoso.example"]
	if megan == nil || megan["status"] != "Active" || !strings.Contains(fmt.Sprint(megan["roles"]), "Super Admin") {
		t.Fatalf("megan: %v", megan)
	}
	if u := byName["old.intern@contoso.example"]; u == nil || u["status"] != "Inactive" {
		t.Errorf("inactive user: %v", u)
	}
	if !strings.Contains(resultText(res), "megan.bowen@contoso.example") {
		t.Errorf("text rendering lacks data: %s", resultText(res))
	}

	// Bad input is an isError result that names the field and the fix.
	res, _ = callTool(t, c, "list_ads_users", map[string]any{"status": "Gone"})
	if !res.IsError || !strings.Contains(resultText(res), "status") {
		t.Errorf("bad status: %v %s", res.IsError, resultText(res))
	}
	res, _ = callTool(t, c, "list_entra_users", map[string]any{"cursor": "not-a-cursor"})
	if !res.IsError || !strings.Contains(resultText(res), "cursor") {
		t.Errorf("bad cursor: %v %s", res.IsError, resultText(res))
	}
}

func TestE2EStdio(t *testing.T) {
	for _, era := range []struct {
		name   string
		legacy bool
	}{{"modern", false}, {"legacy", true}} {
		t.Run(era.name, func(t *testing.T) {
			exerciseBothTools(t, startStdio(t, era.legacy))
		})
	}
}

func TestE2EStdioReadOnlyOffersOnlyReads(t *testing.T) {
	c := startStdio(t, false, "--read-only", "--toolsets", "entra")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tool := range list.Tools {
		names[tool.Name] = true
		if tool.Annotations.ReadOnlyHint == nil || !*tool.Annotations.ReadOnlyHint {
			t.Errorf("read-only mode offers %s", tool.Name)
		}
		if !strings.Contains(tool.Name, "entra") && tool.Name != "list_groups" && tool.Name != "list_skus" {
			t.Errorf("--toolsets entra offers %s", tool.Name)
		}
	}
	if !names["list_entra_users"] || !names["get_entra_user"] || names["check_approval"] {
		t.Fatalf("tools: %v", names)
	}
}

// TestE2EStdoutIsProtocolOnly speaks raw JSON-RPC to the binary and checks that every line
// on stdout is a JSON-RPC message, while the logs went to stderr.
func TestE2EStdoutIsProtocolOnly(t *testing.T) {
	cmd := exec.Command(binary(t), "serve", "--sandbox", "--log-level", "debug")
	cmd.Env = testEnv(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	requests := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_ads_users","arguments":{"full_profiles":true,"limit":3}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_entra_users","arguments":{"limit":3}}}`,
	}
	for _, r := range requests {
		if _, err := io.WriteString(stdin, r+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	answered := map[float64]bool{}
	deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for len(answered) < 4 && sc.Scan() {
		var msg map[string]any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg["jsonrpc"] != "2.0" {
			t.Fatalf("stdout carries a non-protocol line: %q", sc.Text())
		}
		if id, ok := msg["id"].(float64); ok {
			answered[id] = true
		}
	}
	_ = stdin.Close()
	if len(answered) < 4 {
		t.Fatalf("answered %v; stderr:\n%s", answered, stderr.String())
	}
	for sc.Scan() {
		var msg map[string]any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("stdout carries a non-protocol line after EOF: %q", sc.Text())
		}
	}
	_ = cmd.Wait()
	if !strings.Contains(stderr.String(), "msidm ready") {
		t.Errorf("logs did not reach stderr:\n%s", stderr.String())
	}
}

// startHTTP runs 'msidm serve --sandbox --http 127.0.0.1:0' and returns the /mcp URL it logs.
func startHTTP(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--sandbox", "--http", "127.0.0.1:0", "--log-format", "json")
	cmd.Env = append(testEnv(t), env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	urlRE := regexp.MustCompile(`"url":"(http://[^"]+/mcp)"`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("msidm did not log its HTTP address")
	}
	return ""
}

func TestE2EHTTP(t *testing.T) {
	url := startHTTP(t)
	for _, era := range []struct {
		name   string
		legacy bool
	}{{"modern", false}, {"legacy", true}} {
		t.Run(era.name, func(t *testing.T) {
			tr, err := transport.NewStreamableHTTP(url)
			if err != nil {
				t.Fatal(err)
			}
			var opts []client.ClientOption
			if era.legacy {
				opts = append(opts, client.WithLegacyProtocolOnly())
			}
			c := client.NewClient(tr, opts...)
			if err := c.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			initialize(t, c)
			exerciseBothTools(t, c)
		})
	}
	t.Run("foreign origin is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
}

func TestE2EHTTPBearerToken(t *testing.T) {
	const tok = "e2e-bearer-token-0123456789"
	url := startHTTP(t, "MSIDM_HTTP_TOKEN="+tok)
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer " + tok, 200}} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(init))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("auth %q: status %d, want %d", tt.auth, resp.StatusCode, tt.want)
		}
	}
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tok}))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	initialize(t, c)
	res, _ := callTool(t, c, "list_entra_users", map[string]any{"limit": 2})
	if res.IsError {
		t.Fatal(resultText(res))
	}
}

// typist is the human at the MCP host: shown the plan, they type the identifier they read in
// it (or decline).
type typist struct {
	answer  string
	decline bool
	seen    []string
}

func (h *typist) Elicit(_ context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	h.seen = append(h.seen, r.Params.Message)
	if h.decline {
		return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}, nil
	}
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept,
		Content: map[string]any{"confirm_target": h.answer}}}, nil
}

// TestE2EDestructiveCallNeedsTheHuman drives a destructive tool through the real binary in both
// protocol eras: declined, wrong identifier and no elicitation change nothing; the typed
// identifier runs it; the audit log verifies afterwards.
func TestE2EDestructiveCallNeedsTheHuman(t *testing.T) {
	for _, era := range []struct {
		name   string
		legacy bool
	}{{"modern", false}, {"legacy", true}} {
		t.Run(era.name, func(t *testing.T) {
			state := t.TempDir()
			env := append(cleanEnv(), "MSIDM_STATE_DIR="+state)
			start := func(h *typist) *client.Client {
				if h == nil {
					return startStdioWith(t, env, era.legacy, nil)
				}
				return startStdioWith(t, env, era.legacy, h)
			}
			args := map[string]any{"user": "adele.vance@contoso.example"}

			// No elicitation: an approval link, nothing changed.
			c := start(nil)
			res, _ := callTool(t, c, "disable_entra_user", args)
			if !res.IsError || !strings.Contains(resultText(res), "APPROVAL REQUIRED") || !strings.Contains(resultText(res), "/approvals/") {
				t.Fatalf("without elicitation: %s", resultText(res))
			}
			// Declined and wrong identifier: refused.
			for _, h := range []*typist{{decline: true}, {answer: "yes"}} {
				c := start(h)
				res, _ := callTool(t, c, "disable_entra_user", args)
				if !res.IsError || !strings.Contains(resultText(res), "othing was changed") {
					t.Fatalf("%+v: %s", h, resultText(res))
				}
			}
			c = start(nil)
			if _, u := callTool(t, c, "get_entra_user", args); u["enabled"] != true {
				t.Fatalf("a refused call changed the user: %v", u)
			}
			// The human types the UPN shown in the plan: the call runs.
			h := &typist{answer: "adele.vance@contoso.example"}
			c = start(h)
			res, out := callTool(t, c, "disable_entra_user", args)
			if res.IsError || out["status"] != "done" {
				t.Fatalf("confirmed call: %s", resultText(res))
			}
			if len(h.seen) == 0 || !strings.Contains(h.seen[0], "adele.vance@contoso.example") {
				t.Errorf("the human was not shown the plan: %v", h.seen)
			}
			// The audit trail verifies and records the change.
			var stdout, stderr bytes.Buffer
			t.Setenv("MSIDM_STATE_DIR", filepath.Join(state, "sandbox"))
			if code := run(context.Background(), []string{"audit", "verify"}, nil, &stdout, &stderr); code != 0 {
				t.Fatalf("audit verify: %d %s %s", code, stdout.String(), stderr.String())
			}
			stdout.Reset()
			run(context.Background(), []string{"audit", "tail", "--json"}, nil, &stdout, &stderr)
			if !strings.Contains(stdout.String(), "disable_entra_user") || !strings.Contains(stdout.String(), "elicitation") {
				t.Errorf("audit tail lacks the confirmed call: %s", stdout.String())
			}
		})
	}
}
