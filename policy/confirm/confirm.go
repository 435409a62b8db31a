// Package confirm asks a human to confirm a mutating plan before msidm acts on it. It
// implements policy.Confirmer with three mechanisms, tried in the order the policy prefers:
//
//   - elicitation: the server asks the human mid-call (MCP form elicitation) to type the
//     target's identifier. One handler serves both protocol eras mcp-go v1.2.1 speaks: it
//     returns an input_required result (2026-07-28 multi round-trip requests, SEP-2322) and
//     mcp-go bridges it to a server-initiated elicitation/create for 2025-11-25 clients. The
//     pending request's state travels through the client, sealed with AES-256-GCM.
//   - approval: the call returns an approval link; a human opens the page msidm serves
//     (Handler), sees the plan and approves or rejects it; the agent repeats the call with
//     the approval id.
//   - code: opt-in for scripted use at the MCP Inspector; the first call returns a code (an
//     HMAC over the binding), the repeated call carries it.
//
// Every confirmation is bound to a SHA-256 digest of the canonical {tool, arguments, plan,
// caller}; it is single use, expires, and the target is re-read before the call proceeds.
// When no allowed mechanism can be satisfied the call fails closed and says what to
// configure.
//
// State is per process: pending approvals and the record of used elicitation states and
// codes live in memory. Sealed elicitation state and codes verify on any replica that
// shares MSIDM_STATE_KEY, but single use is enforced per replica, and an approval can be
// decided and used only on the replica that issued it; run one replica, or route each
// caller to one replica, when several serve HTTP.
package confirm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/msidm/msidm/policy"
)

// Confirmation modes, in Options.Modes.
const (
	ModeElicitation = "elicitation"
	ModeApproval    = "approval"
	ModeCode        = "code"
)

// How the repeated call carries an approval id or a confirmation code: an optional argument
// of every mutating tool's input, or (for clients that can set it) the request's _meta.
// Both argument names are removed from the arguments before the binding digest is taken, so
// adding them does not count as changing the call.
const (
	ArgApprovalID        = "approval_id"
	ArgConfirmationCode  = "confirmation_code"
	MetaApprovalID       = "msidm/approval_id"
	MetaConfirmationCode = "msidm/confirmation_code"
)

// ElicitationID keys msidm's elicitation in a multi round-trip exchange;
// FieldConfirmTarget is the one field of its form.
const (
	ElicitationID      = "msidm_confirm"
	FieldConfirmTarget = "confirm_target"
)

// Environment variables the operator configures, named in refusals.
const (
	EnvStateKey      = "MSIDM_STATE_KEY"
	EnvApproverToken = "MSIDM_APPROVER_TOKEN"
)

// Defaults for Options.
const (
	DefaultTTL                = 15 * time.Minute
	DefaultElicitationTimeout = 5 * time.Minute
	// maxPendingApprovals bounds the memory an agent can make msidm spend on approvals.
	maxPendingApprovals = 1000
)

// Transports, in Options.Transport.
const (
	TransportStdio = "stdio"
	TransportHTTP  = "http"
)

// Options configure a Confirmer. The zero value of every field but Transport has a safe
// default.
type Options struct {
	// Modes lists the allowed mechanisms in order of preference. Empty means
	// {"elicitation", "approval"}; "code" is used only when listed.
	Modes []string
	// CurrentModes, when set, is asked on every call instead of Modes, so that a policy
	// reload takes effect at once (for example gate.Rules().ConfirmationModes). Unknown
	// names in its answer are ignored; an empty answer allows nothing.
	CurrentModes func() []string
	// Key is the 32-byte key that seals elicitation state and signs codes, CSRF tokens and
	// approver sessions (MSIDM_STATE_KEY, see ParseKey). Empty means a random key per process
	// on stdio; on HTTP an empty key makes Confirm refuse, because replicas must share it.
	Key []byte
	// Transport is "stdio" (default) or "http".
	Transport string
	// ApprovalBaseURL is where Handler is reachable ("http://127.0.0.1:8080"); approval links
	// are ApprovalBaseURL + "/approvals/{id}". Empty disables the approval mode. On stdio it
	// must be a loopback address.
	ApprovalBaseURL string
	// ApproverToken is the credential a human approver presents (MSIDM_APPROVER_TOKEN):
	// required for the approval mode on HTTP; when set on stdio the page requires it too.
	ApproverToken string
	// AgentToken is the bearer token MCP clients use (MSIDM_HTTP_TOKEN); New refuses an
	// ApproverToken equal to it, and the page refuses it, so an agent cannot approve itself.
	AgentToken string
	// TTL bounds approvals and codes (default 15 minutes).
	TTL time.Duration
	// ElicitationTimeout bounds how long a human may take to answer an elicitation
	// (default 5 minutes); a later answer is refused.
	ElicitationTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Reread returns a fingerprint of the target's current state. It is called when the
	// human is asked and again before the call proceeds; if the two differ the call is
	// refused and must be repeated. Nil means the fingerprint is always "" (tools should set it).
	Reread func(ctx context.Context, plan policy.Plan) (string, error)
}

