package confirm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/msidm/msidm/policy"
)

// The harness is a real MCP server with one destructive tool wired the way msidm's tools
// are: build the plan from a (fake) directory read, ask for confirmation, act only on
// Proceed. Tests talk to it through real MCP clients (in-process in both protocol eras,
// and streamable HTTP) and count what actually ran.

const testUPN = "adele.vance@contoso.example"

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	clock *fakeClock
	conf  *Confirmer
	srv   *server.MCPServer
	ts    *httptest.Server

	executed atomic.Int32

	mu       sync.Mutex
	dir      map[string]string // UPN -> state fingerprint (the "directory")
	lastMode string
	approver string
	// rewrite, when set, changes each tools/call before the tool sees it: a malicious or
	// broken client.
	rewrite func(req *mcp.CallToolRequest)
}

// newHarness builds the server; opts.Now and opts.Reread are filled in.
func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{clock: newClock(), dir: map[string]string{testUPN: "enabled;etag=1", "megan@contoso.example": "enabled;etag=7"}}
	// One listener serves MCP over streamable HTTP (/mcp) and the approval page
	// (/approvals/), as msidm's HTTP transport does; in stdio mode only the page is used,
	// like msidm's loopback approval listener.
	var handler atomic.Pointer[http.Handler]
	h.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	t.Cleanup(h.ts.Close)
	if opts.ApprovalBaseURL == "auto" {
		opts.ApprovalBaseURL = h.ts.URL
	}
	defer func() {
		if h.conf == nil {
			return
		}
		mux := http.NewServeMux()
		mux.Handle("/mcp", server.NewStreamableHTTPServer(h.srv,
			server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
				tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				return WithCaller(ctx, HTTPCaller(tok))
			})))
		mux.Handle("/approvals/", h.conf.Handler())
		var hd http.Handler = mux
		handler.Store(&hd)
	}()
	opts.Now = h.clock.Now
	opts.Reread = h.reread
	conf, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.conf = conf
	h.srv = server.NewMCPServer("msidm-test", "0",
		server.WithToolHandlerMiddleware(func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
			return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				h.mu.Lock()
				rw := h.rewrite
				h.mu.Unlock()
				if rw != nil {
					rw(&req)
				}
				return next(ctx, req)
			}
		}))
	h.srv.AddTool(mcp.NewTool("disable_user",
		mcp.WithDescription("Disable sign-in for a user"),
		mcp.WithString("upn", mcp.Required()),
		mcp.WithString(ArgApprovalID),
		mcp.WithString(ArgConfirmationCode),
		mcp.WithDestructiveHintAnnotation(true)),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return h.disableUser(ctx, req)
		})
	h.srv.AddTool(mcp.NewTool("check_approval",
		mcp.WithString(ArgApprovalID, mcp.Required()), mcp.WithReadOnlyHintAnnotation(true)),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			st, err := conf.CheckApproval(ctx, req.GetString(ArgApprovalID, ""))
			if err != nil {
				return mcp.NewToolResultError(err.Error()), nil
			}
			return mcp.NewToolResultText(st), nil
		})
	return h
}

func (h *harness) reread(_ context.Context, plan policy.Plan) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dir[plan.Target], nil
}

func (h *harness) setDir(upn, state string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dir[upn] = state
}

func (h *harness) setRewrite(f func(req *mcp.CallToolRequest)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rewrite = f
}

func testPlan(upn string, args any) policy.Plan {
	return policy.Plan{
		Tool:    "disable_user",
		Effect:  policy.Destructive,
		Summary: "Disable sign-in for " + upn,
		Target:  upn,
		Targets: []policy.Principal{{System: "entra", ID: "0f1e2d3c-" + upn, Name: upn}},
		Steps: []policy.Step{
			{System: "entra", Action: "block sign-in", Target: upn, Reversible: true, Undo: "enable_user " + upn},
			{System: "entra", Action: "revoke sign-in sessions", Target: upn},
		},
		Args: args,
	}
}

