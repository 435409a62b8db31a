package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy"
)

type userRefInput struct {
	User string `json:"user" jsonschema:"minLength=1" jsonschema_description:"Entra user: object id, UPN or e-mail."`
	mutationFields
}

func (in *userRefInput) validate() error {
	if in.User == "" {
		return inputError("user is required: give an object id, userPrincipalName or e-mail address")
	}
	return nil
}

func entraStep(action, target string, undo string) policy.Step {
	return policy.Step{System: "entra", Action: action, Target: target, Reversible: undo != "", Undo: undo}
}

func userPlan(tool string, effect policy.Effect, u *graph.User, summary string, args any, dry bool) policy.Plan {
	return policy.Plan{Tool: tool, Effect: effect, Summary: summary, Target: u.UserPrincipalName,
		Targets: []policy.Principal{{System: "entra", ID: u.ID, Name: u.UserPrincipalName}}, Args: args, DryRun: dry}
}

// setEnabledTool builds disable_entra_user and enable_entra_user: the same change with
// opposite values, effects and undo hints.
func setEnabledTool(d *Deps, enable bool) Tool {
	name, title, verb, undo, effect := "disable_entra_user", "Block sign-in of an Entra ID user", "Block sign-in", "enable_entra_user", policy.Destructive
	desc := "Block sign-in for an Entra ID user (accountEnabled=false). Existing sessions stay valid until revoked: follow with revoke_entra_sessions. Reversible with enable_entra_user."
	if enable {
		name, title, verb, undo, effect = "enable_entra_user", "Allow sign-in of an Entra ID user", "Allow sign-in", "disable_entra_user", policy.Write
		desc = "Allow sign-in again for an Entra ID user (accountEnabled=true). Reversible with disable_entra_user."
	}
	return define(spec{Name: name, Title: title, Description: desc, Toolset: ToolsetEntra, Effect: effect, Idempotent: true},
		func(ctx context.Context, call *Call, in userRefInput) (MutationResult, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return MutationResult{}, err
			}
			m := mutation{plan: userPlan(name, effect, u, fmt.Sprintf("%s for %s", verb, u.UserPrincipalName), in, in.DryRun)}
			m.actions = []action{{step: entraStep(verb, u.UserPrincipalName, undo), run: func(ctx context.Context) (string, bool, error) {
				if u.AccountEnabled != nil && *u.AccountEnabled == enable {
					return "already in that state", true, nil
				}
				return "", false, d.Graph.SetAccountEnabled(ctx, u.ID, enable)
			}}}
			if isTrue(u.OnPremisesSyncEnabled) {
				m.warnings = append(m.warnings, "this user is synced from on-premises AD: the next sync cycle may revert accountEnabled; also change it in AD")
			}
			if !enable {
				m.next = fmt.Sprintf("revoke_entra_sessions user=%s to end existing sessions", u.UserPrincipalName)
			}
			return d.execute(ctx, call, m)
		}, d.errors)
}

func revokeSessionsTool(d *Deps) Tool {
	return define(spec{Name: "revoke_entra_sessions", Title: "Revoke an Entra ID user's sessions",
		Description: "Invalidate all refresh tokens and session cookies of an Entra ID user (revokeSignInSessions), forcing sign-in again everywhere. Not reversible.",
		Toolset:     ToolsetEntra, Effect: policy.Destructive, Idempotent: true},
		func(ctx context.Context, call *Call, in userRefInput) (MutationResult, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return MutationResult{}, err
			}
			m := mutation{plan: userPlan("revoke_entra_sessions", policy.Destructive, u, "Revoke all sign-in sessions of "+u.UserPrincipalName, in, in.DryRun)}
			m.actions = []action{{step: entraStep("revoke sign-in sessions", u.UserPrincipalName, ""), run: func(ctx context.Context) (string, bool, error) {
				return "", false, d.Graph.RevokeSignInSessions(ctx, u.ID)
			}}}
			return d.execute(ctx, call, m)
		}, d.errors)
}

func deleteUserTool(d *Deps) Tool {
	return define(spec{Name: "delete_entra_user", Title: "Soft-delete an Entra ID user",
		Description: "Delete an Entra ID user into the recycle bin (deletedItems), where it stays restorable for 30 days with restore_entra_user.",
		Toolset:     ToolsetEntra, Effect: policy.Destructive},
		func(ctx context.Context, call *Call, in userRefInput) (MutationResult, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return MutationResult{}, err
			}
			m := mutation{plan: userPlan("delete_entra_user", policy.Destructive, u, "Soft-delete "+u.UserPrincipalName, in, in.DryRun)}
			m.actions = []action{{step: entraStep("soft-delete user", u.UserPrincipalName, fmt.Sprintf("restore_entra_user id=%s within 30 days", u.ID)),
				run: func(ctx context.Context) (string, bool, error) { return "", false, d.Graph.DeleteUser(ctx, u.ID) }}}
			if isTrue(u.OnPremisesSyncEnabled) {
				m.warnings = append(m.warnings, "this user is synced from on-premises AD: delete or unscope it in AD, or the next sync recreates it")
			}
			m.next = fmt.Sprintf("restore_entra_user id=%s undoes this within 30 days", u.ID)
			return d.execute(ctx, call, m)
		}, d.errors)
}

type restoreInput struct {
	ID string `json:"id" jsonschema:"minLength=1" jsonschema_description:"Object id of the deleted user (from list_deleted_entra_users)."`
	mutationFields
}

