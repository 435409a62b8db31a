// Package offboard is the durable offboarding engine: it plans every step that removes a
// leaver's access in Entra ID and Microsoft Advertising, records each step in a SQLite journal
// before and after it acts, runs the steps in a fixed order (sign-in blocked first, sessions
// revoked next, then groups, licences, leave date and Ads users in parallel, soft-delete last),
// retries transient failures, never repeats a step the journal says is done, and re-reads the
// state afterwards to prove the result. It knows nothing of MCP: tools/offboard.go drives it.
package offboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/clients/transport"
)

// reading marks ctx for reads: safe to resend after a 503 or a network error (SOAP reads are
// POSTs, which the shared transport would otherwise not repeat).
func reading(ctx context.Context) context.Context { return transport.WithIdempotent(ctx) }

// Entra modes and Ads modes of Options.
const (
	EntraDisable          = "disable"
	EntraDisableAndDelete = "disable_and_delete"
	AdsDeactivate         = "deactivate"
	AdsRemoveRoles        = "remove_roles"
	AdsSkip               = "skip"
)

// Options say what to remove. The zero value is not valid: use Defaults.
type Options struct {
	Entra          string `json:"entra"`
	RevokeSessions bool   `json:"revoke_sessions"`
	RemoveGroups   bool   `json:"remove_groups"`
	RemoveLicenses bool   `json:"remove_licenses"`
	Ads            string `json:"ads"`
	LeaveDate      string `json:"leave_date,omitempty"` // YYYY-MM-DD
}

// Defaults are the options of a plain "this person left".
func Defaults() Options {
	return Options{Entra: EntraDisable, RevokeSessions: true, RemoveGroups: true, RemoveLicenses: true, Ads: AdsDeactivate}
}

// Kinds of steps.
const (
	KindBlockSignIn = "block_sign_in"
	KindRevoke      = "revoke_sessions"
	KindGroup       = "remove_group"
	KindLicenses    = "remove_licenses"
	KindLeaveDate   = "set_leave_date"
	KindDelete      = "soft_delete"
	KindAdsDeact    = "ads_deactivate"
	KindAdsRoles    = "ads_remove_roles"
)

// Step is one planned action; it carries everything needed to run it from the journal alone.
type Step struct {
	Key        string `json:"key"`
	Kind       string `json:"kind"`
	Phase      int    `json:"phase"` // 1 block, 2 revoke, 3 parallel, 4 delete
	System     string `json:"system"`
	Action     string `json:"action"`
	Target     string `json:"target"`
	Reversible bool   `json:"reversible"`
	Undo       string `json:"undo,omitempty"`
	UserID     string `json:"user_id,omitempty"`   // Entra object id
	ObjectID   string `json:"object_id,omitempty"` // group id
	AdsUserID  int64  `json:"ads_user_id,omitempty"`
	CustomerID int64  `json:"customer_id,omitempty"`
	Value      string `json:"value,omitempty"` // leave date
	// CannotReason, when set, is why this membership cannot be removed here (dynamic or
	// on-premises-synced group, directory role): the step is recorded as skipped.
	CannotReason string `json:"cannot_reason,omitempty"`
}

// Person is who to offboard, as resolved by the caller.
type Person struct {
	Entra *graph.User // nil when the person has no Entra account
	Ads   []AdsUser
}

// AdsUser is a Microsoft Advertising user that belongs to the person.
type AdsUser struct {
	CustomerID int64
	ID         int64
	UserName   string
}

// Engine plans, runs and verifies offboarding runs.
type Engine struct {
	Graph   *graph.Client
	Ads     ads.Service
	Journal *Journal
	// Progress, when set, is told about every step as it finishes.
	Progress func(runID string, s StepState)
	// Attempts bounds the tries of one step in one execution (default 4); RetryWait is the
	// first wait between them, doubled each time (default 500 ms).
	Attempts  int
	RetryWait time.Duration
}

// UserFields are the Entra properties planning, the idempotency checks and verification read.
var UserFields = []string{"id", "userPrincipalName", "accountEnabled", "assignedLicenses", "signInSessionsValidFromDateTime",
	"employeeLeaveDateTime", "onPremisesSyncEnabled"}