// Confirmer implements policy.Confirmer. It is safe for concurrent use.
type Confirmer struct {
	modes         []string
	currentModes  func() []string
	keys          keys
	keyMissing    bool // HTTP without MSIDM_STATE_KEY: refuse
	transport     string
	baseURL       string
	approverToken string
	agentToken    string
	secureCookie  bool
	ttl           time.Duration
	elicitTimeout time.Duration
	now           func() time.Time
	reread        func(ctx context.Context, plan policy.Plan) (string, error)
	defaultCaller string
	spent         *spentSet
	approvals     *approvalStore
}

var _ policy.Confirmer = (*Confirmer)(nil)

// New validates opts and returns a Confirmer.
func New(opts Options) (*Confirmer, error) {
	c := &Confirmer{
		transport:     opts.Transport,
		approverToken: opts.ApproverToken,
		agentToken:    opts.AgentToken,
		ttl:           opts.TTL,
		elicitTimeout: opts.ElicitationTimeout,
		now:           opts.Now,
		reread:        opts.Reread,
		spent:         newSpentSet(),
		approvals:     newApprovalStore(),
	}
	if c.transport == "" {
		c.transport = TransportStdio
	}
	if c.transport != TransportStdio && c.transport != TransportHTTP {
		return nil, fmt.Errorf("confirm: transport %q: want %q or %q", opts.Transport, TransportStdio, TransportHTTP)
	}
	c.modes = opts.Modes
	if len(c.modes) == 0 {
		c.modes = []string{ModeElicitation, ModeApproval}
	}
	c.currentModes = opts.CurrentModes
	for i, m := range c.modes {
		if m != ModeElicitation && m != ModeApproval && m != ModeCode {
			return nil, fmt.Errorf("confirm: unknown confirmation mode %q: want %q, %q or %q", m, ModeElicitation, ModeApproval, ModeCode)
		}
		if slices.Contains(c.modes[:i], m) {
			return nil, fmt.Errorf("confirm: confirmation mode %q listed twice", m)
		}
	}
	master := opts.Key
	switch {
	case len(master) == 0:
		master = make([]byte, 32)
		if _, err := rand.Read(master); err != nil {
			return nil, fmt.Errorf("confirm: random key: %w", err)
		}
		c.keyMissing = c.transport == TransportHTTP
	case len(master) != 32:
		return nil, fmt.Errorf("confirm: %s must be 32 bytes, got %d", EnvStateKey, len(master))
	}
	var err error
	if c.keys, err = deriveKeys(master); err != nil {
		return nil, err
	}
	if c.ttl <= 0 {
		c.ttl = DefaultTTL
	}
	if c.elicitTimeout <= 0 {
		c.elicitTimeout = DefaultElicitationTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.approverToken != "" {
		if len(c.approverToken) < 16 {
			return nil, fmt.Errorf("confirm: %s must be at least 16 characters", EnvApproverToken)
		}
		if c.approverToken == c.agentToken {
			return nil, fmt.Errorf("confirm: %s must differ from the MCP bearer token (MSIDM_HTTP_TOKEN), or an agent could approve its own calls", EnvApproverToken)
		}
	}
	if opts.ApprovalBaseURL != "" {
		u, err := url.Parse(opts.ApprovalBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("confirm: approval base URL %q: want http(s)://host[:port][/path]", opts.ApprovalBaseURL)
		}
		if c.transport == TransportStdio && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("confirm: approval base URL %q: in stdio mode the approval page listens on loopback only", opts.ApprovalBaseURL)
		}
		c.baseURL = strings.TrimRight(u.String(), "/")
		c.secureCookie = u.Scheme == "https"
	}
	if c.transport == TransportStdio {
		c.defaultCaller = StdioCaller()
	} else {
		c.defaultCaller = HTTPCaller("")
	}
	return c, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Confirm decides whether plan may run now (policy.Confirmer). The Gate calls it only for
// plans that need a human: destructive ones, and writes when the policy says so.
//
// A call that carries an answer (elicitation response and sealed state, approval id, or
// confirmation code) is verified and proceeds only if every check passes; a call without
// one asks through the first allowed mechanism the client and the configuration support.
// Every refusal is a Confirmation with Proceed false and an isError result that says why
// and what to do next; a Go error means a programming fault (arguments that are not JSON).
func (c *Confirmer) Confirm(ctx context.Context, req *mcp.CallToolRequest, plan policy.Plan) (policy.Confirmation, error) {
	if req == nil {
		req = &mcp.CallToolRequest{}
	}
	if c.keyMissing {
		return refuse(plan, "msidm serves HTTP without a shared sealing key, so it cannot protect confirmations",
			fmt.Sprintf("Set %s to 32 random bytes, base64 or hex (for example `openssl rand -base64 32`), the same on every replica, and restart msidm.", EnvStateKey)), nil
	}
	caller := c.callerOf(ctx)
	digest, err := bindingDigest(plan, caller)
	if err != nil {
		return policy.Confirmation{}, err
	}
	answer := server.ElicitationResponse(req.Params.InputResponses, ElicitationID)
	switch {
	case answer != nil || req.Params.RequestState != "" || len(req.Params.InputResponses) > 0:
		return c.finishElicitation(ctx, req, plan, caller, digest, answer), nil
	case requestParam(req, ArgApprovalID, MetaApprovalID) != "":
		return c.finishApproval(ctx, requestParam(req, ArgApprovalID, MetaApprovalID), plan, caller, digest), nil
	case requestParam(req, ArgConfirmationCode, MetaConfirmationCode) != "":
		return c.finishCode(ctx, requestParam(req, ArgConfirmationCode, MetaConfirmationCode), plan, digest), nil
	}

	modes := c.allowedModes()
	var missing []string
	for _, m := range modes {
		switch m {
		case ModeElicitation:
			if ok, why := formElicitationSupported(ctx); ok {
				return c.askElicitation(ctx, plan, caller, digest), nil
			} else {
				missing = append(missing, why)
			}
		case ModeApproval:
			if why := c.approvalUnavailable(); why == "" {
				return c.askApproval(ctx, plan, caller, digest), nil
			} else {
				missing = append(missing, why)
			}
		case ModeCode:
			return c.askCode(ctx, plan, caller, digest), nil
		}
	}
	if !slices.Contains(modes, ModeApproval) {
		missing = append(missing, "the approval page is not enabled by the policy (confirmation modes: "+strings.Join(modes, ", ")+")")
	}
	return refuse(plan, "no confirmation method is available: "+strings.Join(missing, "; "),
		"Use an MCP client that supports form elicitation (for example Claude Desktop), or enable the approval page "+
			"(policy confirmation modes including \"approval\", and on HTTP "+EnvApproverToken+"); "+
			"call again with dry_run=true to see the plan without changing anything."), nil
}

// allowedModes returns the confirmation modes allowed now, in order of preference.
func (c *Confirmer) allowedModes() []string {
	if c.currentModes == nil {
		return c.modes
	}
	var modes []string
	for _, m := range c.currentModes() {
		if (m == ModeElicitation || m == ModeApproval || m == ModeCode) && !slices.Contains(modes, m) {
			modes = append(modes, m)
		}
	}
	return modes
}

// approvalUnavailable says why the approval mode cannot be used, or "" when it can.
func (c *Confirmer) approvalUnavailable() string {
	switch {
	case c.baseURL == "":
		return "the approval page is not being served (no approval base URL)"
	case c.transport == TransportHTTP && c.approverToken == "":
		return "the approval page on HTTP needs " + EnvApproverToken + " so that only a human approver can approve"
	}
	return ""
}

// formElicitationSupported reports whether the client declared form elicitation, for the
// era of this request (MCPGO.md §5): 2026-07-28 requests declare capabilities per request
// in _meta ("servers MUST NOT infer capabilities from prior requests"); earlier revisions
// declare them once in initialize, which the session remembers. An empty elicitation
// capability means form only; one that lists only "url" excludes form.
func formElicitationSupported(ctx context.Context) (bool, string) {
	var caps *mcp.ClientCapabilities
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		caps = info.ClientCapabilities
	} else if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		cc := s.GetClientCapabilities()
		caps = &cc
	}
	switch {
	case caps == nil || caps.Elicitation == nil:
		return false, "the MCP client does not support elicitation"
	case caps.Elicitation.Form == nil && caps.Elicitation.URL != nil:
		return false, "the MCP client supports only URL elicitation, not forms"
	}
	return true, ""
}

