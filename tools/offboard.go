package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/clients/transport"
	"github.com/msidm/msidm/offboard"
	"github.com/msidm/msidm/policy"
)

// The offboarding tools drive offboard.Engine: resolve each person everywhere, plan, ask the
// policy once for the whole call, then run each person's steps from the durable journal
// (d.Journal) and verify the result. offboard_status reads a run; offboard_resume continues it.

type offboardInput struct {
	People         []string `json:"people" jsonschema:"minItems=1" jsonschema_description:"UPNs, e-mails or object ids."`
	Reason         string   `json:"reason" jsonschema:"minLength=1" jsonschema_description:"Ticket id or reason."`
	Entra          string   `json:"entra,omitempty" jsonschema:"enum=disable,enum=disable_and_delete"`
	RevokeSessions *bool    `json:"revoke_sessions,omitempty"`
	RemoveGroups   *bool    `json:"remove_groups,omitempty"`
	RemoveLicenses *bool    `json:"remove_licenses,omitempty"`
	Ads            string   `json:"ads,omitempty" jsonschema:"enum=deactivate,enum=remove_roles,enum=skip"`
	LeaveDate      string   `json:"set_leave_date,omitempty" jsonschema:"format=date"`
	mutationFields
}

func (in *offboardInput) validate() error {
	if len(in.People) == 0 {
		return inputError("people is required: one or more UPNs, e-mail addresses or object ids")
	}
	for _, p := range in.People {
		if strings.TrimSpace(p) == "" {
			return inputError("people must not contain empty entries")
		}
	}
	if strings.TrimSpace(in.Reason) == "" {
		return inputError("reason is required: a ticket id or a short reason, recorded with the run")
	}
	switch in.Entra {
	case "", offboard.EntraDisable, offboard.EntraDisableAndDelete:
	default:
		return inputError("entra must be disable or disable_and_delete")
	}
	switch in.Ads {
	case "", offboard.AdsDeactivate, offboard.AdsRemoveRoles, offboard.AdsSkip:
	default:
		return inputError("ads must be deactivate, remove_roles or skip")
	}
	if in.LeaveDate != "" {
		if _, err := time.Parse(time.DateOnly, in.LeaveDate); err != nil {
			return inputError("set_leave_date must be a date like 2026-12-31")
		}
	}
	return nil
}

func (in *offboardInput) options() offboard.Options {
	o := offboard.Defaults()
	if in.Entra != "" {
		o.Entra = in.Entra
	}
	if in.Ads != "" {
		o.Ads = in.Ads
	}
	for _, b := range []struct {
		in  *bool
		out *bool
	}{{in.RevokeSessions, &o.RevokeSessions}, {in.RemoveGroups, &o.RemoveGroups}, {in.RemoveLicenses, &o.RemoveLicenses}} {
		if b.in != nil {
			*b.out = *b.in
		}
	}
	o.LeaveDate = in.LeaveDate
	return o
}

// OffboardStep is one step of a person's run.
type OffboardStep struct {
	Key        string   `json:"key"` // entra/… or ads/…
	System     string   `json:"-"`
	Action     string   `json:"action"`
	Target     string   `json:"target"`
	Status     string   `json:"status"`
	Reversible bool     `json:"-"`
	Detail     string   `json:"detail,omitempty"`
	RequestIDs []string `json:"request_ids,omitempty"`
	Attempts   int      `json:"attempts,omitempty"`
}

// PersonOffboard is one person's run and its verification.
type PersonOffboard struct {
	Person      string           `json:"person"`
	RunID       string           `json:"run_id,omitempty"`
	Status      string           `json:"status"`
	Steps       []OffboardStep   `json:"steps"`
	Checks      []offboard.Check `json:"verification,omitempty"`
	Invitations []string         `json:"pending_invitations,omitempty"`
}

