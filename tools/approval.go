package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/msidm/msidm/policy"
)

// ApprovalChecker reports the status of an approval (policy/confirm.Confirmer).
type ApprovalChecker interface {
	CheckApproval(ctx context.Context, id string) (string, error)
}

type checkApprovalInput struct {
	ApprovalID string `json:"approval_id" jsonschema:"minLength=1" jsonschema_description:"The approval_id a mutating tool returned with APPROVAL REQUIRED."`
}

func (in *checkApprovalInput) validate() error {
	if strings.TrimSpace(in.ApprovalID) == "" {
		return inputError("approval_id is required")
	}
	return nil
}

type approvalStatus struct {
	ApprovalID string `json:"approval_id"`
	Status     string `json:"status"`
	Next       string `json:"next"`
}

func (a approvalStatus) Text() string {
	return fmt.Sprintf("approval %s: %s. %s", a.ApprovalID, a.Status, a.Next)
}

func checkApproval(d *Deps) Tool {
	return define(spec{Name: "check_approval", Title: "Check an approval",
		Description: "Report whether a human has approved or rejected a plan on the approval page. After approval, repeat the original call with the same arguments and approval_id.",
		Effect:      policy.Read},
		func(ctx context.Context, _ *Call, in checkApprovalInput) (approvalStatus, error) {
			if d.Approvals == nil {
				return approvalStatus{}, inputError("the approval page is not enabled in this msidm; confirmation happens through the client (elicitation)")
			}
			st, err := d.Approvals.CheckApproval(ctx, in.ApprovalID)
			if err != nil {
				return approvalStatus{}, err
			}
			out := approvalStatus{ApprovalID: in.ApprovalID, Status: st}
			switch st {
			case "approved":
				out.Next = "repeat the original call with exactly the same arguments and approval_id=" + in.ApprovalID
			case "pending":
				out.Next = "a human has not decided yet; ask them to open the approval link, then check again"
			default:
				out.Next = "nothing will run with this approval; start again with the original call to get a new one"
			}
			return out, nil
		}, d.errors)
}

// Fingerprint reads the targets of a plan again and summarises their state, so a plan
// confirmed earlier is refused when its target changed in between (policy/confirm Reread).
func (d *Deps) Fingerprint(ctx context.Context, plan policy.Plan) (string, error) {
	h := sha256.New()
	for _, t := range plan.Targets {
		switch t.System {
		case "entra":
			if d.Graph == nil || t.ID == "" {
				continue
			}
			u, err := d.Graph.GetUser(ctx, t.ID, "id", "userPrincipalName", "accountEnabled", "assignedLicenses", "usageLocation")
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "entra|%s|%s|%v|%v|%s\n", u.ID, u.UserPrincipalName, isTrue(u.AccountEnabled), u.AssignedLicenses, u.UsageLocation)
		case "ads":
			id, err := strconv.ParseInt(t.ID, 10, 64)
			if d.Ads == nil || err != nil {
				continue
			}
			u, roles, err := d.Ads.GetUser(ctx, id)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "ads|%d|%s|%s|%v\n", u.ID, u.Status, u.TimeStamp, roles)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