// requestParam reads an approval id or code from the arguments, else from _meta.
func requestParam(req *mcp.CallToolRequest, arg, meta string) string {
	if v, ok := req.GetArguments()[arg].(string); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	if m := req.Params.Meta; m != nil {
		if v, ok := m.AdditionalFields[meta].(string); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// fingerprint re-reads the target through Options.Reread.
func (c *Confirmer) fingerprint(ctx context.Context, plan policy.Plan) (string, error) {
	if c.reread == nil {
		return "", nil
	}
	fp, err := c.reread(ctx, plan)
	if err != nil {
		return "", fmt.Errorf("re-reading %s: %w", plan.Target, err)
	}
	return fp, nil
}

// errTargetChanged is the refusal when the target's state moved between asking and acting.
var errTargetChanged = errors.New("the target changed since the human was asked")

// recheck re-reads the target and compares it with the fingerprint taken when asking.
func (c *Confirmer) recheck(ctx context.Context, plan policy.Plan, want string) error {
	got, err := c.fingerprint(ctx, plan)
	if err != nil {
		return err
	}
	if got != want {
		return errTargetChanged
	}
	return nil
}

// Statuses reported in results' _meta and by CheckApproval.
const (
	StatusRefused          = "refused"
	StatusInputRequired    = "input_required"
	StatusApprovalRequired = "approval_required"
	StatusCodeRequired     = "confirmation_code_required"
	StatusPending          = "pending"
	StatusApproved         = "approved"
	StatusRejected         = "rejected"
	StatusUsed             = "used"
	StatusExpired          = "expired"
)

// MetaConfirmation is the result _meta key carrying machine-readable details of a refusal
// or of the next step (status, approval_id, approval_url, expires_at, code).
const MetaConfirmation = "msidm/confirmation"

// refuse builds a fail-closed answer: isError, the reason, that nothing changed, the next step.
func refuse(plan policy.Plan, reason, next string) policy.Confirmation {
	text := fmt.Sprintf("%s was not run: %s. Nothing was changed.", plan.Tool, reason)
	if next != "" {
		text += " " + next
	}
	return policy.Confirmation{Result: withMeta(mcp.NewToolResultError(text), map[string]any{"status": StatusRefused, "reason": reason})}
}

func withMeta(r *mcp.CallToolResult, fields map[string]any) *mcp.CallToolResult {
	r.Meta = &mcp.Meta{AdditionalFields: map[string]any{MetaConfirmation: fields}}
	return r
}

// planText renders the plan for a human: who asks, which systems and people, which steps,
// what is reversible and how.
func planText(plan policy.Plan, caller string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", plan.Summary)
	fmt.Fprintf(&b, "Tool: %s (%s), requested by %s\n", plan.Tool, plan.Effect, caller)
	if sys := planSystems(plan); len(sys) > 0 {
		fmt.Fprintf(&b, "Systems: %s\n", strings.Join(sys, ", "))
	}
	for _, p := range plan.Targets {
		fmt.Fprintf(&b, "Target: %s (%s %s)\n", p.Name, p.System, p.ID)
	}
	for i, s := range plan.Steps {
		fmt.Fprintf(&b, "%d. [%s] %s — %s (%s)\n", i+1, s.System, s.Action, s.Target, reversibility(s))
	}
	return b.String()
}

func reversibility(s policy.Step) string {
	if !s.Reversible {
		return "irreversible"
	}
	if s.Undo != "" {
		return "reversible: " + s.Undo
	}
	return "reversible"
}

func planSystems(plan policy.Plan) []string {
	var sys []string
	for _, s := range plan.Steps {
		if s.System != "" && !slices.Contains(sys, s.System) {
			sys = append(sys, s.System)
		}
	}
	for _, p := range plan.Targets {
		if p.System != "" && !slices.Contains(sys, p.System) {
			sys = append(sys, p.System)
		}
	}
	return sys
}

// matchTarget compares what the human typed with the plan's target: exact after trimming
// spaces, case-insensitive for UPNs and e-mail addresses (which Entra and Ads compare so).
func matchTarget(typed, target string) bool {
	typed, target = strings.TrimSpace(typed), strings.TrimSpace(target)
	if typed == "" || target == "" {
		return false
	}
	if strings.Contains(target, "@") {
		return strings.EqualFold(typed, target)
	}
	return typed == target
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