// OffboardResult is the output of offboard_everywhere, offboard_resume and offboard_status.
type OffboardResult struct {
	Status   string           `json:"status" jsonschema:"enum=done,enum=dry_run,enum=no_change,enum=partial,enum=failed,enum=unfinished"`
	Summary  string           `json:"summary"`
	People   []PersonOffboard `json:"people"`
	Warnings []string         `json:"warnings,omitempty"`
	Policy   string           `json:"policy,omitempty"`
	Next     string           `json:"next,omitempty"`
}

func (r OffboardResult) failed() bool { return r.Status == "failed" || r.Status == "partial" }

func (r OffboardResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n", r.Status, r.Summary)
	for _, p := range r.People {
		fmt.Fprintf(&b, "%s: %s (run %s)\n", p.Person, p.Status, p.RunID)
		for i, s := range p.Steps {
			fmt.Fprintf(&b, "  %d. [%s] %s %s: %s", i+1, s.System, s.Action, s.Target, s.Status)
			if s.Detail != "" {
				fmt.Fprintf(&b, " (%s)", s.Detail)
			}
			b.WriteString("\n")
		}
		for _, c := range p.Checks {
			fmt.Fprintf(&b, "  %s [%s] %s %s: %s\n", c.Result, c.System, c.Check, c.Target, c.Detail)
		}
		for _, i := range p.Invitations {
			fmt.Fprintf(&b, "  pending invitation: %s\n", i)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if r.Next != "" {
		fmt.Fprintf(&b, "next: %s\n", r.Next)
	}
	return b.String()
}

// fallbackJournals hold an in-memory journal per Deps when the server was built without
// one (Deps.Journal nil): runs then last only as long as the process, and results say so.
var fallbackJournals sync.Map // *Deps -> *offboard.Journal

const volatileJournal = "the offboarding journal is in memory only (no state directory configured): a restart loses unfinished runs"

func (d *Deps) journal(ctx context.Context) (*offboard.Journal, []string, error) {
	if d.Journal != nil {
		return d.Journal, nil, nil
	}
	if j, ok := fallbackJournals.Load(d); ok {
		return j.(*offboard.Journal), []string{volatileJournal}, nil
	}
	j, err := offboard.OpenMemory(ctx)
	if err != nil {
		return nil, nil, err
	}
	if prev, loaded := fallbackJournals.LoadOrStore(d, j); loaded {
		_ = j.Close()
		j = prev.(*offboard.Journal)
	}
	return j, []string{volatileJournal}, nil
}

func (d *Deps) engine(ctx context.Context, call *Call, j *offboard.Journal, total int) *offboard.Engine {
	var mu sync.Mutex
	done := 0
	return &offboard.Engine{Graph: d.Graph, Ads: d.Ads, Journal: j, Progress: func(_ string, s offboard.StepState) {
		mu.Lock()
		done++
		n := done
		mu.Unlock()
		call.Progress(ctx, n, total, fmt.Sprintf("%s %s %s: %s", s.System, s.Action, s.Target, s.Status))
	}}
}

// offboardCase is one person resolved and planned.
type offboardCase struct {
	ref        string
	person     offboard.Person
	key        string
	existing   *offboard.Run
	steps      []offboard.Step
	principals []offboard.Principal
	invites    []string
}

func offboardEverywhere(d *Deps) Tool {
	return define(spec{Name: "offboard_everywhere", Title: "Offboard a leaver everywhere",
		Description: "Remove leavers' access in Entra ID and all Ads customers, then verify. Defaults: entra=disable, ads=deactivate, revoke/groups/licences true. Same person+reason continues the run.",
		Toolset:     ToolsetCross, Effect: policy.Destructive, Idempotent: true},
		func(ctx context.Context, call *Call, in offboardInput) (OffboardResult, error) {
			j, warnings, err := d.journal(ctx)
			if err != nil {
				return OffboardResult{}, err
			}
			opts := in.options()
			cases, warns, err := d.planOffboarding(ctx, call, j, in.People, strings.TrimSpace(in.Reason), opts)
			if err != nil {
				return OffboardResult{}, err
			}
			warnings = append(warnings, warns...)
			plan := policy.Plan{Tool: "offboard_everywhere", Effect: policy.Destructive, Args: canonicalArgs(in), DryRun: in.DryRun}
			var names []string
			res := OffboardResult{Warnings: warnings}
			for _, c := range cases {
				names = append(names, c.ref)
				p := PersonOffboard{Person: c.ref, Status: "planned", Invitations: c.invites, Steps: []OffboardStep{}}
				if c.existing != nil {
					p.RunID = c.existing.ID
				}
				for _, s := range remaining(c) {
					plan.Steps = append(plan.Steps, policy.Step{System: s.System, Action: s.Action, Target: s.Target, Reversible: s.Reversible, Undo: s.Undo})
					p.Steps = append(p.Steps, stepView(offboard.StepState{Step: s, Status: planStatus(s)}))
				}
				for _, pr := range c.principals {
					plan.Targets = append(plan.Targets, policy.Principal{System: pr.System, ID: pr.ID, Name: pr.Name})
				}
				res.People = append(res.People, p)
			}
			plan.Target = strings.Join(names, ", ")
			plan.Summary = fmt.Sprintf("Offboard %s everywhere (%s): %d step(s)", plan.Target, in.Reason, len(plan.Steps))
			res.Summary = plan.Summary
			if in.DryRun {
				conf, err := d.Gate.Confirm(ctx, call.req, plan)
				if err != nil {
					return res, err
				}
				res.Status, res.Policy, res.Next = "dry_run", conf.Verdict, "call again without dry_run to offboard"
				return res, nil
			}
			// The plan is journaled before confirmation (status unconfirmed): an approval that
			// comes back later, or offboard_resume, continues exactly this run.
			for i, c := range cases {
				run := offboard.Run{ID: c.runID(in.Reason), PersonKey: c.key, Person: c.ref, Ticket: strings.TrimSpace(in.Reason),
					Options: opts, Principals: c.principals, Status: offboard.StatusUnconfirmed}
				if c.existing != nil {
					run.Status = c.existing.Status
				}
				if _, err := j.Begin(ctx, run, c.steps); err != nil {
					return res, err
				}
				res.People[i].RunID = run.ID
			}
			conf := policy.Confirmation{}
			if len(plan.Steps) > 0 { // nothing left to change needs no confirmation; the state is still proven
				if conf, err = d.Gate.Confirm(ctx, call.req, plan); err != nil {
					return res, err
				}
				if !conf.Proceed {
					return res, &readyResult{res: conf.Result}
				}
			}
			return d.runOffboarding(ctx, call, j, cases, in.Reason, conf, res)
		}, d.errors)
}

func planStatus(s offboard.Step) string {
	if s.CannotReason != "" {
		return "skipped"
	}
	return "planned"
}

// remaining are a case's planned steps that its earlier run has not finished.
func remaining(c offboardCase) []offboard.Step {
	if c.existing == nil {
		return c.steps
	}
	finished := map[string]bool{}
	for _, s := range c.existing.Steps {
		finished[s.Key] = s.Status == offboard.StatusDone || s.Status == offboard.StatusSkipped
	}
	var out []offboard.Step
	for _, s := range c.steps {
		if !finished[s.Key] {
			out = append(out, s)
		}
	}
	return out
}

// planOffboarding resolves every person in parallel and plans their steps.
func (d *Deps) planOffboarding(ctx context.Context, call *Call, j *offboard.Journal, people []string, reason string, opts offboard.Options) ([]offboardCase, []string, error) {
	cases := make([]offboardCase, len(people))
	errs := make([]error, len(people))
	warns := make([][]string, len(people))
	sem := make(chan struct{}, max(2, d.Concurrency/4))
	var wg sync.WaitGroup
	eng := &offboard.Engine{Graph: d.Graph, Ads: d.Ads, Journal: j}
	for i, ref := range people {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cases[i], warns[i], errs[i] = d.planPerson(ctx, call, eng, j, strings.TrimSpace(ref), reason, opts)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var all []string
	for _, w := range warns {
		all = append(all, w...)
	}
	return cases, all, nil
}

func (d *Deps) planPerson(ctx context.Context, call *Call, eng *offboard.Engine, j *offboard.Journal, ref, reason string, opts offboard.Options) (offboardCase, []string, error) {
	c := offboardCase{ref: ref}
	// Resolution only reads: safe to resend after a 503 (SOAP reads are POSTs).
	rctx := transport.WithIdempotent(ctx)
	pe, err := d.findEverywhere(rctx, call, ref, true)
	if err != nil {
		return c, nil, err
	}
	var warns []string
	for _, e := range pe.Errors {
		warns = append(warns, fmt.Sprintf("%s: Microsoft Advertising search incomplete: %s", ref, e))
	}
	if pe.Entra == nil && len(pe.AdsUsers) == 0 {
		return c, nil, inputError("%q is not an Entra user and matches no Microsoft Advertising user; check the address with find_user_everywhere", ref)
	}
	if pe.Entra != nil {
		u := pe.user // read by the resolution with every field the plan needs (userSelect)
		c.person.Entra = u
		// Keyed by UPN, not object id: the run id can be named in advance, and a person whose
		// Entra account is already soft-deleted (found by address only) keeps the same run.
		c.key = strings.ToLower(u.UserPrincipalName)
		c.principals = append(c.principals, offboard.Principal{System: "entra", ID: u.ID, Name: u.UserPrincipalName})
		if isTrue(u.OnPremisesSyncEnabled) {
			warns = append(warns, u.UserPrincipalName+" is synced from on-premises AD: also disable it in AD, or the next sync may re-enable it")
		}
	} else {
		c.key = strings.ToLower(ref)
	}
	for _, a := range pe.AdsUsers {
		c.person.Ads = append(c.person.Ads, offboard.AdsUser{CustomerID: a.CustomerID, ID: a.ID, UserName: a.UserName})
		c.principals = append(c.principals, offboard.Principal{System: "ads", ID: fmt.Sprint(a.ID), Name: a.UserName})
	}
	for _, inv := range pe.Invitations {
		c.invites = append(c.invites, fmt.Sprintf("invitation %d to %s (%s) cannot be cancelled through the API: withdraw it in the Microsoft Advertising UI", inv.ID, inv.Email, inv.Role))
	}
	if c.steps, err = eng.Plan(rctx, c.person, opts); err != nil {
		return c, nil, err
	}
	if c.existing, err = j.Find(ctx, c.key, reason); err != nil {
		return c, nil, err
	}
	return c, warns, nil
}

// runOffboarding records each person's run, executes them with bounded parallelism, verifies
// them and records the outcome in the audit log.
func (d *Deps) runOffboarding(ctx context.Context, call *Call, j *offboard.Journal, cases []offboardCase, reason string, conf policy.Confirmation, res OffboardResult) (OffboardResult, error) {
	total := 0
	for _, c := range cases {
		total += len(c.steps)
	}
	eng := d.engine(ctx, call, j, total)
	people := make([]PersonOffboard, len(cases))
	sem := make(chan struct{}, max(2, d.Concurrency/4))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			people[i] = d.executeRun(ctx, eng, j, offboard.Run{ID: c.runID(reason), Person: c.ref})
			people[i].Person, people[i].Invitations = c.ref, c.invites
		})
	}
	wg.Wait()
	res.People = people
	return d.finishOffboarding(ctx, conf, res), nil
}

