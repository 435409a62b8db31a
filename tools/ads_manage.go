package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/policy"
)

// adsUserRef identifies a Microsoft Advertising user by id or e-mail (UserName).
type adsUserRef struct {
	User       string `json:"user" jsonschema:"minLength=1" jsonschema_description:"Ads user id or sign-in e-mail."`
	CustomerID int64  `json:"customer_id,omitempty" jsonschema_description:"Defaults to MSIDM_ADS_CUSTOMER_ID."`
}

func (r adsUserRef) check() error {
	if strings.TrimSpace(r.User) == "" {
		return inputError("user is required: a Microsoft Advertising user id or sign-in e-mail")
	}
	if r.CustomerID < 0 {
		return inputError("customer_id must be positive")
	}
	return nil
}

func (d *Deps) customer(id int64) int64 {
	if id == 0 {
		return d.AdsCustomerID
	}
	return id
}

// resolveAdsUser finds a user by id, or by UserName among every status of the customer.
func (d *Deps) resolveAdsUser(ctx context.Context, ref adsUserRef) (*ads.User, []ads.CustomerRole, error) {
	if id, err := strconv.ParseInt(strings.TrimSpace(ref.User), 10, 64); err == nil && id > 0 {
		return d.Ads.GetUser(ctx, id)
	}
	customer := d.customer(ref.CustomerID)
	users, err := usersWithStatus(ctx, d.Ads, customer, "all")
	if err != nil {
		return nil, nil, err
	}
	for _, u := range users {
		if strings.EqualFold(u.UserName, strings.TrimSpace(ref.User)) {
			return d.Ads.GetUser(ctx, u.ID)
		}
	}
	return nil, nil, inputError("no Microsoft Advertising user of customer %d signs in as %q; see list_ads_users or find_user_everywhere", customer, ref.User)
}

