package tools

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy"
)

type licenseInput struct {
	User string `json:"user" jsonschema:"minLength=1" jsonschema_description:"Entra user: object id, UPN or e-mail."`
	SKU  string `json:"sku" jsonschema:"minLength=1" jsonschema_description:"Licence SKU part number such as ENTERPRISEPACK (see list_skus), or its skuId."`
	mutationFields
}

func (in *licenseInput) validate() error {
	if in.User == "" || in.SKU == "" {
		return inputError("user and sku are both required")
	}
	return nil
}

// licenseTool builds assign_license and remove_license.
func licenseTool(d *Deps, assign bool) Tool {
	name, title, effect := "remove_license", "Remove a licence from an Entra ID user", policy.Destructive
	desc := "Remove a licence (SKU part number such as ENTERPRISEPACK) from an Entra ID user. Reversible with assign_license."
	if assign {
		name, title, effect = "assign_license", "Assign a licence to an Entra ID user", policy.Write
		desc = "Assign a licence (by SKU part number such as ENTERPRISEPACK, see list_skus) to an Entra ID user. The user needs a usage location first."
	}
	return define(spec{Name: name, Title: title, Description: desc, Toolset: ToolsetEntra, Effect: effect, Idempotent: true},
		func(ctx context.Context, call *Call, in licenseInput) (MutationResult, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return MutationResult{}, err
			}
			sku, _, err := d.skuByPartNumber(ctx, in.SKU)
			if err != nil {
				return MutationResult{}, err
			}
			has := false
			for _, l := range u.AssignedLicenses {
				has = has || strings.EqualFold(l.SKUID, sku.SKUID)
			}
			if assign && u.UsageLocation == "" {
				return MutationResult{}, inputError("%s has no usage location, which Microsoft requires before assigning a licence: call update_entra_user with usage_location (for example US), then retry", u.UserPrincipalName)
			}
			if assign && !has && sku.ConsumedUnits >= sku.PrepaidUnits.Enabled {
				return MutationResult{}, inputError("no free %s licences: %d of %d are in use; free one with remove_license or buy more", sku.SKUPartNumber, sku.ConsumedUnits, sku.PrepaidUnits.Enabled)
			}
			verb, undo := "remove licence "+sku.SKUPartNumber, "assign_license sku="+sku.SKUPartNumber
			summary := fmt.Sprintf("Remove licence %s from %s", sku.SKUPartNumber, u.UserPrincipalName)
			if assign {
				verb, undo = "assign licence "+sku.SKUPartNumber, "remove_license sku="+sku.SKUPartNumber
				summary = fmt.Sprintf("Assign licence %s to %s", sku.SKUPartNumber, u.UserPrincipalName)
			}
			m := mutation{plan: userPlan(name, effect, u, summary, in, in.DryRun)}
			m.actions = []action{{step: entraStep(verb, u.UserPrincipalName, undo), run: func(ctx context.Context) (string, bool, error) {
				switch {
				case assign && has:
					return "already assigned", true, nil
				case !assign && !has:
					return "not assigned", true, nil
				case assign:
					_, err := d.Graph.AssignLicense(ctx, u.ID, []graph.AssignedLicense{{SKUID: sku.SKUID}}, nil)
					return "", false, err
				default:
					_, err := d.Graph.AssignLicense(ctx, u.ID, nil, []string{sku.SKUID})
					return "", false, err
				}
			}}}
			return d.execute(ctx, call, m)
		}, d.errors)
}

type groupMemberInput struct {
	User  string `json:"user" jsonschema:"minLength=1" jsonschema_description:"Entra user: object id, UPN or e-mail."`
	Group string `json:"group" jsonschema:"minLength=1" jsonschema_description:"Group object id or exact display name (see list_groups)."`
	mutationFields
}

func (in *groupMemberInput) validate() error {
	if in.User == "" || in.Group == "" {
		return inputError("user and group are both required")
	}
	return nil
}