// executeRun begins (or continues) one run, executes it and verifies it.
func (d *Deps) executeRun(ctx context.Context, eng *offboard.Engine, j *offboard.Journal, run offboard.Run) PersonOffboard {
	p := PersonOffboard{Person: run.Person, RunID: run.ID, Steps: []OffboardStep{}}
	done, err := eng.Execute(ctx, run.ID)
	if err != nil {
		p.Status = "failed"
		detail := d.errors.text(err)
		if errors.Is(err, offboard.ErrBusy) {
			detail = "this run is already in progress in another call; check it with offboard_status"
		}
		if rec, gerr := j.Get(context.WithoutCancel(ctx), run.ID); gerr == nil {
			p = personView(rec, nil)
		}
		p.Status = "failed"
		p.Steps = append(p.Steps, OffboardStep{Key: "run", System: "msidm", Action: "run stopped", Status: "failed", Detail: detail})
		return p
	}
	return personView(done, eng.Verify(ctx, done))
}

func personView(r *offboard.Run, checks []offboard.Check) PersonOffboard {
	p := PersonOffboard{Person: r.Person, RunID: r.ID, Status: r.Status, Steps: []OffboardStep{}, Checks: checks}
	for _, s := range r.Steps {
		p.Steps = append(p.Steps, stepView(s))
	}
	for _, c := range checks {
		if c.Result != "PASS" && p.Status == offboard.StatusDone {
			p.Status = offboard.StatusPartial
		}
	}
	return p
}