func restoreUserTool(d *Deps) Tool {
	return define(spec{Name: "restore_entra_user", Title: "Restore a deleted Entra ID user",
		Description: "Restore a soft-deleted Entra ID user from deletedItems (within 30 days of deletion).",
		Toolset:     ToolsetEntra, Effect: policy.Write},
		func(ctx context.Context, call *Call, in restoreInput) (MutationResult, error) {
			if !looksLikeGUID(in.ID) {
				return MutationResult{}, inputError("id must be the deleted user's object id; find it with list_deleted_entra_users")
			}
			u, err := d.Graph.GetDeleted(ctx, in.ID)
			if graph.NotFound(err) {
				return MutationResult{}, inputError("no deleted user has id %s (restorable for 30 days after deletion); see list_deleted_entra_users", in.ID)
			}
			if err != nil {
				return MutationResult{}, err
			}
			m := mutation{plan: policy.Plan{Tool: "restore_entra_user", Effect: policy.Write, Summary: "Restore deleted user " + u.UserPrincipalName,
				// No Targets: guard rails protect principals from losing access; a deleted user
				// has no memberships to look up, and restoring gives access back.
				Target: u.UserPrincipalName, Args: in, DryRun: in.DryRun}}
			m.actions = []action{{step: entraStep("restore user from deletedItems", u.UserPrincipalName, "delete_entra_user"),
				run: func(ctx context.Context) (string, bool, error) {
					u, err := d.Graph.RestoreDeleted(ctx, in.ID)
					if err != nil {
						return "", false, err
					}
					return "restored " + u.UserPrincipalName, false, nil
				}}}
			return d.execute(ctx, call, m)
		}, d.errors)
}

type updateUserInput struct {
	User           string `json:"user" jsonschema:"minLength=1" jsonschema_description:"Entra user: object id, UPN or e-mail."`
	DisplayName    string `json:"display_name,omitempty"`
	GivenName      string `json:"given_name,omitempty"`
	Surname        string `json:"surname,omitempty"`
	JobTitle       string `json:"job_title,omitempty"`
	Department     string `json:"department,omitempty"`
	OfficeLocation string `json:"office_location,omitempty"`
	MobilePhone    string `json:"mobile_phone,omitempty"`
	UsageLocation  string `json:"usage_location,omitempty" jsonschema:"pattern=^[A-Z]{2}$" jsonschema_description:"Two-letter country code (ISO 3166-1), required before assigning licences."`
	LeaveDate      string `json:"employee_leave_date,omitempty" jsonschema:"format=date" jsonschema_description:"Last working day, YYYY-MM-DD (employeeLeaveDateTime)."`
	mutationFields
}

func (in *updateUserInput) validate() error {
	if in.User == "" {
		return inputError("user is required")
	}
	if in.UsageLocation != "" && (len(in.UsageLocation) != 2 || in.UsageLocation != strings.ToUpper(in.UsageLocation)) {
		return inputError("usage_location must be a two-letter upper-case country code such as US or IE")
	}
	if in.LeaveDate != "" {
		if _, err := time.Parse(time.DateOnly, in.LeaveDate); err != nil {
			return inputError("employee_leave_date must be a date like 2026-12-31")
		}
	}
	if len(in.props()) == 0 {
		return inputError("nothing to update: give at least one of display_name, given_name, surname, job_title, department, office_location, mobile_phone, usage_location, employee_leave_date")
	}
	return nil
}

func (in *updateUserInput) props() map[string]any {
	p := map[string]any{}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("displayName", in.DisplayName)
	set("givenName", in.GivenName)
	set("surname", in.Surname)
	set("jobTitle", in.JobTitle)
	set("department", in.Department)
	set("officeLocation", in.OfficeLocation)
	set("mobilePhone", in.MobilePhone)
	set("usageLocation", in.UsageLocation)
	if in.LeaveDate != "" {
		p["employeeLeaveDateTime"] = in.LeaveDate + "T00:00:00Z"
	}
	return p
}

// keys lists a map's keys in sorted order, for stable plan text.
func keys(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// adMastered are the attributes an on-premises sync cycle overwrites for synced users.
var adMastered = map[string]bool{"displayName": true, "givenName": true, "surname": true, "jobTitle": true,
	"department": true, "officeLocation": true, "mobilePhone": true}

func updateUserTool(d *Deps) Tool {
	return define(spec{Name: "update_entra_user", Title: "Update an Entra ID user's profile",
		Description: "Change profile fields of an Entra ID user (name, job title, department, office, mobile, usage location, leave date). Warns when the user is synced from on-premises AD and the change will be overwritten.",
		Toolset:     ToolsetEntra, Effect: policy.Write, Idempotent: true},
		func(ctx context.Context, call *Call, in updateUserInput) (MutationResult, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return MutationResult{}, err
			}
			props := in.props()
			m := mutation{plan: userPlan("update_entra_user", policy.Write, u, fmt.Sprintf("Update %d field(s) of %s", len(props), u.UserPrincipalName), in, in.DryRun)}
			m.actions = []action{{step: entraStep(fmt.Sprintf("set %s", keys(props)), u.UserPrincipalName, "update_entra_user with the old values"),
				run: func(ctx context.Context) (string, bool, error) {
					return "", false, d.Graph.UpdateUser(ctx, u.ID, props)
				}}}
			if isTrue(u.OnPremisesSyncEnabled) {
				for k := range props {
					if adMastered[k] {
						m.warnings = append(m.warnings, fmt.Sprintf("%s is mastered in on-premises AD for this synced user: the next sync cycle will overwrite it; change it in AD instead", k))
					}
				}
			}
			return d.execute(ctx, call, m)
		}, d.errors)
}