// AdsUserDetail is get_ads_user's output.
type AdsUserDetail struct {
	AdsUser
	CustomerID   int64  `json:"customer_id"`
	Phone        string `json:"phone,omitempty"`
	Locale       string `json:"locale,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

func (o AdsUserDetail) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) | %s | id %d | customer %d\n", o.Name, o.UserName, o.Status, o.ID, o.CustomerID)
	if o.Email != "" && !strings.EqualFold(o.Email, o.UserName) {
		fmt.Fprintf(&b, "contact e-mail %s\n", o.Email)
	}
	for _, r := range o.Roles {
		scope := fmt.Sprintf("customer %d", r.CustomerID)
		if len(r.AccountIDs) > 0 {
			scope = "accounts " + joinIDs(r.AccountIDs)
		}
		fmt.Fprintf(&b, "- %s (%d) on %s\n", r.Role, r.RoleID, scope)
	}
	return b.String()
}

func detailOf(u *ads.User, roles []ads.CustomerRole) AdsUserDetail {
	d := AdsUserDetail{AdsUser: AdsUser{ID: u.ID, UserName: u.UserName}, CustomerID: u.CustomerID, Phone: u.Phone1, Locale: u.Lcid}
	fillProfile(&d.AdsUser, u, roles)
	if !u.LastModifiedTime.IsZero() {
		d.LastModified = u.LastModifiedTime.Format(time.RFC3339)
	}
	if d.Roles == nil {
		d.Roles = []AdsRole{}
	}
	return d
}

type getAdsUserInput struct{ adsUserRef }

func (in *getAdsUserInput) validate() error { return in.check() }

func getAdsUser(d *Deps) Tool {
	return define(spec{Name: "get_ads_user", Title: "Get a Microsoft Advertising user",
		Description: "Read one Microsoft Advertising user by id or sign-in e-mail: profile, lifecycle status and roles per customer and account.",
		Toolset:     ToolsetAds, Effect: policy.Read},
		func(ctx context.Context, _ *Call, in getAdsUserInput) (AdsUserDetail, error) {
			u, roles, err := d.resolveAdsUser(ctx, in.adsUserRef)
			if err != nil {
				return AdsUserDetail{}, err
			}
			return detailOf(u, roles), nil
		}, d.errors)
}

// roleID parses a role given by documented name ("Super Admin", "standard_user") or id.
func roleID(s string) (int, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.Atoi(s); err == nil && id > 0 {
		return id, nil
	}
	norm := strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.ToLower(s))
	for _, r := range adsRoles {
		if strings.ReplaceAll(strings.ToLower(r.Name), " ", "") == norm {
			return r.RoleID, nil
		}
	}
	if norm == "clientviewer" {
		return ads.RoleViewer, nil
	}
	return 0, inputError("role %q is not a known Microsoft Advertising role; use Super Admin, Standard User, Advertiser Campaign Manager, Viewer or a numeric role id (see msidm://ads/roles)", s)
}

func roleName(id int) string {
	if n := ads.RoleName(id); n != "" {
		return n
	}
	return fmt.Sprintf("role %d", id)
}

// locales maps common locale tags to the WSDL's LCID enumeration names.
var locales = map[string]string{"en-us": "EnglishUS", "en-gb": "EnglishUK", "en-ca": "EnglishCanada", "en-au": "EnglishAustralia",
	"en-in": "EnglishIndia", "de-de": "GermanGermany", "fr-fr": "FrenchFrance", "fr-ca": "FrenchCanada", "es-es": "SpanishSpain",
	"es-mx": "SpanishMexico", "it-it": "ItalianItaly", "pt-br": "PortugueseBrazil", "ja-jp": "JapaneseJapan", "nl-nl": "DutchNetherlands",
	"sv-se": "SwedishSweden", "da-dk": "DanishDenmark", "nb-no": "NorwegianNorway", "fi-fi": "FinnishFinland", "zh-cn": "ChineseChina",
	"zh-tw": "ChineseTaiwan", "ko-kr": "KoreanKorea"}

func lcid(locale string) (string, error) {
	if locale == "" {
		return "EnglishUS", nil
	}
	if l, ok := locales[strings.ToLower(locale)]; ok {
		return l, nil
	}
	for _, l := range locales {
		if strings.EqualFold(l, locale) {
			return l, nil
		}
	}
	return "", inputError("locale %q is not supported; use a tag such as en-US, en-GB, de-DE, fr-FR or an LCID name such as EnglishUS", locale)
}

type inviteInput struct {
	Email      string  `json:"email" jsonschema:"format=email" jsonschema_description:"Address the invitation is sent to."`
	FirstName  string  `json:"first_name" jsonschema:"minLength=1"`
	LastName   string  `json:"last_name" jsonschema:"minLength=1"`
	Role       string  `json:"role" jsonschema_description:"Super Admin, Standard User, Advertiser Campaign Manager, Viewer, or an id."`
	AccountIDs []int64 `json:"account_ids,omitempty" jsonschema_description:"Limit the role to these accounts; omit for the whole customer."`
	Locale     string  `json:"locale,omitempty" jsonschema_description:"Language of the invitation e-mail, e.g. en-US (default) or de-DE."`
	CustomerID int64   `json:"customer_id,omitempty" jsonschema_description:"Defaults to MSIDM_ADS_CUSTOMER_ID."`
	mutationFields
}

func (in *inviteInput) validate() error {
	if _, domain, ok := strings.Cut(in.Email, "@"); !ok || !strings.Contains(domain, ".") || strings.ContainsAny(in.Email, " <>,;") {
		return inputError("email must be a valid address such as jane@contoso.example")
	}
	if strings.TrimSpace(in.FirstName) == "" || strings.TrimSpace(in.LastName) == "" {
		return inputError("first_name and last_name are required")
	}
	id, err := roleID(in.Role)
	if err != nil {
		return err
	}
	if id == ads.RoleSuperAdmin && len(in.AccountIDs) > 0 {
		return inputError("Super Admin is a customer-level role: omit account_ids")
	}
	_, err = lcid(in.Locale)
	return err
}

// InvitationView is a pending invitation in tool results.
type InvitationView struct {
	ID         int64   `json:"id"`
	Email      string  `json:"email"`
	Name       string  `json:"name"`
	Role       string  `json:"role"`
	RoleID     int     `json:"role_id"`
	AccountIDs []int64 `json:"account_ids,omitempty"`
	Expires    string  `json:"expires"`
	Expired    bool    `json:"expired"`
}

func invitationView(i ads.UserInvitation, now time.Time) InvitationView {
	return InvitationView{ID: i.ID, Email: i.Email, Name: strings.TrimSpace(i.FirstName + " " + i.LastName), Role: roleName(i.RoleID),
		RoleID: i.RoleID, AccountIDs: i.AccountIDs, Expires: i.ExpirationDate.Format(time.RFC3339), Expired: !i.ExpirationDate.After(now)}
}

// InviteResult is invite_user's output.
type InviteResult struct {
	MutationResult
	Invitation *InvitationView `json:"invitation,omitempty"`
}

func inviteUser(d *Deps) Tool {
	return define(spec{Name: "invite_user", Title: "Invite a user to Microsoft Advertising",
		Description: "Invite a person to Microsoft Advertising with a role, customer-wide or on listed accounts. An existing pending invitation for the address is returned instead of a duplicate. Invitations cannot be cancelled through the API.",
		Toolset:     ToolsetAds, Effect: policy.Write},
		func(ctx context.Context, call *Call, in inviteInput) (InviteResult, error) {
			customer := d.customer(in.CustomerID)
			role, _ := roleID(in.Role)
			locale, _ := lcid(in.Locale)
			pending, err := d.Ads.SearchUserInvitations(ctx, customer, in.Email)
			if err != nil {
				return InviteResult{}, err
			}
			now := time.Now()
			for _, p := range pending {
				if p.ExpirationDate.After(now) {
					v := invitationView(p, now)
					return InviteResult{MutationResult: MutationResult{Tool: "invite_user", Status: "no_change",
						Summary: fmt.Sprintf("%s already has pending invitation %d (%s), expiring %s; no duplicate was sent", in.Email, p.ID, v.Role, v.Expires),
						Steps:   []StepResult{}}, Invitation: &v}, nil
				}
			}
			scope := fmt.Sprintf("customer %d", customer)
			if len(in.AccountIDs) > 0 {
				scope = "accounts " + joinIDs(in.AccountIDs)
			}
			plan := policy.Plan{Tool: "invite_user", Effect: policy.Write, Summary: fmt.Sprintf("Invite %s as %s on %s", in.Email, roleName(role), scope),
				Target: in.Email, Invitations: []string{in.Email}, GrantsAdsRole: role, Args: in, DryRun: in.DryRun}
			var sent int64
			m := mutation{plan: plan, actions: []action{{
				step: policy.Step{System: "ads", Action: "send invitation as " + roleName(role) + " on " + scope, Target: in.Email},
				run: func(ctx context.Context) (string, bool, error) {
					id, err := d.Ads.SendUserInvitation(ctx, ads.UserInvitation{FirstName: in.FirstName, LastName: in.LastName,
						Email: in.Email, CustomerID: customer, RoleID: role, AccountIDs: in.AccountIDs, Lcid: locale})
					sent = id
					return fmt.Sprintf("invitation %d", id), false, err
				}}}, next: "list_ads_invitations shows it until it is accepted or expires (30 days)"}
			res, err := d.execute(ctx, call, m)
			out := InviteResult{MutationResult: res}
			if err == nil && sent != 0 {
				v := invitationView(ads.UserInvitation{ID: sent, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
					RoleID: role, AccountIDs: in.AccountIDs, ExpirationDate: now.AddDate(0, 0, 30)}, now)
				out.Invitation = &v
			}
			return out, err
		}, d.errors)
}

type listInvitationsInput struct {
	CustomerID     int64  `json:"customer_id,omitempty" jsonschema_description:"Defaults to MSIDM_ADS_CUSTOMER_ID."`
	Email          string `json:"email,omitempty" jsonschema_description:"Only invitations to this address."`
	IncludeExpired bool   `json:"include_expired,omitempty" jsonschema_description:"Also list expired invitations (the API keeps returning them)."`
	Limit          int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500,default=50"`
	Cursor         string `json:"cursor,omitempty"`
}

