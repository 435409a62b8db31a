package tools

// The harness runs every tool the way a host does: a real mcp-go client in a real MCP
// session with the server NewServer builds, whose tools use the real clients wired by
// clients/connect against the sandbox emulators over loopback HTTP.

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/clients/connect"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/policy"
	"github.com/msidm/msidm/policy/audit"
	"github.com/msidm/msidm/policy/examples"
	"github.com/msidm/msidm/policy/rules"
	"github.com/msidm/msidm/sandbox"
)

type env struct {
	t      *testing.T
	sb     *sandbox.Sandbox
	client *client.Client
	deps   *Deps
}

type envOptions struct {
	gate       *policy.Gate
	gateConfig func(*policy.Config) // adjusts the default gate's configuration
	confirmer  policy.Confirmer
	clientOpt  []client.ClientOption
}

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	red := &redact.Redactor{}
	cl, err := connect.Build(connect.Settings{
		AuthorityURL: sb.AuthorityURL, GraphURL: sb.GraphURL, AdsURL: sb.AdsURL,
		TenantID: sb.TenantID, ClientID: sb.ClientID, ClientSecret: sb.ClientSecret,
		AdsClientID: sb.ClientID, AdsClientSecret: sb.ClientSecret,
		AdsDeveloperToken: sb.AdsDeveloperToken, AdsRefreshToken: sb.AdsRefreshToken,
	}, true, true, red, nil)
	if err != nil {
		t.Fatal(err)
	}
	gate := opts.gate
	if gate == nil {
		pol, err := rules.Parse(examples.Policy, examples.PolicyName)
		if err != nil {
			t.Fatal(err)
		}
		log, err := audit.Open(ctx, t.TempDir(), audit.Options{Redact: red.String})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = log.Close() })
		cfg := policy.Config{Rules: pol, Audit: log, Directory: GraphDirectory{Graph: cl.Graph},
			Caller: func(context.Context) string { return "test" }}
		if opts.gateConfig != nil {
			opts.gateConfig(&cfg)
		}
		gate = policy.NewGate(cfg)
	}
	if opts.confirmer != nil {
		gate.SetConfirmer(opts.confirmer)
	}
	deps := &Deps{Graph: cl.Graph, Ads: cl.Ads, AdsCustomerID: sb.AdsCustomerID, Redactor: red, Gate: gate,
		Logger: slog.New(slog.DiscardHandler), Audit: gate.Config().Audit}
	srv := NewServer(ServerInfo{Name: "msidm", Version: "test"}, deps, All(deps), gate, deps.Logger)
	c, err := client.NewInProcessClientWithOptions(srv, opts.clientOpt...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "tools-test", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, sb: sb, client: c, deps: deps}
}

// call runs a tool and returns the result and its structured content as generic JSON.
func (e *env) call(name string, args map[string]any) (*mcp.CallToolResult, map[string]any) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.client.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		e.t.Fatalf("%s: protocol error %v", name, err)
	}
	var out map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	if len(res.RawStructuredContent) > 0 {
		raw = res.RawStructuredContent
	}
	_ = json.Unmarshal(raw, &out)
	return res, out
}

// ok calls a tool that must succeed.
func (e *env) ok(name string, args map[string]any) map[string]any {
	e.t.Helper()
	res, out := e.call(name, args)
	if res.IsError {
		e.t.Fatalf("%s(%v) failed: %s", name, args, text(res))
	}
	return out
}

// fails calls a tool that must fail with an isError result containing every want.
func (e *env) fails(name string, args map[string]any, want ...string) string {
	e.t.Helper()
	res, _ := e.call(name, args)
	if !res.IsError {
		e.t.Fatalf("%s(%v) succeeded, want an error: %s", name, args, text(res))
	}
	msg := text(res)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			e.t.Errorf("%s error %q lacks %q", name, msg, w)
		}
	}
	return msg
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// approveAll is the human in the loop of tests that exercise what happens after approval;
// the confirmation mechanisms themselves are tested in policy/confirm.
type approveAll struct{}

func (approveAll) Confirm(_ context.Context, _ *mcp.CallToolRequest, _ policy.Plan) (policy.Confirmation, error) {
	return policy.Confirmation{Proceed: true, Mode: "test-approver"}, nil
}

func newReadOnlyGate() *policy.Gate { return policy.NewGate(policy.Config{ReadOnly: true}) }

// approveAll's mode must be one the policy allows; "code" stands for a human-typed code here.

func callReq(name string, args map[string]any) mcp.CallToolRequest {
	return mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}}
}

// deletedID finds a soft-deleted demo user's object id.
func (e *env) deletedID(upn string) string {
	e.t.Helper()
	for _, p := range e.sb.Tenant.People {
		if p.UserPrincipalName == upn && p.SoftDeleted {
			return p.ID
		}
	}
	e.t.Fatalf("%s is not a soft-deleted demo user", upn)
	return ""
}
