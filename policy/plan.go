package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/policy/audit"
	"github.com/msidm/msidm/policy/rules"
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
	// The audit log stores them with secret-named fields redacted.
	Args any
	// DryRun asks for the plan only: Confirm never proceeds and nothing is recorded.
	DryRun bool
	// GrantsAdsRole is the Microsoft Advertising role id the plan grants (0 for none), so the
	// guard rails can require allow_super_admin for Super Admin (41).
	GrantsAdsRole int
	// Invitations are the e-mail addresses the call invites and NewUsers the UPNs it creates;
	// their domains must be on the policy's allow-lists (domains.invitations, domains.new_users).
	Invitations []string
	NewUsers    []string
}

// Hash is the hex SHA-256 of the plan's canonical JSON (DryRun excluded, secret-named
// arguments redacted); the audit log records it with every intent.
func (p Plan) Hash() string {
	args, err := audit.RedactArgs(p.Args, nil)
	if err != nil {
		args = json.RawMessage(strconv.Quote(fmt.Sprintf("%#v", p.Args)))
	}
	canon, err := json.Marshal(struct {
		Tool          string
		Effect        string
		Summary       string
		Target        string
		Targets       []Principal
		Steps         []Step
		Args          json.RawMessage
		GrantsAdsRole int
		Invitations   []string
		NewUsers      []string
	}{p.Tool, p.Effect.String(), p.Summary, p.Target, p.Targets, p.Steps, args, p.GrantsAdsRole, p.Invitations, p.NewUsers})
	if err != nil {
		panic(err) // strings, ints and JSON that RedactArgs produced
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// change is the plan as the guard rails see it.
func (p Plan) change() rules.Change {
	c := rules.Change{Tool: p.Tool, Destructive: p.Effect == Destructive, Invitations: p.Invitations, NewUsers: p.NewUsers}
	if p.GrantsAdsRole != 0 {
		c.AdsRoles = []int{p.GrantsAdsRole}
	}
	for _, t := range p.Targets {
		c.Targets = append(c.Targets, rules.Target{System: t.System, ID: t.ID, Name: t.Name})
	}
	return c
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

// Confirmation modes the Gate reports besides the confirmer's ("elicitation", "approval", "code").
const (
	ModeNotRequired = "not-required"
	ModeDryRun      = "dry-run"
)

// Outcome is what a tool reports after acting on a confirmed plan.
type Outcome = audit.Outcome

// Outcome statuses.
const (
	StatusDone    = audit.StatusDone
	StatusFailed  = audit.StatusFailed
	StatusPartial = audit.StatusPartial
)

// Confirmation is the policy's answer for one plan.
type Confirmation struct {
	// Proceed is true when the call may run now.
	Proceed bool
	// Mode says how the call was confirmed: "not-required", "elicitation", "approval", "code",
	// or "dry-run" for a dry run.
	Mode     string
	Approver string
	// Result, when Proceed is false, is what the tool must return as is: a refusal with the
	// reason, a request for input, an approval_required result with the next step, or the
	// plan and the policy's verdict for a dry run.
	Result *mcp.CallToolResult
	// Verdict, for a dry run, says what the policy would do with the plan, in one line.
	Verdict string
	// AuditID is the intent's sequence number in the audit log when Proceed is true.
	AuditID int64

	finish *finisher
}

type finisher struct {
	log  *audit.Log
	done atomic.Bool
}

// Finish records what happened after the tool acted on a confirmed plan: done, failed or
// partial, the error text, and Microsoft's request-id / TrackingId values. Call it exactly
// once after every call that Proceed allowed, whatever happened; an intent left without an
// outcome is reported as "outcome unknown" at the next start. Finish records even when ctx
// is already cancelled.
func (c Confirmation) Finish(ctx context.Context, o Outcome) error {
	if c.finish == nil {
		return fmt.Errorf("policy: Finish on a confirmation that did not proceed")
	}
	if !c.finish.done.CompareAndSwap(false, true) {
		return fmt.Errorf("policy: outcome of audit record %d already recorded", c.AuditID)
	}
	return c.finish.log.Outcome(context.WithoutCancel(ctx), c.AuditID, o)
}

// Confirm decides whether a plan may run now, and records it before it does. In order:
//
//  1. Check: an undeclared effect or read-only mode (flag, environment or policy file) refuses.
//  2. Reads proceed without asking; nothing is recorded.
//  3. The guard rails (rules.Policy.Evaluate) judge the plan, looking up the directory when
//     they need to; a lookup failure refuses.
//  4. A dry run stops here: Result holds the plan and the verdict; nothing is recorded.
//  5. A refusal is recorded in the audit log and returned.
//  6. Without an audit log nothing may change: refuse.
//  7. Destructive calls, and writes when the policy says so, need the Confirmer; a confirmation
//     without a mode, or by elicitation, approval or code when confirmation.modes leaves it
//     out, is refused.
//  8. The intent is written to the audit log; if that fails, the call is refused.
//
// When Proceed is true the tool acts and then calls Finish with the outcome.
func (g *Gate) Confirm(ctx context.Context, req *mcp.CallToolRequest, plan Plan) (Confirmation, error) {
	if err := g.Check(ctx, Call{Tool: plan.Tool, Effect: plan.Effect}); err != nil {
		return Confirmation{Result: mcp.NewToolResultError(err.Error() + "; nothing was changed")}, nil
	}
	if plan.Effect == Read {
		return Confirmation{Proceed: !plan.DryRun, Mode: ModeNotRequired}, nil
	}
	pol := g.Rules()
	verdict := pol.Evaluate(ctx, g.cfg.Directory, plan.change(), g.now())
	needs := plan.Effect == Destructive || g.cfg.ConfirmWrites || pol.ConfirmWrites
	if plan.DryRun {
		return dryRun(plan, verdict, needs, pol), nil
	}
	rec := g.record(ctx, plan)
	if verdict != nil {
		denied := &Denied{Call: Call{Tool: plan.Tool, Effect: plan.Effect}, Reason: verdict.Error()}
		if g.cfg.Audit == nil {
			g.logger().Warn("refusal not audited: no audit log", "tool", plan.Tool, "reason", verdict.Error())
		} else if _, err := g.cfg.Audit.Refused(ctx, rec, verdict.Error()); err != nil {
			g.logger().Error("refusal not audited", "tool", plan.Tool, "err", err)
		}
		return Confirmation{Result: mcp.NewToolResultError(denied.Error() + "; nothing was changed")}, nil
	}
	if g.cfg.Audit == nil {
		return Confirmation{Result: mcp.NewToolResultError(plan.Tool + " cannot run: msidm has no audit log to record it in, " +
			"and every change is recorded before it runs; nothing was changed. This is a configuration fault: report it to the operator.")}, nil
	}
	c := Confirmation{Proceed: true, Mode: ModeNotRequired}
	if needs {
		if g.confirmer == nil {
			return Confirmation{Result: mcp.NewToolResultError(fmt.Sprintf(
				"%s needs a human's confirmation, and no confirmation method is available: nothing was changed. "+
					"Use a client that supports elicitation, or enable the approval page; call again with dry_run=true to see the plan.\n\n%s",
				plan.Tool, plan.Text()))}, nil
		}
		var err error
		if c, err = g.confirmer.Confirm(ctx, req, plan); err != nil || !c.Proceed {
			return c, err
		}
		// A reload may have narrowed confirmation.modes since the confirmer was configured.
		known := []string{rules.ModeElicitation, rules.ModeApproval, rules.ModeCode}
		if c.Mode == "" || c.Mode == ModeNotRequired || (slices.Contains(known, c.Mode) && !slices.Contains(pol.ConfirmationModes, c.Mode)) {
			return Confirmation{Result: mcp.NewToolResultError(fmt.Sprintf(
				"%s was confirmed by %q, which the policy (%s) does not allow (confirmation.modes: %s); nothing was changed",
				plan.Tool, c.Mode, pol.Source, strings.Join(pol.ConfirmationModes, ", ")))}, nil
		}
	}
	rec.Mode, rec.Approver = c.Mode, c.Approver
	id, err := g.cfg.Audit.Intent(ctx, rec)
	if err != nil {
		g.logger().Error("audit intent not written; call refused", "tool", plan.Tool, "err", err)
		return Confirmation{Result: mcp.NewToolResultError(fmt.Sprintf(
			"%s was not run: msidm could not record it in the audit log (%v); nothing was changed. Tell the operator.", plan.Tool, err))}, nil
	}
	c.AuditID, c.finish = id, &finisher{log: g.cfg.Audit}
	return c, nil
}

// dryRun answers a dry run: the plan, and what the policy would do with it.
func dryRun(plan Plan, verdict error, needs bool, pol *rules.Policy) Confirmation {
	v := "would run without confirmation"
	switch {
	case verdict != nil:
		v = "would be refused: " + verdict.Error()
	case needs:
		v = "would need a human's confirmation (" + strings.Join(pol.ConfirmationModes, ", ") + ")"
	}
	return Confirmation{Mode: ModeDryRun, Verdict: v, Result: mcp.NewToolResultText(
		"Dry run: nothing was changed.\n\n" + plan.Text() + "\nPolicy: " + v + "\nPlan hash: " + plan.Hash() + "\n")}
}

// record is the audit record of a plan, before confirmation.
func (g *Gate) record(ctx context.Context, plan Plan) audit.Record {
	return audit.Record{Caller: g.caller(ctx), Tool: plan.Tool, Effect: plan.Effect.String(), Target: plan.Target,
		Summary: plan.Summary, Args: plan.Args, PlanHash: plan.Hash()}
}

// Confirmer asks a human to confirm a plan (elicitation, approval page, confirmation code).
type Confirmer interface {
	Confirm(ctx context.Context, req *mcp.CallToolRequest, plan Plan) (Confirmation, error)
}

// SetConfirmer installs the confirmation mechanisms.
func (g *Gate) SetConfirmer(c Confirmer) { g.confirmer = c }
