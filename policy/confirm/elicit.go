package confirm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/msidm/msidm/policy"
)

// askElicitation asks the human, through the client, to type the target's identifier.
//
// It returns an input_required result built with mcp-go's InputRequestBuilder: a 2026-07-28
// client answers by retrying the call with inputResponses and the echoed requestState
// (SEP-2322); for a 2025-11-25 client mcp-go sends elicitation/create itself and re-invokes
// the handler with the answer. Either way the answer comes back to Confirm on a retry, with
// the sealed state, and finishElicitation decides.
//
// The wait is bounded by ElicitationTimeout through the sealed expiry: an answer that
// arrives later is refused. (In the 2025-11-25 bridge mcp-go waits for the client while the
// request lasts, so a human who never answers holds the call until the host cancels it.)
func (c *Confirmer) askElicitation(ctx context.Context, plan policy.Plan, caller, digest string) policy.Confirmation {
	if strings.TrimSpace(plan.Target) == "" {
		return refuse(plan, "the plan names no target to confirm (a bug in the tool)", "")
	}
	fp, err := c.fingerprint(ctx, plan)
	if err != nil {
		return refuse(plan, err.Error(), "Try again.")
	}
	expires := c.now().Add(c.elicitTimeout)
	state := c.seal(sealedState{
		V: 1, ID: randomID(), Tool: plan.Tool, Digest: digest, Target: plan.Target,
		Caller: caller, Fingerprint: fp, Expires: expires.UnixMilli(),
	})
	msg := fmt.Sprintf("msidm will change nothing until you confirm this plan.\n\n%s\n"+
		"To confirm, type %s exactly. Decline or cancel and nothing happens. This request expires at %s.",
		planText(plan, caller), plan.Target, formatTime(expires))
	params := mcp.ElicitationParams{
		Mode:    mcp.ElicitationModeForm,
		Message: msg,
		RequestedSchema: map[string]any{
			"type":     "object",
			"required": []string{FieldConfirmTarget},
			"properties": map[string]any{
				FieldConfirmTarget: map[string]any{
					"type":        "string",
					"title":       "Type the target to confirm",
					"description": "Type " + plan.Target + " to confirm; anything else cancels.",
					"minLength":   1,
				},
			},
		},
	}
	return policy.Confirmation{Result: server.NewInputRequestBuilder(state).Elicit(ElicitationID, params).ToolResult()}
}

// finishElicitation verifies the retry of a call that asked for confirmation. Every check
// fails closed: the state must open with our key, name this caller and this exact binding,
// be in time and unused; the human must have accepted and typed the target; and the
// target must not have changed since they were asked.
func (c *Confirmer) finishElicitation(ctx context.Context, req *mcp.CallToolRequest, plan policy.Plan, caller, digest string, answer *mcp.ElicitationResult) policy.Confirmation {
	const again = "Call the tool again to be asked anew."
	if !slices.Contains(c.allowedModes(), ModeElicitation) {
		return refuse(plan, "the call carries an elicitation answer, but elicitation is not an allowed confirmation mode", "Call the tool again without it.")
	}
	st, err := c.open(req.Params.RequestState)
	if err != nil {
		return refuse(plan, err.Error(), again)
	}
	now := c.now()
	switch {
	case st.Caller != caller:
		return refuse(plan, "the confirmation was requested by a different caller", again)
	case st.Tool != plan.Tool || st.Digest != digest || st.Target != plan.Target:
		return refuse(plan, "the confirmation was for different arguments or a different plan", again)
	case now.After(time.UnixMilli(st.Expires)):
		return refuse(plan, fmt.Sprintf("the confirmation timed out (no answer within %s)", c.elicitTimeout), again)
	case !c.spent.use("elicit:"+st.ID, time.UnixMilli(st.Expires), now):
		return refuse(plan, "this confirmation was already used (each is single use)", again)
	case answer == nil:
		return refuse(plan, "the call carries no answer to the confirmation request", again)
	}
	switch answer.Action {
	case mcp.ElicitationResponseActionDecline:
		return refuse(plan, "the human declined", "")
	case mcp.ElicitationResponseActionCancel:
		return refuse(plan, "the human cancelled", "")
	case mcp.ElicitationResponseActionAccept:
	default:
		return refuse(plan, fmt.Sprintf("the confirmation answer %q is not accept", answer.Action), again)
	}
	typed, _ := contentField(answer.Content, FieldConfirmTarget)
	if !matchTarget(typed, st.Target) {
		return refuse(plan, fmt.Sprintf("the identifier typed (%q) does not match the target %q", typed, st.Target), again)
	}
	if err := c.recheck(ctx, plan, st.Fingerprint); err != nil {
		return refuse(plan, err.Error(), again)
	}
	return policy.Confirmation{Proceed: true, Mode: ModeElicitation, Approver: caller}
}

// contentField reads a string field of an elicitation answer, whatever its decoded shape.
func contentField(content any, field string) (string, bool) {
	switch m := content.(type) {
	case map[string]any:
		s, ok := m[field].(string)
		return s, ok
	case map[string]string:
		s, ok := m[field]
		return s, ok
	}
	return "", false
}
