package confirm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/policy"
)

// approval is one plan waiting for, or decided by, a human on the approval page.
type approval struct {
	ID          string
	Tool        string
	Digest      string
	Caller      string
	Target      string
	Fingerprint string
	Plan        policy.Plan
	Created     time.Time
	Expires     time.Time
	Status      string // pending, approved, rejected, used
	DecidedBy   string
	DecidedAt   time.Time
}

// status is the approval's status at now: a pending or approved approval past its expiry
// is expired.
func (a *approval) status(now time.Time) string {
	if (a.Status == StatusPending || a.Status == StatusApproved) && now.After(a.Expires) {
		return StatusExpired
	}
	return a.Status
}

// approvalStore keeps approvals in memory, per process. Records are forgotten an hour
// after they expire, so a late repeat still gets a precise refusal.
type approvalStore struct {
	mu sync.Mutex
	m  map[string]*approval
}

func newApprovalStore() *approvalStore { return &approvalStore{m: make(map[string]*approval)} }

const forgetAfter = time.Hour

func (s *approvalStore) purge(now time.Time) {
	for id, a := range s.m {
		if now.After(a.Expires.Add(forgetAfter)) {
			delete(s.m, id)
		}
	}
}

// with runs f on the approval id under the store's lock; a is nil when unknown.
func (s *approvalStore) with(id string, f func(a *approval)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.m[id])
}

var errTooManyApprovals = errors.New("too many approvals are pending; let some expire or decide them first")

// pendingFor returns the pending approval for this exact binding, or creates one.
func (s *approvalStore) pendingFor(now time.Time, a approval) (*approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now)
	for _, old := range s.m {
		if old.Digest == a.Digest && old.Caller == a.Caller && old.Fingerprint == a.Fingerprint && old.status(now) == StatusPending {
			cp := *old
			return &cp, nil
		}
	}
	if len(s.m) >= maxPendingApprovals {
		return nil, errTooManyApprovals
	}
	a.ID = randomID()
	a.Status = StatusPending
	s.m[a.ID] = &a
	cp := a
	return &cp, nil
}

// ApprovalURL is the page where a human decides approval id.
func (c *Confirmer) ApprovalURL(id string) string { return c.baseURL + "/approvals/" + id }

func (c *Confirmer) askApproval(ctx context.Context, plan policy.Plan, caller, digest string) policy.Confirmation {
	if strings.TrimSpace(plan.Target) == "" {
		return refuse(plan, "the plan names no target to confirm (a bug in the tool)", "")
	}
	fp, err := c.fingerprint(ctx, plan)
	if err != nil {
		return refuse(plan, err.Error(), "Try again.")
	}
	now := c.now()
	a, err := c.approvals.pendingFor(now, approval{
		Tool: plan.Tool, Digest: digest, Caller: caller, Target: plan.Target, Fingerprint: fp,
		Plan: plan, Created: now, Expires: now.Add(c.ttl),
	})
	if err != nil {
		return refuse(plan, err.Error(), "")
	}
	link := c.ApprovalURL(a.ID)
	signIn := ""
	if c.approverToken != "" {
		signIn = " (the approver signs in with the approver token, which you do not have)"
	}
	text := fmt.Sprintf("APPROVAL REQUIRED: %s has not been run and nothing was changed.\n\n%s\n"+
		"Ask a human to open %s%s and approve or reject this exact plan before %s. "+
		"Then call %s again with exactly the same arguments plus %s=%q; check_approval with that id reports "+
		"whether they have decided. The approval is single use and is void if any argument changes.",
		plan.Tool, planText(plan, caller), link, signIn, formatTime(a.Expires), plan.Tool, ArgApprovalID, a.ID)
	return policy.Confirmation{Result: withMeta(mcp.NewToolResultError(text), map[string]any{
		"status": StatusApprovalRequired, "approval_id": a.ID, "approval_url": link, "expires_at": formatTime(a.Expires),
	})}
}

