package offboard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/graph"
)

// Check is one verified fact about a finished run.
type Check struct {
	System string `json:"-"` // the check names it
	Check  string `json:"check"`
	Target string `json:"target"`
	Result string `json:"result" jsonschema:"enum=PASS,enum=FAIL"`
	Detail string `json:"detail,omitempty"`
}

// Verify re-reads the state the run was meant to produce and reports PASS or FAIL per check:
// sign-in blocked, sessions revoked, no licences, no removable group membership left, leave
// date set, soft-deleted, and every Ads user Inactive (or Viewer-only).
func (e *Engine) Verify(ctx context.Context, run *Run) []Check {
	ctx = reading(ctx)
	var out []Check
	add := func(system, check, target string, ok bool, detail string) {
		r := "FAIL"
		if ok {
			r = "PASS"
		}
		out = append(out, Check{System: system, Check: check, Target: target, Result: r, Detail: detail})
	}
	has := map[string]bool{}
	cannot := map[string]bool{}
	var entraTarget, userID, leave string
	for _, s := range run.Steps {
		has[s.Kind] = true
		if s.System == "entra" {
			entraTarget, userID = s.Target, s.UserID
		}
		if s.CannotReason != "" {
			cannot[s.ObjectID] = true
		}
		if s.Kind == KindLeaveDate {
			leave = s.Value
		}
	}
	// Every read is independent: fetch them all at once, then judge in a fixed order.
	var (
		wg           sync.WaitGroup
		u            *graph.User
		uErr, delErr error
		members      []graph.DirectoryObject
		membersErr   error
	)
	adsSteps := make([]StepState, 0, len(run.Steps))
	for _, s := range run.Steps {
		if s.Kind == KindAdsDeact || s.Kind == KindAdsRoles {
			adsSteps = append(adsSteps, s)
		}
	}
	type adsRead struct {
		u     *ads.User
		roles []ads.CustomerRole
		err   error
	}
	adsReads := make([]adsRead, len(adsSteps))
	if userID != "" {
		wg.Go(func() {
			u, uErr = e.Graph.GetUser(ctx, userID, UserFields...)
			if has[KindDelete] && graph.NotFound(uErr) {
				_, delErr = e.Graph.GetDeleted(ctx, userID)
			}
		})
		if run.Options.RemoveGroups {
			wg.Go(func() {
				for obj, err := range e.Graph.MemberOf(ctx, userID, false) {
					if err != nil {
						membersErr = err
						return
					}
					members = append(members, obj)
				}
			})
		}
	}
	for i, s := range adsSteps {
		wg.Go(func() {
			r := &adsReads[i]
			r.u, r.roles, r.err = e.Ads.GetUser(ctx, s.AdsUserID)
		})
	}
	wg.Wait()

	if userID != "" {
		err := uErr
		switch {
		case has[KindDelete] && graph.NotFound(err):
			add("entra", "soft-deleted", entraTarget, delErr == nil, errDetail(delErr, "in deletedItems, restorable for 30 days"))
		case has[KindDelete] && err == nil:
			add("entra", "soft-deleted", entraTarget, false, "the user still exists")
		}
		if err == nil {
			add("entra", "sign-in blocked", entraTarget, u.AccountEnabled != nil && !*u.AccountEnabled, "accountEnabled="+boolText(u.AccountEnabled))
			if has[KindRevoke] {
				v := u.SignInSessionsValidFromDateTime
				ok := v != nil && !v.Before(run.Created.Truncate(time.Second))
				add("entra", "sessions revoked", entraTarget, ok, "signInSessionsValidFromDateTime="+timeText(v))
			}
			if has[KindLicenses] {
				add("entra", "no licences", entraTarget, len(u.AssignedLicenses) == 0, fmt.Sprintf("%d assigned", len(u.AssignedLicenses)))
			}
			if leave != "" {
				v := u.EmployeeLeaveDateTime
				add("entra", "leave date set", entraTarget, v != nil && v.UTC().Format(time.DateOnly) == leave, "employeeLeaveDateTime="+timeText(v))
			}
			if run.Options.RemoveGroups {
				var left, kept []string
				for _, obj := range members {
					if !obj.IsGroup() && !obj.IsDirectoryRole() {
						continue
					}
					if cannot[obj.ID] || obj.IsDirectoryRole() || obj.Dynamic() || obj.Synced() {
						kept = append(kept, obj.DisplayName)
					} else {
						left = append(left, obj.DisplayName)
					}
				}
				detail := "none left"
				switch {
				case membersErr != nil:
					detail = "could not read memberships: " + errText(membersErr)
				case len(left) > 0:
					detail = "still a member of " + strings.Join(left, ", ")
				case len(kept) > 0:
					detail = "only memberships that cannot be removed here: " + strings.Join(kept, ", ")
				}
				add("entra", "no removable group memberships", entraTarget, membersErr == nil && len(left) == 0, detail)
			}
		} else if !graph.NotFound(err) || !has[KindDelete] {
			add("entra", "user readable", entraTarget, false, errText(err))
		}
	}
	for i, s := range adsSteps {
		r := adsReads[i]
		if r.err != nil {
			add("ads", "user readable", s.Target, false, errText(r.err))
			continue
		}
		if s.Kind == KindAdsDeact {
			add("ads", "user inactive", s.Target, r.u.Status == "Inactive" || r.u.Status == ads.StatusDeleted, "status "+r.u.Status)
			continue
		}
		var others []string
		for _, role := range r.roles {
			if role.CustomerID == s.CustomerID && role.RoleID != ads.RoleViewer {
				others = append(others, fmt.Sprint(role.RoleID))
			}
		}
		add("ads", "Viewer only", s.Target, len(others) == 0, "other roles: "+strings.Join(others, ", "))
	}
	return out
}

func errDetail(err error, ok string) string {
	if err != nil {
		return errText(err)
	}
	return ok
}

func boolText(b *bool) string {
	if b == nil {
		return "unknown"
	}
	return fmt.Sprint(*b)
}

func timeText(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}