// Plan lists the steps that offboard p, reading the person's memberships and licences now.
func (e *Engine) Plan(ctx context.Context, p Person, o Options) ([]Step, error) {
	var steps []Step
	if u := p.Entra; u != nil {
		upn := u.UserPrincipalName
		entra := func(key, kind string, phase int, action, undo string) Step {
			return Step{Key: key, Kind: kind, Phase: phase, System: "entra", Action: action, Target: upn, UserID: u.ID,
				Reversible: undo != "", Undo: undo}
		}
		steps = append(steps, entra("entra/block", KindBlockSignIn, 1, "block sign-in", "enable_entra_user"))
		if o.RevokeSessions {
			steps = append(steps, entra("entra/revoke", KindRevoke, 2, "revoke sign-in sessions", ""))
		}
		if o.RemoveGroups {
			for obj, err := range e.Graph.MemberOf(reading(ctx), u.ID, false) {
				if err != nil {
					return nil, err
				}
				s := entra("entra/group/"+obj.ID, KindGroup, 3, "remove from group "+obj.DisplayName, "add_to_group group="+obj.ID)
				s.ObjectID = obj.ID
				switch {
				case obj.IsDirectoryRole():
					s.Action, s.Reversible, s.Undo = "directory role "+obj.DisplayName, false, ""
					s.CannotReason = "cannot remove here: directory role assignments are managed in Entra roles and administrators"
				case !obj.IsGroup():
					continue
				case obj.Dynamic():
					s.Reversible, s.Undo = false, ""
					s.CannotReason = "cannot remove here: dynamic membership (rule " + obj.MembershipRule + "); it ends when the user is deleted or the attributes change"
				case obj.Synced():
					s.Reversible, s.Undo = false, ""
					s.CannotReason = "cannot remove here: group synced from on-premises AD; remove the membership in AD"
				}
				steps = append(steps, s)
			}
		}
		if o.RemoveLicenses && len(u.AssignedLicenses) > 0 {
			steps = append(steps, entra("entra/licenses", KindLicenses, 3, fmt.Sprintf("remove all %d licence(s)", len(u.AssignedLicenses)), "assign_license per SKU"))
		}
		if o.LeaveDate != "" {
			s := entra("entra/leave_date", KindLeaveDate, 3, "set employeeLeaveDateTime "+o.LeaveDate, "update_entra_user")
			s.Value = o.LeaveDate
			steps = append(steps, s)
		}
	}
	if o.Ads != AdsSkip {
		for _, a := range p.Ads {
			s := Step{System: "ads", Phase: 3, Target: a.UserName, AdsUserID: a.ID, CustomerID: a.CustomerID}
			if o.Ads == AdsRemoveRoles {
				s.Key, s.Kind = fmt.Sprintf("ads/%d/%d/roles", a.CustomerID, a.ID), KindAdsRoles
				s.Action = fmt.Sprintf("reduce roles to Viewer on customer %d (UpdateUserRoles)", a.CustomerID)
				s.Reversible, s.Undo = true, "change_role"
			} else {
				s.Key, s.Kind = fmt.Sprintf("ads/%d/%d/deactivate", a.CustomerID, a.ID), KindAdsDeact
				s.Action = fmt.Sprintf("deactivate user %d on customer %d (DeleteUser)", a.ID, a.CustomerID)
			}
			steps = append(steps, s)
		}
	}
	if p.Entra != nil && o.Entra == EntraDisableAndDelete {
		steps = append(steps, Step{Key: "entra/delete", Kind: KindDelete, Phase: 4, System: "entra", Action: "soft-delete user",
			Target: p.Entra.UserPrincipalName, UserID: p.Entra.ID, Reversible: true, Undo: "restore_entra_user id=" + p.Entra.ID + " within 30 days"})
	}
	return steps, nil
}

// ErrBusy is returned when the run is already being executed in this process.
var ErrBusy = errors.New("this offboarding run is already in progress")

// Execute runs every step of the run that is not done or skipped, phase by phase, recording
// each in the journal. A failed step does not stop independent steps; the soft-delete runs
// only when every other Entra step succeeded. It returns the run as recorded afterwards.
// An error means the run stopped early (cancelled, journal failure): call it again to continue.
func (e *Engine) Execute(ctx context.Context, runID string) (*Run, error) {
	unlock, ok := e.Journal.lock(runID)
	if !ok {
		return nil, ErrBusy
	}
	defer unlock()
	run, err := e.Journal.Get(ctx, runID)
	if err != nil {
		return nil, err
	}
	if err := e.Journal.setRunStatus(ctx, runID, StatusRunning); err != nil {
		return nil, err
	}
	x := &execution{e: e, run: run}
	for phase := 1; phase <= 4 && x.err == nil; phase++ {
		x.phase(ctx, phase)
	}
	if x.err != nil {
		return nil, x.err
	}
	out, err := e.Journal.Get(ctx, runID)
	if err != nil {
		return nil, err
	}
	out.Status = summarize(out.Steps)
	return out, e.Journal.setRunStatus(ctx, runID, out.Status)
}