func (in *listInvitationsInput) validate() error { return validateLimit(in.Limit) }

type listInvitationsOutput struct {
	CustomerID  int64            `json:"customer_id"`
	Invitations []InvitationView `json:"invitations"`
	Count       int              `json:"count"`
	Total       int              `json:"total"`
	NextCursor  string           `json:"next_cursor,omitempty"`
}

func (o listInvitationsOutput) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d invitations of customer %d (the API cannot cancel them)\n", o.Count, o.Total, o.CustomerID)
	for _, i := range o.Invitations {
		state := "pending until " + i.Expires
		if i.Expired {
			state = "EXPIRED " + i.Expires
		}
		fmt.Fprintf(&b, "- %d | %s | %s | %s | %s\n", i.ID, i.Email, i.Name, i.Role, state)
	}
	return b.String()
}

func listInvitations(d *Deps) Tool {
	return define(spec{Name: "list_ads_invitations", Title: "List Microsoft Advertising invitations",
		Description: "List pending Microsoft Advertising user invitations of a customer (SearchUserInvitations) with role and expiry.",
		Toolset:     ToolsetAds, Effect: policy.Read},
		func(ctx context.Context, _ *Call, in listInvitationsInput) (listInvitationsOutput, error) {
			customer := d.customer(in.CustomerID)
			scope := fmt.Sprintf("invitations/%d/%s/%t", customer, strings.ToLower(in.Email), in.IncludeExpired)
			cur, err := decodeCursor(in.Cursor, scope)
			if err != nil {
				return listInvitationsOutput{}, err
			}
			invs, err := d.Ads.SearchUserInvitations(ctx, customer, in.Email)
			if err != nil {
				return listInvitationsOutput{}, err
			}
			now := time.Now()
			all := []InvitationView{}
			for _, i := range invs {
				if v := invitationView(i, now); in.IncludeExpired || !v.Expired {
					all = append(all, v)
				}
			}
			slices.SortFunc(all, func(a, b InvitationView) int { return cmp.Compare(a.ID, b.ID) })
			cur.Scope = scope
			page, next := pageOf(all, cur, in.Limit, func(p []InvitationView) any { return listInvitationsOutput{Invitations: p} })
			return listInvitationsOutput{CustomerID: customer, Invitations: page, Count: len(page), Total: len(all), NextCursor: next}, nil
		}, d.errors)
}

