package confirm

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestElicitation drives the whole exchange through a real MCP session in both protocol
// eras: 2026-07-28 (the client retries with inputResponses and the sealed requestState)
// and 2025-11-25 (mcp-go sends elicitation/create and re-invokes the handler).
func TestElicitation(t *testing.T) {
	tests := []struct {
		name string
		// human answers the form; h lets it change the world while the form is open.
		human   func(h *harness, req mcp.ElicitationRequest) *mcp.ElicitationResult
		refusal string // "" means the call proceeds
	}{
		{name: "accept with the exact UPN", human: func(_ *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: testUPN})
		}},
		{name: "accept with the UPN in other case and spaces", human: func(_ *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: "  " + strings.ToUpper(testUPN) + " "})
		}},
		{name: "decline", refusal: "the human declined", human: func(_ *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			return answer(mcp.ElicitationResponseActionDecline, nil)
		}},
		{name: "cancel", refusal: "the human cancelled", human: func(_ *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			return answer(mcp.ElicitationResponseActionCancel, nil)
		}},
		{name: "wrong identifier", refusal: "does not match the target", human: func(_ *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: "megan@contoso.example"})
		}},
		{name: "yes instead of the identifier", refusal: "does not match the target", human: func(_ *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: "yes"})
		}},
		{name: "accept with a confirm flag but no identifier", refusal: "does not match the target", human: func(_ *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{"confirm": true})
		}},
		{name: "answer after the timeout", refusal: "timed out", human: func(h *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			h.clock.Advance(DefaultElicitationTimeout + time.Second)
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: testUPN})
		}},
		{name: "target changed while the human was asked", refusal: "the target changed", human: func(h *harness, _ mcp.ElicitationRequest) *mcp.ElicitationResult {
			h.setDir(testUPN, "enabled;etag=2")
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: testUPN})
		}},
	}
	for _, era := range eras {
		for _, tt := range tests {
			t.Run(era+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, Options{})
				var (
					mu    sync.Mutex
					asked []mcp.ElicitationRequest
				)
				c := h.inProcess(t, era, elicitFunc(func(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
					mu.Lock()
					asked = append(asked, req)
					mu.Unlock()
					return tt.human(h, req), nil
				}))
				res := callTool(t, c, map[string]any{"upn": testUPN})

				mu.Lock()
				defer mu.Unlock()
				if len(asked) != 1 {
					t.Fatalf("human asked %d times, want once", len(asked))
				}
				wantPlanInForm(t, asked[0])
				if tt.refusal == "" {
					if res.IsError || resultText(res) != "disabled "+testUPN {
						t.Fatalf("want the call to run, got isError=%v %q", res.IsError, resultText(res))
					}
					h.wantExecuted(t, 1)
					if h.lastMode != ModeElicitation {
						t.Errorf("mode %q, want elicitation", h.lastMode)
					}
					return
				}
				wantRefused(t, res, tt.refusal)
				h.wantExecuted(t, 0)
			})
		}
	}
}

// wantPlanInForm checks what the human sees: the exact plan (who, systems, steps,
// reversibility) and a form asking to type the target, not a yes/no.
func wantPlanInForm(t *testing.T, req mcp.ElicitationRequest) {
	t.Helper()
	msg := req.Params.Message
	for _, want := range []string{
		"Disable sign-in for " + testUPN, "requested by stdio:", "Systems: entra",
		"block sign-in", "reversible: enable_user " + testUPN, "revoke sign-in sessions", "(irreversible)",
		"type " + testUPN + " exactly",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("elicitation message lacks %q:\n%s", want, msg)
		}
	}
	schema, _ := req.Params.RequestedSchema.(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	if _, ok := props[FieldConfirmTarget]; !ok || len(props) != 1 {
		t.Errorf("requested schema %v: want exactly one field %q", schema, FieldConfirmTarget)
	}
}

// TestElicitationNotDeclared: a client that declares no elicitation (the MCP Inspector CLI)
// is never sent one; with only elicitation allowed the call fails closed and says what to
// configure, and a model-set confirm argument changes nothing.
func TestElicitationNotDeclared(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, Options{Modes: []string{ModeElicitation}})
			c := h.inProcess(t, era, nil)
			for _, args := range []map[string]any{
				{"upn": testUPN},
				{"upn": testUPN, "confirm": true, "confirmed": "yes", "dry_run": false},
			} {
				res := callTool(t, c, args)
				wantRefused(t, res, "no confirmation method is available: the MCP client does not support elicitation")
				for _, hint := range []string{"form elicitation", "\"approval\"", EnvApproverToken} {
					if !strings.Contains(resultText(res), hint) {
						t.Errorf("refusal does not say what to configure (%q): %s", hint, resultText(res))
					}
				}
			}
			h.wantExecuted(t, 0)
		})
	}
}

// TestElicitationOverHTTP runs the exchange over streamable HTTP in both eras, with the
// caller derived from the bearer token.
func TestElicitationOverHTTP(t *testing.T) {
	key := make([]byte, 32)
	for _, era := range eras {
		for _, accept := range []bool{true, false} {
			t.Run(era+map[bool]string{true: "/accept", false: "/decline"}[accept], func(t *testing.T) {
				h := newHarness(t, Options{Transport: TransportHTTP, Key: key})
				ts := h.httpServer(t)
				c := overHTTP(t, ts.URL, "agent-token-0123456789", era, elicitFunc(func(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
					if !strings.Contains(req.Params.Message, "requested by "+HTTPCaller("agent-token-0123456789")) {
						t.Errorf("message does not name the HTTP caller: %s", req.Params.Message)
					}
					if !accept {
						return answer(mcp.ElicitationResponseActionDecline, nil), nil
					}
					return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: testUPN}), nil
				}))
				res := callTool(t, c, map[string]any{"upn": testUPN})
				if accept {
					if res.IsError {
						t.Fatalf("want the call to run: %s", resultText(res))
					}
					h.wantExecuted(t, 1)
					return
				}
				wantRefused(t, res, "the human declined")
				h.wantExecuted(t, 0)
			})
		}
	}
}

// TestHTTPWithoutKey: HTTP replicas must share MSIDM_STATE_KEY; without it msidm refuses
// destructive calls rather than run them unprotected, even for an elicitation client.
func TestHTTPWithoutKey(t *testing.T) {
	h := newHarness(t, Options{Transport: TransportHTTP, ApprovalBaseURL: "https://msidm.example", ApproverToken: "approver-secret-0123456789"})
	ts := h.httpServer(t)
	c := overHTTP(t, ts.URL, "agent-token-0123456789", "modern", elicitFunc(func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
		t.Error("elicitation sent without a sealing key")
		return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: testUPN}), nil
	}))
	res := callTool(t, c, map[string]any{"upn": testUPN})
	wantRefused(t, res, "without a shared sealing key")
	if !strings.Contains(resultText(res), EnvStateKey) {
		t.Errorf("refusal does not name %s: %s", EnvStateKey, resultText(res))
	}
	h.wantExecuted(t, 0)
}