// summarize gives a run's status from its steps.
func summarize(steps []StepState) string {
	failed, done := 0, 0
	for _, s := range steps {
		switch s.Status {
		case StatusFailed, StatusPending, StatusRunning:
			failed++
		case StatusDone:
			done++
		}
	}
	switch {
	case failed == 0:
		return StatusDone
	case done > 0:
		return StatusPartial
	}
	return StatusFailed
}

// execution is one pass over a run.
type execution struct {
	e   *Engine
	run *Run

	mu  sync.Mutex
	err error // the run must stop (journal write failed, hook, cancellation)

	umu  sync.Mutex
	user *graph.User // the Entra state the idempotency checks use; nil: read it
}

func (x *execution) stop(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err == nil {
		x.err = err
	}
}

func (x *execution) stopped() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err != nil
}

// entraUser reads the Entra user once per execution: the state the idempotency checks use.
func (x *execution) entraUser(ctx context.Context, id string) (*graph.User, error) {
	x.umu.Lock()
	defer x.umu.Unlock()
	if x.user == nil {
		u, err := x.e.Graph.GetUser(reading(ctx), id, UserFields...)
		if err != nil {
			return nil, err
		}
		x.user = u
	}
	return x.user, nil
}

// forget drops the cached Entra state after a failed attempt: the next one reads it again,
// so a change that did happen before the failure is seen and not repeated.
func (x *execution) forget() {
	x.umu.Lock()
	x.user = nil
	x.umu.Unlock()
}

func (x *execution) phase(ctx context.Context, phase int) {
	var todo, groups []StepState
	for _, s := range x.run.Steps {
		if s.Phase == phase && s.Status != StatusDone && s.Status != StatusSkipped {
			if s.Kind == KindGroup {
				groups = append(groups, s)
			} else {
				todo = append(todo, s)
			}
		}
	}
	if phase == 4 && len(todo) > 0 {
		for _, s := range x.run.Steps {
			if s.System == "entra" && s.Phase < 4 && s.Status != StatusDone && s.Status != StatusSkipped {
				for _, d := range todo {
					x.record(ctx, d, StatusSkipped, "not deleted: an earlier Entra step did not finish ("+s.Key+"); resume after fixing it", nil, false)
				}
				return
			}
		}
	}
	var wg sync.WaitGroup
	for _, s := range todo {
		wg.Go(func() { x.runStep(ctx, s) })
	}
	if len(groups) > 0 {
		wg.Go(func() { x.runGroups(ctx, groups) })
	}
	wg.Wait()
	// Later phases see this phase's outcome.
	if !x.stopped() {
		if r, err := x.e.Journal.Get(ctx, x.run.ID); err == nil {
			x.run = r
		} else {
			x.stop(err)
		}
	}
}

// record writes a step's status, and stops the run when the journal cannot be written.
func (x *execution) record(ctx context.Context, s StepState, status, detail string, ids []string, attempt bool) bool {
	if err := x.e.Journal.mark(ctx, x.run.ID, s.Key, status, detail, ids, attempt); err != nil {
		x.stop(err)
		return false
	}
	if status != StatusRunning && x.e.Progress != nil {
		s.Status, s.Detail, s.RequestIDs = status, detail, ids
		x.e.Progress(x.run.ID, s)
	}
	return true
}

// runStep tries one step until it is done, fails permanently or runs out of attempts.
func (x *execution) runStep(ctx context.Context, s StepState) {
	attempts := max(x.e.Attempts, 1)
	if x.e.Attempts == 0 {
		attempts = 4
	}
	wait := x.e.RetryWait
	if wait == 0 {
		wait = 500 * time.Millisecond
	}
	var ids []string
	for n := 1; ; n++ {
		if x.stopped() {
			return
		}
		if !x.record(ctx, s, StatusRunning, fmt.Sprintf("attempt %d", n), ids, true) {
			return
		}
		// A step found running (or attempted before) may have acted before the run stopped.
		detail, err := x.act(ctx, s.Step, n > 1 || s.Status == StatusRunning || s.Attempts > 0)
		if err != nil {
			x.forget()
		}
		ids = append(ids, requestIDs(err)...)
		switch {
		case err == nil:
			x.record(ctx, s, StatusDone, detail, ids, false)
			return
		case ctx.Err() != nil:
			x.record(ctx, s, StatusFailed, "interrupted: "+ctx.Err().Error(), ids, false)
			x.stop(ctx.Err())
			return
		case !transient(err) || n >= attempts:
			x.record(ctx, s, StatusFailed, errText(err), ids, false)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait << (n - 1)):
		}
	}
}