type changeRoleInput struct {
	adsUserRef
	Action     string  `json:"action" jsonschema:"enum=add,enum=replace,enum=remove" jsonschema_description:"add, replace the current role, or remove."`
	Role       string  `json:"role" jsonschema_description:"Super Admin, Standard User, Advertiser Campaign Manager, Viewer, or an id."`
	AccountIDs []int64 `json:"account_ids,omitempty" jsonschema_description:"Limit the role to these accounts; omit for the whole customer."`
	mutationFields
}

func (in *changeRoleInput) validate() error {
	if err := in.check(); err != nil {
		return err
	}
	if !slices.Contains([]string{"add", "replace", "remove"}, in.Action) {
		return inputError("action must be add, replace or remove")
	}
	id, err := roleID(in.Role)
	if err != nil {
		return err
	}
	if id == ads.RoleSuperAdmin && len(in.AccountIDs) > 0 {
		return inputError("Super Admin is a customer-level role: omit account_ids")
	}
	return nil
}

// RoleChangeResult is change_role's output: the report with roles before and after.
type RoleChangeResult struct {
	MutationResult
	Before []AdsRole `json:"roles_before"`
	After  []AdsRole `json:"roles_after,omitempty"`
}

func (r RoleChangeResult) Text() string {
	t := r.MutationResult.Text()
	t += "before: " + rolesText(r.Before) + "\n"
	if r.After != nil {
		t += "after: " + rolesText(r.After) + "\n"
	}
	return t
}

func rolesText(rs []AdsRole) string {
	var parts []string
	for _, r := range rs {
		s := r.Role
		if len(r.AccountIDs) > 0 {
			s += " on " + joinIDs(r.AccountIDs)
		}
		parts = append(parts, s)
	}
	return dash(strings.Join(parts, "; "))
}

func changeRole(d *Deps) Tool {
	return define(spec{Name: "change_role", Title: "Change a Microsoft Advertising user's role",
		Description: "Add, replace or remove a Microsoft Advertising role of a user, customer-wide or on listed accounts. Super Admin is customer-level and needs the policy's allow_super_admin. Shows roles before and after.",
		Toolset:     ToolsetAds, Effect: policy.Destructive},
		func(ctx context.Context, call *Call, in changeRoleInput) (RoleChangeResult, error) {
			u, roles, err := d.resolveAdsUser(ctx, in.adsUserRef)
			if err != nil {
				return RoleChangeResult{}, err
			}
			customer := d.customer(in.CustomerID)
			role, _ := roleID(in.Role)
			before := detailOf(u, roles).Roles
			upd := ads.UserRoleUpdate{CustomerID: customer, UserID: u.ID}
			effect := policy.Write
			switch in.Action {
			case "add":
				upd.NewRoleID, upd.NewAccountIDs = role, in.AccountIDs
			case "replace":
				effect = policy.Destructive
				upd.NewRoleID, upd.NewAccountIDs = role, in.AccountIDs
				for _, r := range roles {
					if r.CustomerID == customer && r.RoleID != role {
						upd.DeleteRoleID = r.RoleID
					}
				}
			case "remove":
				effect = policy.Destructive
				upd.DeleteRoleID, upd.DeleteAccountIDs = role, in.AccountIDs
			}
			scope := fmt.Sprintf("customer %d", customer)
			if len(in.AccountIDs) > 0 {
				scope = "accounts " + joinIDs(in.AccountIDs)
			}
			plan := policy.Plan{Tool: "change_role", Effect: effect, Summary: fmt.Sprintf("%s %s on %s for %s", in.Action, roleName(role), scope, u.UserName),
				Target: u.UserName, Targets: []policy.Principal{{System: "ads", ID: strconv.FormatInt(u.ID, 10), Name: u.UserName}},
				Args: in, DryRun: in.DryRun, GrantsAdsRole: grantOf(in.Action, role)}
			m := mutation{plan: plan, actions: []action{{
				step: policy.Step{System: "ads", Action: in.Action + " role " + roleName(role) + " on " + scope, Target: u.UserName,
					Reversible: true, Undo: "change_role with the roles_before"},
				run: func(ctx context.Context) (string, bool, error) {
					if in.Action == "add" && hasRole(roles, customer, role, in.AccountIDs) {
						return "already has that role", true, nil
					}
					if in.Action == "remove" && !hasRole(roles, customer, role, nil) {
						return "does not have that role", true, nil
					}
					_, err := d.Ads.UpdateUserRoles(ctx, upd)
					return "", false, err
				}}}}
			res, err := d.execute(ctx, call, m)
			out := RoleChangeResult{MutationResult: res, Before: before}
			if err == nil && res.Status == "done" {
				if u2, roles2, err := d.Ads.GetUser(ctx, u.ID); err == nil {
					out.After = detailOf(u2, roles2).Roles
				}
			}
			return out, err
		}, d.errors)
}

