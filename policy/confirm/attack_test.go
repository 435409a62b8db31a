package confirm

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

const (
	agentToken    = "agent-token-0123456789"
	approverToken = "approver-secret-0123456789"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// decideViaPage does what a human does on the approval page: GET it, then POST the
// decision with the form's CSRF token and (to approve) the typed target. auth is the
// Authorization header to send ("" for none). It returns the POST's status.
func decideViaPage(t *testing.T, link, auth, decision, typed string) int {
	t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get, _ := http.NewRequest(http.MethodGet, link, nil)
	if auth != "" {
		get.Header.Set("Authorization", auth)
	}
	resp, err := cl.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := ""
	if m := csrfRE.FindSubmatch(body); m != nil {
		csrf = string(m[1])
	}
	form := url.Values{"csrf": {csrf}, FieldConfirmTarget: {typed}}
	post, _ := http.NewRequest(http.MethodPost, link+"/"+decision, strings.NewReader(form.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		post.Header.Set("Authorization", auth)
	}
	resp, err = cl.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// requestApproval makes the first call, which must answer approval_required, and returns
// the approval id and link.
func requestApproval(t *testing.T, call func(map[string]any) *mcp.CallToolResult, args map[string]any) (id, link string) {
	t.Helper()
	res := call(args)
	meta := confirmationMeta(res)
	if !res.IsError || meta["status"] != StatusApprovalRequired {
		t.Fatalf("want approval_required, got isError=%v meta=%v %q", res.IsError, meta, resultText(res))
	}
	id, _ = meta["approval_id"].(string)
	link, _ = meta["approval_url"].(string)
	txt := resultText(res)
	for _, want := range []string{"APPROVAL REQUIRED", "nothing was changed", link, ArgApprovalID + "=\"" + id + "\"", "block sign-in"} {
		if !strings.Contains(txt, want) {
			t.Errorf("approval_required text lacks %q: %s", want, txt)
		}
	}
	return id, link
}

func requestCode(t *testing.T, call func(map[string]any) *mcp.CallToolResult, args map[string]any) string {
	t.Helper()
	res := call(args)
	meta := confirmationMeta(res)
	code, _ := meta["code"].(string)
	if !res.IsError || meta["status"] != StatusCodeRequired || code == "" || !strings.Contains(resultText(res), code) {
		t.Fatalf("want a confirmation code, got isError=%v meta=%v %q", res.IsError, meta, resultText(res))
	}
	return code
}

func with(args map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for a, b := range args {
		out[a] = b
	}
	out[k] = v
	return out
}

// TestAttacks is the table of attack attempts. Each one must fail closed with a
// clear message, and the tool must not run (beyond a legitimate first use where the attack
// is a replay).
func TestAttacks(t *testing.T) {
	adele := map[string]any{"upn": testUPN}
	megan := map[string]any{"upn": "megan@contoso.example"}
	stdioApproval := Options{Modes: []string{ModeApproval}, ApprovalBaseURL: "auto"}
	codes := Options{Modes: []string{ModeCode}}
	accept := func(typed string) elicitFunc {
		return func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
			return answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: typed}), nil
		}
	}
	type env struct {
		h    *harness
		call func(map[string]any) *mcp.CallToolResult
	}
	tests := []struct {
		name   string
		opts   Options
		elicit elicitFunc
		// attack runs the scenario and returns the attacked call's result.
		attack  func(t *testing.T, e env) *mcp.CallToolResult
		refusal string
		ran     int32 // legitimate runs before the attack
	}{
		{name: "replayed approval", opts: stdioApproval, ran: 1, refusal: "was already used",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, link := requestApproval(t, e.call, adele)
				if code := decideViaPage(t, link, "", "approve", testUPN); code != http.StatusSeeOther {
					t.Fatalf("approve: %d", code)
				}
				if res := e.call(with(adele, ArgApprovalID, id)); res.IsError {
					t.Fatalf("first use refused: %s", resultText(res))
				}
				return e.call(with(adele, ArgApprovalID, id))
			}},
		{name: "approval for different arguments", opts: stdioApproval, refusal: "was given for different arguments",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, link := requestApproval(t, e.call, adele)
				decideViaPage(t, link, "", "approve", testUPN)
				return e.call(with(megan, ArgApprovalID, id))
			}},
		{name: "approval with an argument added", opts: stdioApproval, refusal: "was given for different arguments",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, link := requestApproval(t, e.call, adele)
				decideViaPage(t, link, "", "approve", testUPN)
				return e.call(with(with(adele, "also_delete_mailbox", true), ArgApprovalID, id))
			}},
		{name: "expired approval", opts: stdioApproval, refusal: "expired at",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, link := requestApproval(t, e.call, adele)
				decideViaPage(t, link, "", "approve", testUPN)
				e.h.clock.Advance(DefaultTTL + time.Second)
				return e.call(with(adele, ArgApprovalID, id))
			}},
		{name: "approval not yet given", opts: stdioApproval, refusal: "has not been approved yet",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, _ := requestApproval(t, e.call, adele)
				return e.call(with(adele, ArgApprovalID, id))
			}},
		{name: "rejected approval", opts: stdioApproval, refusal: "the approver rejected",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, link := requestApproval(t, e.call, adele)
				if code := decideViaPage(t, link, "", "reject", ""); code != http.StatusSeeOther {
					t.Fatalf("reject: %d", code)
				}
				return e.call(with(adele, ArgApprovalID, id))
			}},
		{name: "approval page answered with the wrong identifier", opts: stdioApproval, refusal: "has not been approved yet",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, link := requestApproval(t, e.call, adele)
				if code := decideViaPage(t, link, "", "approve", "yes"); code != http.StatusUnprocessableEntity {
					t.Fatalf("approve with a wrong identifier: %d, want 422", code)
				}
				return e.call(with(adele, ArgApprovalID, id))
			}},
		{name: "target changed after approval", opts: stdioApproval, refusal: "the target changed",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				id, link := requestApproval(t, e.call, adele)
				decideViaPage(t, link, "", "approve", testUPN)
				e.h.setDir(testUPN, "disabled;etag=9")
				return e.call(with(adele, ArgApprovalID, id))
			}},
		{name: "invented approval id", opts: stdioApproval, refusal: "is unknown",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				return e.call(with(adele, ArgApprovalID, "approved"))
			}},
		{name: "approval id when the approval page is off", opts: Options{Modes: []string{ModeElicitation}}, refusal: "the approval page is not enabled",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				return e.call(with(adele, ArgApprovalID, "approved"))
			}},
		{name: "code for different arguments", opts: codes, refusal: "not valid for these arguments",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				code := requestCode(t, e.call, adele)
				return e.call(with(megan, ArgConfirmationCode, code))
			}},
		{name: "expired code", opts: codes, refusal: "expired at",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				code := requestCode(t, e.call, adele)
				e.h.clock.Advance(DefaultTTL + time.Second)
				return e.call(with(adele, ArgConfirmationCode, code))
			}},
		{name: "replayed code", opts: codes, ran: 1, refusal: "already used",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				code := requestCode(t, e.call, adele)
				if res := e.call(with(adele, ArgConfirmationCode, code)); res.IsError {
					t.Fatalf("first use refused: %s", resultText(res))
				}
				return e.call(with(adele, ArgConfirmationCode, code))
			}},
		{name: "forged code", opts: codes, refusal: "not valid for these arguments",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				code := requestCode(t, e.call, adele)
				forged := code[:len(code)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(code, "a")]
				return e.call(with(adele, ArgConfirmationCode, forged))
			}},
		{name: "code when codes are off", opts: Options{Modes: []string{ModeElicitation, ModeApproval}, ApprovalBaseURL: "auto"}, refusal: "confirmation codes are not enabled",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				return e.call(with(adele, ArgConfirmationCode, "anything"))
			}},
		{name: "model-set confirm argument", opts: Options{Modes: []string{ModeElicitation}}, refusal: "no confirmation method is available",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				return e.call(map[string]any{"upn": testUPN, "confirm": true, "confirmed": true, "approved": "yes"})
			}},
		{name: "model-set requestState", opts: Options{}, elicit: accept(testUPN), refusal: "tampered with",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					req.Params.RequestState = `{"confirm":true,"target":"` + testUPN + `"}`
				})
				return e.call(adele)
			}},
		{name: "model-set elicitation answer without being asked", opts: Options{}, elicit: accept(testUPN), refusal: "tampered with",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					req.Params.InputResponses = mcp.InputResponses{ElicitationID: mcp.NewElicitationInputResponse(*answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: testUPN}))}
				})
				return e.call(adele)
			}},
		{name: "tampered sealed state", opts: Options{}, elicit: accept(testUPN), refusal: "tampered with",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					if s := req.Params.RequestState; s != "" {
						b := []byte(s)
						b[len(b)-3] ^= 1
						req.Params.RequestState = string(b)
					}
				})
				return e.call(adele)
			}},
		{name: "state sealed with another key", opts: Options{}, elicit: accept(testUPN), refusal: "tampered with",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				other, err := New(Options{Now: e.h.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					if s := req.Params.RequestState; s != "" {
						st, err := e.h.conf.open(s)
						if err != nil {
							t.Errorf("open: %v", err)
						}
						req.Params.RequestState = other.seal(st)
					}
				})
				return e.call(adele)
			}},
		{name: "replayed elicitation answer and state", opts: Options{}, elicit: accept(testUPN), ran: 1, refusal: "already used",
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				var (
					mu       sync.Mutex
					captured mcp.MultiRoundTripParams
				)
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					mu.Lock()
					defer mu.Unlock()
					if req.Params.RequestState != "" {
						captured = req.Params.MultiRoundTripParams
					}
				})
				if res := e.call(adele); res.IsError {
					t.Fatalf("legitimate call refused: %s", resultText(res))
				}
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					mu.Lock()
					defer mu.Unlock()
					req.Params.MultiRoundTripParams = captured
				})
				return e.call(adele)
			}},
		{name: "elicitation answer moved to other arguments", opts: Options{}, ran: 0, refusal: "for different arguments",
			elicit: func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				return answer(mcp.ElicitationResponseActionDecline, nil), nil
			},
			attack: func(t *testing.T, e env) *mcp.CallToolResult {
				var (
					mu       sync.Mutex
					captured mcp.MultiRoundTripParams
				)
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					mu.Lock()
					defer mu.Unlock()
					if req.Params.RequestState != "" {
						captured = req.Params.MultiRoundTripParams
					}
				})
				wantRefused(t, e.call(adele), "the human declined")
				answered := *answer(mcp.ElicitationResponseActionAccept, map[string]any{FieldConfirmTarget: "megan@contoso.example"})
				e.h.setRewrite(func(req *mcp.CallToolRequest) {
					mu.Lock()
					defer mu.Unlock()
					req.Params.RequestState = captured.RequestState
					req.Params.InputResponses = mcp.InputResponses{ElicitationID: mcp.NewElicitationInputResponse(answered)}
				})
				return e.call(megan)
			}},
		{name: "declined elicitation", opts: Options{}, refusal: "the human declined",
			elicit: func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				return answer(mcp.ElicitationResponseActionDecline, nil), nil
			},
			attack: func(t *testing.T, e env) *mcp.CallToolResult { return e.call(adele) }},
		{name: "cancelled elicitation", opts: Options{}, refusal: "the human cancelled",
			elicit: func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				return answer(mcp.ElicitationResponseActionCancel, nil), nil
			},
			attack: func(t *testing.T, e env) *mcp.CallToolResult { return e.call(adele) }},
		{name: "elicitation answered with the wrong identifier", opts: Options{}, elicit: accept("adele.vance@contoso.example.evil"), refusal: "does not match the target",
			attack: func(t *testing.T, e env) *mcp.CallToolResult { return e.call(adele) }},
	}
	for _, era := range eras {
		for _, tt := range tests {
			t.Run(era+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, tt.opts)
				var elicit elicitFunc
				if tt.elicit != nil {
					elicit = tt.elicit
				}
				var c = h.inProcess(t, era, nil)
				if elicit != nil {
					c = h.inProcess(t, era, elicit)
				}
				res := tt.attack(t, env{h: h, call: func(args map[string]any) *mcp.CallToolResult { return callTool(t, c, args) }})
				wantRefused(t, res, tt.refusal)
				h.wantExecuted(t, tt.ran)
			})
		}
	}
}