func stepView(s offboard.StepState) OffboardStep {
	detail := s.Detail
	if s.CannotReason != "" && detail == "" {
		detail = s.CannotReason
	}
	return OffboardStep{Key: s.Key, System: s.System, Action: s.Action, Target: s.Target, Status: s.Status,
		Reversible: s.Reversible, Detail: detail, RequestIDs: s.RequestIDs, Attempts: s.Attempts}
}

// finishOffboarding sets the overall status and writes the audit outcome.
func (d *Deps) finishOffboarding(ctx context.Context, conf policy.Confirmation, res OffboardResult) OffboardResult {
	done, bad := 0, 0
	var ids, errs []string
	for _, p := range res.People {
		if p.Status == offboard.StatusDone {
			done++
		} else {
			bad++
		}
		for _, s := range p.Steps {
			ids = append(ids, s.RequestIDs...)
			if s.Status == offboard.StatusFailed {
				errs = append(errs, s.Key+": "+s.Detail)
			}
		}
	}
	res.Status = "done"
	outcome := policy.Outcome{Status: policy.StatusDone, RequestIDs: ids, Error: strings.Join(errs, "; ")}
	switch {
	case bad > 0 && done == 0 && allFailed(res.People):
		res.Status, outcome.Status = "failed", policy.StatusFailed
	case bad > 0:
		res.Status, outcome.Status = "partial", policy.StatusPartial
	}
	if res.Status != "done" {
		var runs []string
		for _, p := range res.People {
			if p.Status != offboard.StatusDone && p.RunID != "" {
				runs = append(runs, p.RunID)
			}
		}
		res.Next = "fix the failed steps' cause, then offboard_resume run_id=" + strings.Join(runs, " / ")
	}
	if conf.Proceed {
		if err := conf.Finish(context.WithoutCancel(ctx), outcome); err != nil {
			d.Logger.Error("audit outcome not written", "tool", "offboard", "err", err)
			res.Warnings = append(res.Warnings, "the outcome could not be written to the audit log; tell the operator")
		}
	} else if res.Status == "done" {
		res.Status = "no_change"
	}
	return res
}