// finishApproval verifies a repeated call that carries an approval id and, when it is
// approved for exactly this binding, uses it up.
func (c *Confirmer) finishApproval(ctx context.Context, id string, plan policy.Plan, caller, digest string) policy.Confirmation {
	const again = "Call the tool again without " + ArgApprovalID + " to request a new approval."
	if c.approvalUnavailable() != "" || !slices.Contains(c.allowedModes(), ModeApproval) {
		return refuse(plan, "the approval page is not enabled", "Remove "+ArgApprovalID+" and call again.")
	}
	now := c.now()
	var (
		reason, next, fp, approver string
		link                       = c.ApprovalURL(id)
	)
	c.approvals.with(id, func(a *approval) {
		switch {
		case a == nil:
			reason, next = fmt.Sprintf("approval %q is unknown (it expired and was forgotten, or was issued by another msidm process)", id), again
		case a.Caller != caller:
			reason, next = fmt.Sprintf("approval %q was requested by a different caller", id), again
		case a.Status == StatusUsed:
			reason, next = fmt.Sprintf("approval %q was already used (each approval is single use)", id), again
		case a.Tool != plan.Tool || a.Digest != digest:
			reason, next = fmt.Sprintf("approval %q was given for different arguments or a different plan", id), again
		case a.status(now) == StatusExpired:
			reason, next = fmt.Sprintf("approval %q expired at %s", id, formatTime(a.Expires)), again
		case a.Status == StatusRejected:
			reason = fmt.Sprintf("the approver rejected approval %q", id)
		case a.Status == StatusPending:
			reason = fmt.Sprintf("approval %q has not been approved yet", id)
			next = fmt.Sprintf("Ask a human to open %s; then repeat this call unchanged.", link)
		case a.Status == StatusApproved:
			// Use it up now, before the re-read, so that two racing repeats cannot both run.
			a.Status = StatusUsed
			fp, approver = a.Fingerprint, a.DecidedBy
		default:
			reason, next = fmt.Sprintf("approval %q is in an unknown state", id), again
		}
	})
	if reason != "" {
		return refuse(plan, reason, next)
	}
	if err := c.recheck(ctx, plan, fp); err != nil {
		return refuse(plan, err.Error(), again)
	}
	return policy.Confirmation{Proceed: true, Mode: ModeApproval, Approver: approver}
}

// CheckApproval reports the status of approval id for the caller in ctx: "pending",
// "approved", "rejected", "used" or "expired". It is what a check_approval tool returns;
// it never runs anything. An unknown id, or one requested by another caller, is an error.
func (c *Confirmer) CheckApproval(ctx context.Context, id string) (string, error) {
	caller := c.callerOf(ctx)
	now := c.now()
	var status string
	c.approvals.with(strings.TrimSpace(id), func(a *approval) {
		if a != nil && a.Caller == caller {
			status = a.status(now)
		}
	})
	if status == "" {
		return "", fmt.Errorf("approval %q is unknown (it expired and was forgotten, was requested by another caller, or was issued by another msidm process)", id)
	}
	return status, nil
}

// decide records the approver's decision; it fails unless the approval is pending.
func (c *Confirmer) decide(id, status, approver string) error {
	now := c.now()
	var err error
	c.approvals.with(id, func(a *approval) {
		switch {
		case a == nil:
			err = errUnknownApproval
		case a.status(now) != StatusPending:
			err = fmt.Errorf("this approval is %s; it can no longer be decided", a.status(now))
		default:
			a.Status, a.DecidedBy, a.DecidedAt = status, approver, now
		}
	})
	return err
}

var errUnknownApproval = errors.New("no such approval: it expired and was forgotten, or the link is wrong")

// snapshot returns a copy of approval id for rendering.
func (c *Confirmer) snapshot(id string) (approval, bool) {
	var (
		cp approval
		ok bool
	)
	c.approvals.with(id, func(a *approval) {
		if a != nil {
			cp, ok = *a, true
		}
	})
	return cp, ok
}