// TestAttacksOverHTTP covers what needs the HTTP transport: approver credentials and the
// caller binding.
func TestAttacksOverHTTP(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	opts := Options{Modes: []string{ModeApproval}, Transport: TransportHTTP, Key: key, ApproverToken: approverToken, AgentToken: agentToken, ApprovalBaseURL: "auto"}
	setup := func(t *testing.T) (*harness, string, func(map[string]any) *mcp.CallToolResult) {
		h := newHarness(t, opts)
		c := overHTTP(t, h.ts.URL, agentToken, "modern", nil)
		return h, h.ts.URL, func(args map[string]any) *mcp.CallToolResult { return callTool(t, c, args) }
	}
	adele := map[string]any{"upn": testUPN}

	t.Run("approval made with the agent's own token", func(t *testing.T) {
		h, _, call := setup(t)
		id, link := requestApproval(t, call, adele)
		if code := decideViaPage(t, link, "Bearer "+agentToken, "approve", testUPN); code != http.StatusForbidden {
			t.Fatalf("approve with the agent's token: %d, want 403", code)
		}
		wantRefused(t, call(with(adele, ArgApprovalID, id)), "has not been approved yet")
		h.wantExecuted(t, 0)
	})
	t.Run("approval without any credential", func(t *testing.T) {
		h, _, call := setup(t)
		id, link := requestApproval(t, call, adele)
		if code := decideViaPage(t, link, "", "approve", testUPN); code != http.StatusUnauthorized {
			t.Fatalf("approve without a token: %d, want 401", code)
		}
		wantRefused(t, call(with(adele, ArgApprovalID, id)), "has not been approved yet")
		h.wantExecuted(t, 0)
	})
	t.Run("approval used by another caller", func(t *testing.T) {
		h, base, call := setup(t)
		id, link := requestApproval(t, call, adele)
		if code := decideViaPage(t, link, "Bearer "+approverToken, "approve", testUPN); code != http.StatusSeeOther {
			t.Fatalf("approve: %d", code)
		}
		other := overHTTP(t, base, "another-agent-token-987654321", "modern", nil)
		wantRefused(t, callTool(t, other, with(adele, ArgApprovalID, id)), "requested by a different caller")
		if st, ok := checkApproval(t, other, id); ok {
			t.Errorf("check_approval by another caller answered %q", st)
		}
		h.wantExecuted(t, 0)
		// The rightful caller still can.
		if res := call(with(adele, ArgApprovalID, id)); res.IsError {
			t.Fatalf("rightful use refused: %s", resultText(res))
		}
		h.wantExecuted(t, 1)
		if h.lastMode != ModeApproval || !strings.Contains(h.approver, EnvApproverToken) {
			t.Errorf("confirmation mode %q approver %q", h.lastMode, h.approver)
		}
	})
}