func allFailed(people []PersonOffboard) bool {
	for _, p := range people {
		for _, s := range p.Steps {
			if s.Status == offboard.StatusDone {
				return false
			}
		}
	}
	return true
}

func (c offboardCase) runID(reason string) string { return offboard.RunID(c.key, reason) }

type runRefInput struct {
	RunID string `json:"run_id" jsonschema:"minLength=1" jsonschema_description:"Run id from offboard_everywhere."`
}

func (in *runRefInput) validate() error {
	if strings.TrimSpace(in.RunID) == "" {
		return inputError("run_id is required")
	}
	return nil
}

func (d *Deps) loadRun(ctx context.Context, id string) (*offboard.Journal, *offboard.Run, []string, error) {
	j, warns, err := d.journal(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := j.Get(ctx, strings.TrimSpace(id))
	if errors.Is(err, offboard.ErrNoRun) {
		return nil, nil, nil, inputError("no offboarding run has id %q", id)
	}
	return j, r, warns, err
}

func offboardStatus(d *Deps) Tool {
	return define(spec{Name: "offboard_status", Title: "Show an offboarding run",
		Description: "Show an offboarding run's steps from the journal.",
		Toolset:     ToolsetCross, Effect: policy.Read},
		func(ctx context.Context, call *Call, in runRefInput) (OffboardResult, error) {
			_, r, warns, err := d.loadRun(ctx, in.RunID)
			if err != nil {
				return OffboardResult{}, err
			}
			p := personView(r, nil)
			out := OffboardResult{Status: r.Status, Summary: fmt.Sprintf("run %s for %s (%s)", r.ID, r.Person, r.Ticket),
				People: []PersonOffboard{p}, Warnings: warns}
			// Reading an unfinished run is not itself a failure: no isError.
			if out.Status != offboard.StatusDone {
				out.Status, out.Next = "unfinished", "offboard_resume run_id="+r.ID
			}
			return out, nil
		}, d.errors)
}

type resumeInput struct {
	runRefInput
	mutationFields
}

func offboardResume(d *Deps) Tool {
	return define(spec{Name: "offboard_resume", Title: "Resume an offboarding run",
		Description: "Continue an offboarding run: retries unfinished steps, never repeats done ones, then verifies.",
		Toolset:     ToolsetCross, Effect: policy.Destructive, Idempotent: true},
		func(ctx context.Context, call *Call, in resumeInput) (OffboardResult, error) {
			j, r, warns, err := d.loadRun(ctx, in.RunID)
			if err != nil {
				return OffboardResult{}, err
			}
			res := OffboardResult{Summary: fmt.Sprintf("Resume offboarding run %s for %s (%s)", r.ID, r.Person, r.Ticket), Warnings: warns}
			plan := policy.Plan{Tool: "offboard_resume", Effect: policy.Destructive, Summary: res.Summary, Target: r.Person,
				Args: canonicalArgs(in), DryRun: in.DryRun}
			p := PersonOffboard{Person: r.Person, RunID: r.ID, Status: "planned", Steps: []OffboardStep{}}
			for _, s := range r.Steps {
				if s.Status != offboard.StatusDone && s.Status != offboard.StatusSkipped {
					plan.Steps = append(plan.Steps, policy.Step{System: s.System, Action: s.Action, Target: s.Target, Reversible: s.Reversible, Undo: s.Undo})
					p.Steps = append(p.Steps, stepView(s))
				}
			}
			for _, pr := range r.Principals {
				plan.Targets = append(plan.Targets, policy.Principal{System: pr.System, ID: pr.ID, Name: pr.Name})
			}
			res.People = []PersonOffboard{p}
			c := offboardCase{ref: r.Person, key: r.PersonKey, existing: r, principals: r.Principals}
			if len(plan.Steps) == 0 && !in.DryRun {
				return d.resumeRun(ctx, call, j, c, r, policy.Confirmation{}, res), nil
			}
			conf, err := d.Gate.Confirm(ctx, call.req, plan)
			if err != nil {
				return res, err
			}
			if in.DryRun {
				res.Status, res.Policy, res.Next = "dry_run", conf.Verdict, "call again without dry_run to continue the run"
				return res, nil
			}
			if !conf.Proceed {
				return res, &readyResult{res: conf.Result}
			}
			return d.resumeRun(ctx, call, j, c, r, conf, res), nil
		}, d.errors)
}

func (d *Deps) resumeRun(ctx context.Context, call *Call, j *offboard.Journal, c offboardCase, r *offboard.Run, conf policy.Confirmation, res OffboardResult) OffboardResult {
	eng := d.engine(ctx, call, j, len(r.Steps))
	p := d.executeRun(ctx, eng, j, *r)
	p.Person = c.ref
	res.People = []PersonOffboard{p}
	return d.finishOffboarding(ctx, conf, res)
}
