package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// Plan describes exactly what a mutating tool call will do, before it does anything. The
// tool builds it from fresh reads of the target; the policy shows it to the human who
// confirms, binds approvals to it, and records it in the audit log.
type Plan struct {
	Tool    string
	Effect  Effect
	Summary string // one line: "Disable sign-in for adele.vance@contoso.example"
	// Target is the identifier a human must type to confirm (UPN, e-mail, user id); for a
	// call on several people, their identifiers joined by ", ".
	Target string
	// Targets are the principals the call changes, for guard rails (protected users, bulk limit).
	Targets []Principal
	Steps   []Step
	// Args are the call's canonical arguments; approvals and codes are bound to their digest.
	Args   any
	DryRun bool
}

// Principal is one person or object a plan changes.
type Principal struct {
	System string // "entra" or "ads"
	ID     string // object id or Ads user id
	Name   string // UPN, e-mail or user name
}

// Step is one action of a plan, in execution order.
type Step struct {
	System     string // "entra" or "ads"
	Action     string // "block sign-in", "remove from group Sales", …
	Target     string
	Reversible bool
	Undo       string // how to reverse it, when Reversible
}

// Text renders the plan for a human: numbered steps with reversibility.
func (p Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", p.Summary)
	for i, s := range p.Steps {
		rev := "irreversible"
		if s.Reversible {
			rev = "reversible"
			if s.Undo != "" {
				rev += ": " + s.Undo
			}
		}
		fmt.Fprintf(&b, "%d. [%s] %s — %s (%s)\n", i+1, s.System, s.Action, s.Target, rev)
	}
	return b.String()
}

// Confirmation is the policy's answer for one plan.
type Confirmation struct {
	// Proceed is true when the call may run now.
	Proceed bool
	// Mode says how the call was confirmed: "not-required", "elicitation", "approval", "code".
	Mode     string
	Approver string
	// Result, when Proceed is false, is what the tool must return as is: a refusal with the
	// reason, a request for input, or an approval_required result with the next step.
	Result *mcp.CallToolResult
}

// Confirm decides whether a plan may run now. Reads never ask. Destructive calls, and writes
// when the policy says so, need a human's confirmation that an agent cannot forge; until the
// confirmation mechanisms are configured, Confirm fails closed for them and says why.
func (g *Gate) Confirm(ctx context.Context, req *mcp.CallToolRequest, plan Plan) (Confirmation, error) {
	if err := g.Check(ctx, Call{Tool: plan.Tool, Effect: plan.Effect}); err != nil {
		return Confirmation{Result: mcp.NewToolResultError(err.Error())}, nil
	}
	if plan.DryRun || plan.Effect == Read {
		return Confirmation{Proceed: !plan.DryRun, Mode: "not-required"}, nil
	}
	if plan.Effect == Write && !g.cfg.ConfirmWrites {
		return Confirmation{Proceed: true, Mode: "not-required"}, nil
	}
	if g.confirmer != nil {
		return g.confirmer.Confirm(ctx, req, plan)
	}
	return Confirmation{Result: mcp.NewToolResultError(fmt.Sprintf(
		"%s needs a human's confirmation, and no confirmation method is available: nothing was changed. "+
			"Use a client that supports elicitation, or enable the approval page; call again with dry_run=true to see the plan.\n\n%s",
		plan.Tool, plan.Text()))}, nil
}

// Confirmer asks a human to confirm a plan (elicitation, approval page, confirmation code).
type Confirmer interface {
	Confirm(ctx context.Context, req *mcp.CallToolRequest, plan Plan) (Confirmation, error)
}

// SetConfirmer installs the confirmation mechanisms.
func (g *Gate) SetConfirmer(c Confirmer) { g.confirmer = c }