// groupMemberTool builds add_to_group and remove_from_group. Dynamic groups and groups
// synced from on-premises AD cannot be changed here; the plan says so instead of failing.
func groupMemberTool(d *Deps, add bool) Tool {
	name, title, effect := "remove_from_group", "Remove an Entra ID user from a group", policy.Destructive
	desc := "Remove an Entra ID user from a group (direct membership). Dynamic and on-premises-synced groups cannot be changed here. Reversible with add_to_group."
	if add {
		name, title, effect = "add_to_group", "Add an Entra ID user to a group", policy.Write
		desc = "Add an Entra ID user to a security or Microsoft 365 group. Dynamic and on-premises-synced groups cannot be changed here. Reversible with remove_from_group."
	}
	return define(spec{Name: name, Title: title, Description: desc, Toolset: ToolsetEntra, Effect: effect, Idempotent: true},
		func(ctx context.Context, call *Call, in groupMemberInput) (MutationResult, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return MutationResult{}, err
			}
			g, err := d.resolveGroup(ctx, in.Group)
			if err != nil {
				return MutationResult{}, err
			}
			if reason := unmanagedGroup(*g); reason != "" {
				return MutationResult{}, inputError("group %q %s", g.DisplayName, reason)
			}
			verb, undo, summary := "remove from group "+g.DisplayName, "add_to_group group="+g.ID, fmt.Sprintf("Remove %s from %s", u.UserPrincipalName, g.DisplayName)
			if add {
				verb, undo, summary = "add to group "+g.DisplayName, "remove_from_group group="+g.ID, fmt.Sprintf("Add %s to %s", u.UserPrincipalName, g.DisplayName)
			}
			m := mutation{plan: userPlan(name, effect, u, summary, in, in.DryRun)}
			m.actions = []action{{step: entraStep(verb, u.UserPrincipalName, undo), run: func(ctx context.Context) (string, bool, error) {
				if add {
					err := d.Graph.AddGroupMember(ctx, g.ID, u.ID)
					if graph.Conflict(err) {
						return "already a member", true, nil
					}
					return "", false, err
				}
				err := d.Graph.RemoveGroupMember(ctx, g.ID, u.ID)
				if graph.NotFound(err) {
					return "not a direct member", true, nil
				}
				return "", false, err
			}}}
			return d.execute(ctx, call, m)
		}, d.errors)
}

// unmanagedGroup says why a group's membership cannot be changed through Graph, or "".
func unmanagedGroup(g graph.DirectoryObject) string {
	switch {
	case g.Dynamic():
		return "has dynamic membership (rule: " + g.MembershipRule + "): change the user's attributes or the rule instead"
	case g.Synced():
		return "is synced from on-premises Active Directory: change its membership in AD"
	}
	return ""
}

type setManagerInput struct {
	User    string `json:"user" jsonschema:"minLength=1" jsonschema_description:"The Entra user whose manager to set."`
	Manager string `json:"manager" jsonschema:"minLength=1" jsonschema_description:"The manager: object id, userPrincipalName or e-mail address."`
	mutationFields
}

func (in *setManagerInput) validate() error {
	if in.User == "" || in.Manager == "" {
		return inputError("user and manager are both required")
	}
	return nil
}

func setManagerTool(d *Deps) Tool {
	return define(spec{Name: "set_manager", Title: "Set an Entra ID user's manager",
		Description: "Set the manager of an Entra ID user.", Toolset: ToolsetEntra, Effect: policy.Write, Idempotent: true},
		func(ctx context.Context, call *Call, in setManagerInput) (MutationResult, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return MutationResult{}, err
			}
			mgr, err := d.resolveUser(ctx, in.Manager)
			if err != nil {
				return MutationResult{}, err
			}
			if mgr.ID == u.ID {
				return MutationResult{}, inputError("a user cannot be their own manager")
			}
			m := mutation{plan: userPlan("set_manager", policy.Write, u, fmt.Sprintf("Set the manager of %s to %s", u.UserPrincipalName, mgr.UserPrincipalName), in, in.DryRun)}
			m.actions = []action{{step: entraStep("set manager to "+mgr.UserPrincipalName, u.UserPrincipalName, "set_manager with the previous manager"),
				run: func(ctx context.Context) (string, bool, error) {
					return "", false, d.Graph.SetManager(ctx, u.ID, mgr.ID)
				}}}
			return d.execute(ctx, call, m)
		}, d.errors)
}

