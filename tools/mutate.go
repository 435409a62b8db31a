package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy"
)

// Every mutating tool follows one sequence: read the target fresh, build the plan, ask the
// policy (guard rails, confirmation, audit intent), act, report each step. This file holds
// the shared parts so each tool only says what it plans and how it acts.

// mutationFields are embedded in every mutating tool's input: a dry run, and the two ways a
// human's confirmation comes back when the client cannot elicit (policy/confirm reads them
// from the request; they are not part of what the plan binds).
type mutationFields struct {
	DryRun           bool   `json:"dry_run,omitempty" jsonschema_description:"Only return the plan."`
	ApprovalID       string `json:"approval_id,omitempty" jsonschema_description:"Set after a human approved this plan on the approval page."`
	ConfirmationCode string `json:"confirmation_code,omitempty" jsonschema_description:"Code returned by the previous identical call (code mode)."`
}

// canonicalArgs are the arguments a plan is bound to: the input without the fields that only
// carry the confirmation itself.
func canonicalArgs(in any) map[string]any {
	raw, _ := json.Marshal(in)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for _, k := range []string{"dry_run", "approval_id", "confirmation_code"} {
		delete(m, k)
	}
	return m
}

// StepResult is one step of a mutation as it ran (or would run, in a dry run).
type StepResult struct {
	System     string `json:"system"`
	Action     string `json:"action"`
	Target     string `json:"target"`
	Status     string `json:"status" jsonschema:"enum=planned,enum=done,enum=skipped,enum=failed"`
	Reversible bool   `json:"reversible"`
	Undo       string `json:"undo,omitempty"`
	Detail     string `json:"detail,omitempty" jsonschema_description:"Why a step was skipped or failed, with Microsoft's request-id or TrackingId."`
}

// MutationResult is the output of every mutating tool.
type MutationResult struct {
	Tool     string       `json:"tool"`
	Status   string       `json:"status" jsonschema:"enum=done,enum=dry_run,enum=no_change,enum=partial,enum=failed"`
	Summary  string       `json:"summary"`
	Steps    []StepResult `json:"steps"`
	Warnings []string     `json:"warnings,omitempty"`
	Policy   string       `json:"policy,omitempty" jsonschema_description:"For a dry run: what the policy would do with this plan."`
	Next     string       `json:"next,omitempty" jsonschema_description:"A suggested next call, if any."`
}

func (m MutationResult) failed() bool { return m.Status == "failed" || m.Status == "partial" }

func (m MutationResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s — %s\n", m.Tool, m.Status, m.Summary)
	for i, s := range m.Steps {
		fmt.Fprintf(&b, "%d. [%s] %s %s: %s", i+1, s.System, s.Action, s.Target, s.Status)
		if s.Detail != "" {
			fmt.Fprintf(&b, " (%s)", s.Detail)
		}
		b.WriteString("\n")
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if m.Next != "" {
		fmt.Fprintf(&b, "next: %s\n", m.Next)
	}
	return b.String()
}

// action is one step of a plan and the function that performs it. run returns a detail for
// the report (for example "already disabled") and an error when the step failed.
type action struct {
	step policy.Step
	run  func(ctx context.Context) (detail string, skipped bool, err error)
}

// mutation is a planned change ready to be confirmed and executed.
type mutation struct {
	plan     policy.Plan
	actions  []action
	warnings []string
	next     string
}

// execute asks the policy, then runs the actions in order. A failed step stops the ones after
// it: steps of a single-target tool depend on each other.
func (d *Deps) execute(ctx context.Context, call *Call, m mutation) (MutationResult, error) {
	res := MutationResult{Tool: m.plan.Tool, Summary: m.plan.Summary, Warnings: m.warnings}
	for _, a := range m.actions {
		m.plan.Steps = append(m.plan.Steps, a.step)
	}
	m.plan.Args = canonicalArgs(m.plan.Args)
	conf, err := d.Gate.Confirm(ctx, call.req, m.plan)
	if err != nil {
		return res, err
	}
	if m.plan.DryRun {
		res.Status, res.Policy = "dry_run", conf.Verdict
		for _, a := range m.actions {
			res.Steps = append(res.Steps, stepResult(a.step, "planned", ""))
		}
		res.Next = "call again without dry_run to make these changes"
		return res, nil
	}
	if !conf.Proceed {
		return res, &readyResult{res: conf.Result}
	}
	res.Status = "done"
	failed := false
	var ids, errs []string
	for _, a := range m.actions {
		if failed {
			res.Steps = append(res.Steps, stepResult(a.step, "skipped", "an earlier step failed"))
			continue
		}
		detail, skipped, err := a.run(ctx)
		switch {
		case err != nil:
			failed = true
			res.Status = "failed"
			ids = append(ids, requestIDs(err)...)
			errs = append(errs, d.errors.text(err))
			res.Steps = append(res.Steps, stepResult(a.step, "failed", d.errors.text(err)))
		case skipped:
			res.Steps = append(res.Steps, stepResult(a.step, "skipped", detail))
		default:
			res.Steps = append(res.Steps, stepResult(a.step, "done", detail))
		}
	}
	if failed && res.Steps[0].Status != "failed" {
		res.Status = "partial"
	}
	if res.Status == "done" && allSkipped(res.Steps) {
		res.Status = "no_change"
	}
	if !failed {
		res.Next = m.next
	}
	outcome := policy.Outcome{Status: policy.StatusDone, RequestIDs: ids, Error: strings.Join(errs, "; ")}
	switch res.Status {
	case "failed":
		outcome.Status = policy.StatusFailed
	case "partial":
		outcome.Status = policy.StatusPartial
	}
	// Recorded even when the call was cancelled: the audit must say what happened.
	if err := conf.Finish(context.WithoutCancel(ctx), outcome); err != nil {
		d.Logger.Error("audit outcome not written", "tool", m.plan.Tool, "err", err)
		res.Warnings = append(res.Warnings, "the outcome could not be written to the audit log; tell the operator")
	}
	return res, nil
}

// requestIDs extracts Microsoft's correlation ids from an error for the audit log.
func requestIDs(err error) []string {
	var ge *graph.Error
	var fault *ads.Fault
	switch {
	case errors.As(err, &ge) && ge.RequestID != "":
		return []string{"graph:" + ge.RequestID}
	case errors.As(err, &fault) && fault.TrackingID != "":
		return []string{"ads:" + fault.TrackingID}
	}
	return nil
}

func stepResult(s policy.Step, status, detail string) StepResult {
	return StepResult{System: s.System, Action: s.Action, Target: s.Target, Status: status,
		Reversible: s.Reversible, Undo: s.Undo, Detail: detail}
}

func allSkipped(steps []StepResult) bool {
	for _, s := range steps {
		if s.Status != "skipped" {
			return false
		}
	}
	return len(steps) > 0
}