// act performs one step after checking whether its effect is already there; detail says
// what was found or done.
func (x *execution) act(ctx context.Context, s Step, resumed bool) (string, error) {
	g := x.e.Graph
	switch s.Kind {
	case KindBlockSignIn, KindRevoke, KindLicenses, KindLeaveDate:
		u, err := x.entraUser(ctx, s.UserID)
		if err != nil {
			return "", err
		}
		switch s.Kind {
		case KindBlockSignIn:
			if u.AccountEnabled != nil && !*u.AccountEnabled {
				return "sign-in already blocked", nil
			}
			return "sign-in blocked", g.SetAccountEnabled(ctx, s.UserID, false)
		case KindRevoke:
			if v := u.SignInSessionsValidFromDateTime; v != nil && !v.Before(x.run.Created.Truncate(time.Second)) {
				return "sessions already revoked at " + v.UTC().Format(time.RFC3339), nil
			}
			return "all sessions revoked", g.RevokeSignInSessions(ctx, s.UserID)
		case KindLicenses:
			if len(u.AssignedLicenses) == 0 {
				return "no licences assigned", nil
			}
			var skus []string
			for _, l := range u.AssignedLicenses {
				skus = append(skus, l.SKUID)
			}
			if _, err := g.AssignLicense(ctx, s.UserID, nil, skus); err != nil {
				return "", err
			}
			return fmt.Sprintf("removed %d licence(s): %s", len(skus), strings.Join(skus, ", ")), nil
		default:
			if v := u.EmployeeLeaveDateTime; v != nil && v.UTC().Format(time.DateOnly) == s.Value {
				return "leave date already " + s.Value, nil
			}
			return "employeeLeaveDateTime set to " + s.Value, g.UpdateUser(ctx, s.UserID, map[string]any{"employeeLeaveDateTime": s.Value + "T00:00:00Z"})
		}
	case KindDelete:
		// A delete that was under way when a run stopped may already have happened: look first,
		// so a finished step is recorded, not sent again.
		if resumed {
			if _, err := g.GetUser(reading(ctx), s.UserID, "id"); graph.NotFound(err) {
				if _, derr := g.GetDeleted(reading(ctx), s.UserID); derr == nil {
					return "already in deletedItems", nil
				}
			}
		}
		err := g.DeleteUser(ctx, s.UserID)
		if graph.NotFound(err) {
			if _, derr := g.GetDeleted(reading(ctx), s.UserID); derr == nil {
				return "already in deletedItems", nil
			}
		}
		return "soft-deleted; restorable for 30 days", err
	case KindAdsDeact:
		u, _, err := x.e.Ads.GetUser(reading(ctx), s.AdsUserID)
		if err != nil {
			return "", err
		}
		if u.Status == "Inactive" || u.Status == ads.StatusDeleted {
			return "already " + u.Status, nil
		}
		return "deactivated (status Inactive)", x.e.Ads.DeleteUser(ctx, s.AdsUserID, u.TimeStamp)
	case KindAdsRoles:
		return x.reduceRoles(ctx, s)
	}
	return "", fmt.Errorf("offboard: unknown step kind %q", s.Kind)
}

// reduceRoles leaves the Ads user with Viewer only: Customer Management refuses to remove a
// user's last role ("use DeleteUser"), so the first role is swapped for Viewer on the same
// accounts in one UpdateUserRoles, and the others are removed.
func (x *execution) reduceRoles(ctx context.Context, s Step) (string, error) {
	_, roles, err := x.e.Ads.GetUser(reading(ctx), s.AdsUserID)
	if err != nil {
		return "", err
	}
	var removed []string
	viewer := slices.ContainsFunc(roles, func(r ads.CustomerRole) bool { return r.CustomerID == s.CustomerID && r.RoleID == ads.RoleViewer })
	for _, r := range roles {
		if r.CustomerID != s.CustomerID || r.RoleID == ads.RoleViewer {
			continue
		}
		upd := ads.UserRoleUpdate{CustomerID: s.CustomerID, UserID: s.AdsUserID, DeleteRoleID: r.RoleID}
		if !viewer {
			upd.NewRoleID, upd.NewAccountIDs, viewer = ads.RoleViewer, r.AccountIDs, true
		}
		if _, err := x.e.Ads.UpdateUserRoles(ctx, upd); err != nil {
			return "", err
		}
		removed = append(removed, fmt.Sprint(r.RoleID))
	}
	if len(removed) == 0 {
		return "already Viewer only", nil
	}
	return "removed role(s) " + strings.Join(removed, ", ") + "; Viewer kept (Microsoft requires one role)", nil
}