type createUserInput struct {
	DisplayName   string `json:"display_name" jsonschema:"minLength=1"`
	UPN           string `json:"user_principal_name" jsonschema:"minLength=3" jsonschema_description:"Sign-in name, e.g. jane.doe@contoso.example; the domain must be verified in the tenant."`
	GivenName     string `json:"given_name,omitempty"`
	Surname       string `json:"surname,omitempty"`
	JobTitle      string `json:"job_title,omitempty"`
	Department    string `json:"department,omitempty"`
	UsageLocation string `json:"usage_location,omitempty" jsonschema:"pattern=^[A-Z]{2}$" jsonschema_description:"Two-letter country code, needed for licences."`
	Disabled      bool   `json:"disabled,omitempty" jsonschema_description:"Create with sign-in blocked (for example before the start date)."`
	mutationFields
}

func (in *createUserInput) validate() error {
	local, domain, ok := strings.Cut(in.UPN, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(local, " \"(),:;<>[\\]") {
		return inputError("user_principal_name must look like name@verified-domain (letters, digits and ' . - _ ! # ^ ~ before the @)")
	}
	if strings.TrimSpace(in.DisplayName) == "" {
		return inputError("display_name is required")
	}
	if in.UsageLocation != "" && (len(in.UsageLocation) != 2 || in.UsageLocation != strings.ToUpper(in.UsageLocation)) {
		return inputError("usage_location must be a two-letter upper-case country code such as US")
	}
	return nil
}

// CreatedUser is create_entra_user's output: the mutation report plus the one-time password.
type CreatedUser struct {
	MutationResult
	UserID            string `json:"user_id,omitempty"`
	TemporaryPassword string `json:"temporary_password,omitempty" jsonschema_description:"Shown once, never logged: hand it to the person over a secure channel; they must change it at first sign-in."`
}

func (c CreatedUser) Text() string {
	t := c.MutationResult.Text()
	if c.TemporaryPassword != "" {
		t += "temporary password (shown once, must be changed at first sign-in): " + c.TemporaryPassword + "\n"
	}
	return t
}

func createUserTool(d *Deps) Tool {
	return define(spec{Name: "create_entra_user", Title: "Create an Entra ID user",
		Description: "Create a member user in Entra ID with a strong temporary password that is shown once in the result (never logged) and must be changed at first sign-in.",
		Toolset:     ToolsetEntra, Effect: policy.Write},
		func(ctx context.Context, call *Call, in createUserInput) (CreatedUser, error) {
			nick, _, _ := strings.Cut(in.UPN, "@")
			password, err := temporaryPassword()
			if err != nil {
				return CreatedUser{}, err
			}
			body := map[string]any{"accountEnabled": !in.Disabled, "displayName": in.DisplayName, "mailNickname": mailNickname(nick),
				"userPrincipalName": in.UPN, "passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true, "password": password}}
			for k, v := range map[string]string{"givenName": in.GivenName, "surname": in.Surname, "jobTitle": in.JobTitle,
				"department": in.Department, "usageLocation": in.UsageLocation} {
				if v != "" {
					body[k] = v
				}
			}
			out := CreatedUser{}
			var created *graph.User
			// A new user is no existing principal: the guard rails check its domain (NewUsers),
			// not memberships it cannot have yet.
			m := mutation{plan: policy.Plan{Tool: "create_entra_user", Effect: policy.Write, Summary: "Create user " + in.UPN, Target: in.UPN,
				NewUsers: []string{in.UPN}, Args: in, DryRun: in.DryRun}}
			m.actions = []action{{step: entraStep("create user", in.UPN, "delete_entra_user"), run: func(ctx context.Context) (string, bool, error) {
				u, err := d.Graph.CreateUser(ctx, body)
				created = u
				return "", false, err
			}}}
			res, err := d.execute(ctx, call, m)
			out.MutationResult = res
			if err == nil && created != nil {
				out.UserID, out.TemporaryPassword = created.ID, password
				if in.UsageLocation == "" {
					out.Next = "update_entra_user usage_location=… before assign_license"
				}
			}
			return out, err
		}, d.errors)
}

func mailNickname(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return -1
	}, s)
}

// temporaryPassword returns 16 characters from all four classes Entra's complexity rule counts,
// drawn with crypto/rand, avoiding look-alike characters.
func temporaryPassword() (string, error) {
	classes := []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#$%&*+-=?@^_"}
	all := strings.Join(classes, "")
	pick := func(set string) (byte, error) {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, err
		}
		return set[n.Int64()], nil
	}
	out := make([]byte, 16)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		out[i] = c
	}
	// Shuffle so the class-guaranteed characters are not always first.
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}