// disableUser is a destructive tool. policy.Gate.Confirm delegates such plans to the
// Confirmer after its own checks (read-only, guard rails, audit); the harness calls the
// Confirmer directly so that these tests prove this package alone.
func (h *harness) disableUser(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	upn := req.GetString("upn", "")
	conf, err := h.conf.Confirm(ctx, &req, testPlan(upn, req.GetArguments()))
	if err != nil {
		return nil, err
	}
	if !conf.Proceed {
		return conf.Result, nil
	}
	h.executed.Add(1)
	h.mu.Lock()
	h.lastMode, h.approver = conf.Mode, conf.Approver
	h.mu.Unlock()
	return mcp.NewToolResultText("disabled " + upn), nil
}

// elicitFunc adapts a function to client.ElicitationHandler.
type elicitFunc func(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error)

func (f elicitFunc) Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return f(ctx, req)
}

func answer(action mcp.ElicitationResponseAction, content map[string]any) *mcp.ElicitationResult {
	r := &mcp.ElicitationResult{}
	r.Action = action
	if content != nil {
		r.Content = content
	}
	return r
}

var eras = []string{"modern", "legacy"}

// inProcess connects an in-process client in the given era; elicit nil means a client
// without elicitation.
func (h *harness) inProcess(t *testing.T, era string, elicit client.ElicitationHandler) *client.Client {
	t.Helper()
	var opts []client.ClientOption
	if elicit != nil {
		opts = append(opts, client.WithElicitationHandler(elicit))
	}
	if era == "legacy" {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	c, err := client.NewInProcessClientWithOptions(h.srv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	startClient(t, c)
	return c
}

func startClient(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "confirm-test", Version: "0"},
	}}); err != nil {
		t.Fatalf("initialize: %v", err)
	}
}

// httpServer returns the listener serving MCP over streamable HTTP and the approval page,
// with the caller derived from the bearer token as msidm's HTTP layer does.
func (h *harness) httpServer(*testing.T) *httptest.Server { return h.ts }

// overHTTP connects a streamable HTTP client with the agent's bearer token.
func overHTTP(t *testing.T, url, token, era string, elicit client.ElicitationHandler) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	var opts []client.ClientOption
	if elicit != nil {
		opts = append(opts, client.WithElicitationHandler(elicit))
	}
	if era == "legacy" {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	c := client.NewClient(tr, opts...)
	startClient(t, c)
	return c
}

func callTool(t *testing.T, c *client.Client, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "disable_user", Arguments: args}})
	if err != nil {
		t.Fatalf("tools/call: %v", err)
	}
	return res
}

func checkApproval(t *testing.T, c *client.Client, id string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "check_approval", Arguments: map[string]any{ArgApprovalID: id}}})
	if err != nil {
		t.Fatalf("check_approval: %v", err)
	}
	return resultText(res), !res.IsError
}

func resultText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// confirmationMeta returns the result's msidm/confirmation details.
func confirmationMeta(r *mcp.CallToolResult) map[string]any {
	if r.Meta == nil {
		return nil
	}
	m, _ := r.Meta.AdditionalFields[MetaConfirmation].(map[string]any)
	return m
}

// wantRefused checks a fail-closed result: isError, the reason, "Nothing was changed".
func wantRefused(t *testing.T, r *mcp.CallToolResult, reason string) {
	t.Helper()
	txt := resultText(r)
	if !r.IsError || !strings.Contains(txt, reason) || !strings.Contains(txt, "Nothing was changed") && !strings.Contains(txt, "nothing was changed") {
		t.Fatalf("want a refusal containing %q, got isError=%v %q", reason, r.IsError, txt)
	}
}

func (h *harness) wantExecuted(t *testing.T, n int32) {
	t.Helper()
	if got := h.executed.Load(); got != n {
		t.Fatalf("tool ran %d times, want %d", got, n)
	}
}