func grantOf(action string, role int) int {
	if action == "remove" {
		return 0
	}
	return role
}

func hasRole(roles []ads.CustomerRole, customer int64, role int, accounts []int64) bool {
	for _, r := range roles {
		if r.CustomerID != customer || r.RoleID != role {
			continue
		}
		ok := true
		for _, a := range accounts {
			ok = ok && (r.AccountIDs == nil || slices.Contains(r.AccountIDs, a))
		}
		if ok {
			return true
		}
	}
	return false
}

type updateAdsUserInput struct {
	adsUserRef
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	JobTitle  string `json:"job_title,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Email     string `json:"contact_email,omitempty" jsonschema_description:"Contact e-mail (not the sign-in name)."`
	Locale    string `json:"locale,omitempty"`
	UserName  string `json:"user_name,omitempty" jsonschema_description:"Not changeable: the sign-in name is immutable in Microsoft Advertising."`
	mutationFields
}

func (in *updateAdsUserInput) validate() error {
	if err := in.check(); err != nil {
		return err
	}
	if in.UserName != "" {
		return inputError("user_name cannot be changed: Microsoft Advertising sign-in names are immutable; invite the new address with invite_user and deactivate the old user with deactivate_ads_user")
	}
	if in.FirstName == "" && in.LastName == "" && in.JobTitle == "" && in.Phone == "" && in.Email == "" && in.Locale == "" {
		return inputError("nothing to update: give at least one of first_name, last_name, job_title, phone, contact_email, locale")
	}
	_, err := lcid(in.Locale)
	return err
}

func updateAdsUser(d *Deps) Tool {
	return define(spec{Name: "update_ads_user", Title: "Update a Microsoft Advertising user's profile",
		Description: "Change profile fields of a Microsoft Advertising user (name, job title, phone, contact e-mail, locale). The sign-in name is immutable.",
		Toolset:     ToolsetAds, Effect: policy.Write, Idempotent: true},
		func(ctx context.Context, call *Call, in updateAdsUserInput) (MutationResult, error) {
			u, _, err := d.resolveAdsUser(ctx, in.adsUserRef)
			if err != nil {
				return MutationResult{}, err
			}
			changed := *u
			set := func(dst *string, v string) {
				if v != "" {
					*dst = v
				}
			}
			set(&changed.FirstName, in.FirstName)
			set(&changed.LastName, in.LastName)
			set(&changed.JobTitle, in.JobTitle)
			set(&changed.Phone1, in.Phone)
			set(&changed.Email, in.Email)
			if in.Locale != "" {
				changed.Lcid, _ = lcid(in.Locale)
			}
			plan := policy.Plan{Tool: "update_ads_user", Effect: policy.Write, Summary: "Update the profile of " + u.UserName, Target: u.UserName,
				Targets: []policy.Principal{{System: "ads", ID: strconv.FormatInt(u.ID, 10), Name: u.UserName}}, Args: in, DryRun: in.DryRun}
			return d.execute(ctx, call, mutation{plan: plan, actions: []action{{
				step: policy.Step{System: "ads", Action: "update profile", Target: u.UserName, Reversible: true, Undo: "update_ads_user with the old values"},
				run: func(ctx context.Context) (string, bool, error) {
					_, err := d.Ads.UpdateUser(ctx, &changed)
					return "", false, err
				}}}})
		}, d.errors)
}

type deactivateInput struct {
	adsUserRef
	mutationFields
}

func (in *deactivateInput) validate() error { return in.check() }

func deactivateAdsUser(d *Deps) Tool {
	return define(spec{Name: "deactivate_ads_user", Title: "Deactivate a Microsoft Advertising user",
		Description: "Deactivate a Microsoft Advertising user (DeleteUser): the user can no longer sign in to the customer and becomes Inactive. Re-adding access needs a new invitation.",
		Toolset:     ToolsetAds, Effect: policy.Destructive, Idempotent: true},
		func(ctx context.Context, call *Call, in deactivateInput) (MutationResult, error) {
			u, _, err := d.resolveAdsUser(ctx, in.adsUserRef)
			if err != nil {
				return MutationResult{}, err
			}
			plan := policy.Plan{Tool: "deactivate_ads_user", Effect: policy.Destructive, Summary: fmt.Sprintf("Deactivate Microsoft Advertising user %s (%d)", u.UserName, u.ID),
				Target: u.UserName, Targets: []policy.Principal{{System: "ads", ID: strconv.FormatInt(u.ID, 10), Name: u.UserName}}, Args: in, DryRun: in.DryRun}
			return d.execute(ctx, call, mutation{plan: plan, actions: []action{{
				step: policy.Step{System: "ads", Action: "deactivate user (DeleteUser)", Target: u.UserName, Undo: ""},
				run: func(ctx context.Context) (string, bool, error) {
					if u.Status != "Active" {
						return "already " + u.Status, true, nil
					}
					return "", false, d.Ads.DeleteUser(ctx, u.ID, u.TimeStamp)
				}}}})
		}, d.errors)
}

// WhoAmI is ads_whoami's output.
type WhoAmI struct {
	User      AdsUserDetail  `json:"user"`
	Customers []CustomerView `json:"customers"`
}

// CustomerView is a reachable customer and its accounts.
type CustomerView struct {
	ID       int64         `json:"id"`
	Name     string        `json:"name"`
	Accounts []AccountView `json:"accounts"`
	Error    string        `json:"error,omitempty"`
}

// AccountView is one advertiser account.
type AccountView struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Number string `json:"number"`
	Status string `json:"status"`
}

func (w WhoAmI) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "signed in as %s (id %d)\n", w.User.UserName, w.User.ID)
	for _, c := range w.Customers {
		fmt.Fprintf(&b, "customer %d %s: %d accounts", c.ID, c.Name, len(c.Accounts))
		for _, a := range c.Accounts {
			fmt.Fprintf(&b, "; %d %s (%s)", a.ID, a.Name, a.Status)
		}
		b.WriteString("\n")
	}
	return b.String()
}

const maxCustomers = 100

func adsWhoAmI(d *Deps) Tool {
	return define(spec{Name: "ads_whoami", Title: "Who am I in Microsoft Advertising",
		Description: "Show the signed-in Microsoft Advertising user, its roles, and the customers and accounts it can reach.",
		Toolset:     ToolsetAds, Effect: policy.Read},
		func(ctx context.Context, _ *Call, _ noInput) (WhoAmI, error) {
			u, roles, err := d.Ads.GetUser(ctx, 0)
			if err != nil {
				return WhoAmI{}, err
			}
			custs, err := d.Ads.GetCustomersInfo(ctx, "", maxCustomers)
			if err != nil {
				return WhoAmI{}, err
			}
			out := WhoAmI{User: detailOf(u, roles), Customers: make([]CustomerView, len(custs))}
			var wg sync.WaitGroup
			for i, c := range custs {
				out.Customers[i] = CustomerView{ID: c.ID, Name: c.Name, Accounts: []AccountView{}}
				wg.Go(func() {
					accts, err := d.Ads.GetAccountsInfo(ctx, c.ID, false)
					if err != nil {
						out.Customers[i].Error = explain(err)
						return
					}
					for _, a := range accts {
						out.Customers[i].Accounts = append(out.Customers[i].Accounts, AccountView{ID: a.ID, Name: a.Name, Number: a.Number, Status: a.Status})
					}
				})
			}
			wg.Wait()
			return out, nil
		}, d.errors)
}