// runGroups removes the memberships through $batch, 20 per request, retrying what failed
// transiently. A 404 means the membership is gone already: done.
func (x *execution) runGroups(ctx context.Context, steps []StepState) {
	attempts := max(x.e.Attempts, 1)
	if x.e.Attempts == 0 {
		attempts = 4
	}
	wait := x.e.RetryWait
	if wait == 0 {
		wait = 500 * time.Millisecond
	}
	pending := x.stillMember(ctx, steps)
	for n := 1; len(pending) > 0; n++ {
		var reqs []graph.BatchRequest
		for i, s := range pending {
			if !x.record(ctx, s, StatusRunning, fmt.Sprintf("attempt %d", n), nil, true) {
				return
			}
			reqs = append(reqs, graph.RemoveGroupMemberRequest(fmt.Sprint(i+1), s.ObjectID, s.UserID))
		}
		resps, err := x.e.Graph.Batch(ctx, reqs, graph.BatchOptions{})
		var retry []StepState
		for i, s := range pending {
			var itemErr error
			switch {
			case err != nil && (i >= len(resps) || resps[i].Status == 0):
				itemErr = err
			default:
				itemErr = resps[i].Err()
			}
			switch {
			case itemErr == nil:
				x.record(ctx, s, StatusDone, "removed", nil, false)
			case graph.NotFound(itemErr):
				x.record(ctx, s, StatusDone, "not a member any more", requestIDs(itemErr), false)
			case ctx.Err() != nil:
				x.record(ctx, s, StatusFailed, "interrupted: "+ctx.Err().Error(), nil, false)
			case transient(itemErr) && n < attempts:
				retry = append(retry, s)
			default:
				x.record(ctx, s, StatusFailed, errText(itemErr), requestIDs(itemErr), false)
			}
		}
		if ctx.Err() != nil {
			x.stop(ctx.Err())
			return
		}
		if x.stopped() || len(retry) == 0 {
			return
		}
		pending = retry
		select {
		case <-ctx.Done():
		case <-time.After(wait << (n - 1)):
		}
	}
}

// stillMember drops, as done, the removals that an earlier stopped attempt already made: when
// any step was under way (running, or attempted before), the user's memberships are read once
// and a group the user is no longer in is recorded as done without sending a request again.
func (x *execution) stillMember(ctx context.Context, steps []StepState) []StepState {
	resumed := false
	for _, s := range steps {
		resumed = resumed || s.Status == StatusRunning || s.Attempts > 0
	}
	if !resumed || len(steps) == 0 {
		return steps
	}
	member := map[string]bool{}
	for obj, err := range x.e.Graph.MemberOf(reading(ctx), steps[0].UserID, false) {
		if err != nil {
			return steps // cannot tell: send them all; a removal already made answers 404
		}
		member[strings.ToLower(obj.ID)] = true
	}
	var out []StepState
	for _, s := range steps {
		if member[strings.ToLower(s.ObjectID)] {
			out = append(out, s)
		} else if !x.record(ctx, s, StatusDone, "not a member any more", nil, false) {
			return nil
		}
	}
	return out
}

// transient reports failures worth another attempt: throttling, 5xx, a front end's HTML
// error page or a network error. Every step re-checks its effect before acting again.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge.StatusCode == http.StatusTooManyRequests || ge.StatusCode >= 500
	}
	var f *ads.Fault
	if errors.As(err, &f) {
		return f.Has(ads.CodeCallRateExceeded) || f.Has(0)
	}
	return true // no typed answer: network failure or an HTML error page
}

func requestIDs(err error) []string {
	var ge *graph.Error
	var f *ads.Fault
	switch {
	case errors.As(err, &ge) && ge.RequestID != "":
		return []string{"graph:" + ge.RequestID}
	case errors.As(err, &f) && f.TrackingID != "":
		return []string{"ads:" + f.TrackingID}
	}
	return nil
}

func errText(err error) string {
	var ge *graph.Error
	var f *ads.Fault
	switch {
	case errors.As(err, &ge):
		return fmt.Sprintf("Graph %d %s: %s (request-id %s)", ge.StatusCode, ge.Code, ge.Message, ge.RequestID)
	case errors.As(err, &f):
		return fmt.Sprintf("Microsoft Advertising fault: %v (TrackingId %s)", f, f.TrackingID)
	}
	return err.Error()
}
