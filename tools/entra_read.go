package tools

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy"
)

type getEntraUserInput struct {
	User string `json:"user" jsonschema:"minLength=1" jsonschema_description:"Object id, userPrincipalName or e-mail address (mail, proxyAddresses, otherMails)."`
}

func (in *getEntraUserInput) validate() error {
	if in.User == "" {
		return inputError("user is required")
	}
	return nil
}

// maxGroupsShown bounds the group list of get_entra_user; the count says how many exist.
const maxGroupsShown = 50

// EntraUserDetail is get_entra_user's output.
type EntraUserDetail struct {
	EntraUser
	UsageLocation  string     `json:"usage_location,omitempty"`
	OtherMails     []string   `json:"other_mails,omitempty"`
	ProxyAddresses []string   `json:"proxy_addresses,omitempty"`
	Licenses       []string   `json:"licenses" jsonschema_description:"SKU part numbers, e.g. ENTERPRISEPACK."`
	Manager        string     `json:"manager,omitempty" jsonschema_description:"The manager's userPrincipalName."`
	Groups         []GroupRef `json:"groups"`
	GroupCount     int        `json:"group_count" jsonschema_description:"Direct memberships (groups and directory roles); groups lists at most 50."`
	SessionsValid  string     `json:"sessions_valid_from,omitempty" jsonschema_description:"Sign-in sessions issued before this time are revoked."`
	LeaveDate      string     `json:"employee_leave_date,omitempty"`
	Created        string     `json:"created,omitempty"`
}

// GroupRef is a compact group or directory role.
type GroupRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   string `json:"kind" jsonschema_description:"security, microsoft365, dynamic, role-assignable, synced or directoryRole"`
	Manage string `json:"manageable,omitempty" jsonschema_description:"Why membership cannot be changed here, if it cannot."`
}

func (o EntraUserDetail) Text() string {
	var b strings.Builder
	state := "sign-in allowed"
	if !o.Enabled {
		state = "SIGN-IN BLOCKED"
	}
	fmt.Fprintf(&b, "%s (%s) | %s | %s | id %s\n", o.DisplayName, o.UPN, state, o.UserType, o.ID)
	if o.Synced {
		b.WriteString("synced from on-premises AD: profile changes must be made in AD\n")
	}
	fmt.Fprintf(&b, "department %s, job title %s, usage location %s, manager %s\n", dash(o.Department), dash(o.JobTitle), dash(o.UsageLocation), dash(o.Manager))
	fmt.Fprintf(&b, "licences: %s\n", dash(strings.Join(o.Licenses, ", ")))
	fmt.Fprintf(&b, "%d direct memberships:", o.GroupCount)
	for _, g := range o.Groups {
		fmt.Fprintf(&b, " %s (%s);", g.Name, g.Kind)
	}
	b.WriteString("\n")
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func groupRef(o graph.DirectoryObject) GroupRef {
	r := GroupRef{ID: o.ID, Name: o.DisplayName, Kind: groupKind(o), Manage: unmanagedGroup(o)}
	if o.ODataType == "#microsoft.graph.directoryRole" {
		r.Manage = "is a directory role: manage role assignments in Entra"
	}
	return r
}

func groupKind(o graph.DirectoryObject) string {
	switch {
	case o.ODataType == "#microsoft.graph.directoryRole":
		return "directoryRole"
	case o.Dynamic():
		return "dynamic"
	case o.Synced():
		return "synced"
	case isTrue(o.IsAssignableToRole):
		return "role-assignable"
	}
	for _, t := range o.GroupTypes {
		if strings.EqualFold(t, "Unified") {
			return "microsoft365"
		}
	}
	return "security"
}

func getEntraUser(d *Deps) Tool {
	return define(spec{Name: "get_entra_user", Title: "Get an Entra ID user",
		Description: "Read one Entra ID user by object id, userPrincipalName or e-mail: profile, sign-in state, on-premises sync state, licences, manager and group memberships.",
		Toolset:     ToolsetEntra, Effect: policy.Read},
		func(ctx context.Context, _ *Call, in getEntraUserInput) (EntraUserDetail, error) {
			u, err := d.resolveUser(ctx, in.User)
			if err != nil {
				return EntraUserDetail{}, err
			}
			full, err := d.Graph.GetUser(ctx, u.ID, append(userSelect, "mobilePhone", "createdDateTime",
				"employeeLeaveDateTime", "signInSessionsValidFromDateTime")...)
			if err != nil {
				return EntraUserDetail{}, err
			}
			out := EntraUserDetail{EntraUser: compactEntraUser(*full), UsageLocation: full.UsageLocation,
				OtherMails: full.OtherMails, ProxyAddresses: full.ProxyAddresses, Licenses: []string{}, Groups: []GroupRef{}}
			out.SessionsValid, out.LeaveDate, out.Created = timeText(full.SignInSessionsValidFromDateTime), timeText(full.EmployeeLeaveDateTime), timeText(full.CreatedDateTime)
			// Manager, memberships and SKU names are independent reads: fetch them in parallel.
			var wg sync.WaitGroup
			var mgrErr, grpErr, skuErr error
			var skus []graph.SKU
			wg.Go(func() {
				m, err := d.Graph.Manager(ctx, u.ID)
				if err == nil {
					out.Manager = firstNonEmpty(m.UserPrincipalName, m.DisplayName)
				} else if !graph.NotFound(err) {
					mgrErr = err
				}
			})
			wg.Go(func() {
				for g, err := range d.Graph.MemberOf(ctx, u.ID, false) {
					if err != nil {
						grpErr = err
						return
					}
					out.GroupCount++
					if len(out.Groups) < maxGroupsShown {
						out.Groups = append(out.Groups, groupRef(g))
					}
				}
			})
			if len(full.AssignedLicenses) > 0 {
				wg.Go(func() { skus, skuErr = d.Graph.SubscribedSKUs(ctx) })
			}
			wg.Wait()
			for _, err := range []error{mgrErr, grpErr, skuErr} {
				if err != nil {
					return EntraUserDetail{}, err
				}
			}
			for _, l := range full.AssignedLicenses {
				out.Licenses = append(out.Licenses, skuName(skus, l.SKUID))
			}
			return out, nil
		}, d.errors)
}

func timeText(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type listGroupsInput struct {
	NameStartsWith string `json:"name_starts_with,omitempty" jsonschema_description:"Prefix of the group's display name."`
	Limit          int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500,default=50"`
	Cursor         string `json:"cursor,omitempty" jsonschema_description:"The next_cursor of the previous page."`
}

func (in *listGroupsInput) validate() error { return validateLimit(in.Limit) }

type listGroupsOutput struct {
	Groups     []GroupRef `json:"groups"`
	Count      int        `json:"count"`
	Total      int        `json:"total"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func (o listGroupsOutput) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d groups", o.Count, o.Total)
	if o.NextCursor != "" {
		fmt.Fprintf(&b, " (more: cursor=%s)", o.NextCursor)
	}
	b.WriteString("\n")
	for _, g := range o.Groups {
		fmt.Fprintf(&b, "- %s | %s | id %s", g.Name, g.Kind, g.ID)
		if g.Manage != "" {
			fmt.Fprintf(&b, " | not manageable here: %s", g.Manage)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func listGroups(d *Deps) Tool {
	return define(spec{Name: "list_groups", Title: "List Entra ID groups",
		Description: "List Entra ID groups with their kind (security, Microsoft 365, dynamic, role-assignable, synced) and whether membership can be managed here.",
		Toolset:     ToolsetEntra, Effect: policy.Read},
		func(ctx context.Context, _ *Call, in listGroupsInput) (listGroupsOutput, error) {
			filter := ""
			if in.NameStartsWith != "" {
				filter = fmt.Sprintf("startswith(displayName,'%s')", quote(in.NameStartsWith))
			}
			scope := "groups/" + filter
			cur, err := decodeCursor(in.Cursor, scope)
			if err != nil {
				return listGroupsOutput{}, err
			}
			var all []GroupRef
			for g, err := range d.Graph.Groups(ctx, filter) {
				if err != nil {
					return listGroupsOutput{}, err
				}
				g.ODataType = "#microsoft.graph.group"
				all = append(all, groupRef(g))
			}
			cur.Scope = scope
			page, next := pageOf(all, cur, in.Limit, func(p []GroupRef) any { return listGroupsOutput{Groups: p} })
			return listGroupsOutput{Groups: page, Count: len(page), Total: len(all), NextCursor: next}, nil
		}, d.errors)
}

type noInput struct{}

// SKUView is one licence product with its capacity.
type SKUView struct {
	PartNumber string `json:"sku"`
	SKUID      string `json:"sku_id"`
	Consumed   int    `json:"consumed"`
	Enabled    int    `json:"enabled"`
	Available  int    `json:"available"`
}

type listSKUsOutput struct {
	SKUs []SKUView `json:"skus"`
}

func (o listSKUsOutput) Text() string {
	var b strings.Builder
	for _, s := range o.SKUs {
		fmt.Fprintf(&b, "- %s: %d of %d used, %d free (skuId %s)\n", s.PartNumber, s.Consumed, s.Enabled, s.Available, s.SKUID)
	}
	return b.String()
}

func listSKUs(d *Deps) Tool {
	return define(spec{Name: "list_skus", Title: "List licence SKUs",
		Description: "List the tenant's licence products (SKU part numbers such as ENTERPRISEPACK) with used and free units.",
		Toolset:     ToolsetEntra, Effect: policy.Read},
		func(ctx context.Context, _ *Call, _ noInput) (listSKUsOutput, error) {
			skus, err := d.Graph.SubscribedSKUs(ctx)
			if err != nil {
				return listSKUsOutput{}, err
			}
			out := listSKUsOutput{SKUs: []SKUView{}}
			for _, s := range skus {
				out.SKUs = append(out.SKUs, SKUView{PartNumber: s.SKUPartNumber, SKUID: s.SKUID, Consumed: s.ConsumedUnits,
					Enabled: s.PrepaidUnits.Enabled, Available: max(0, s.PrepaidUnits.Enabled-s.ConsumedUnits)})
			}
			return out, nil
		}, d.errors)
}

type listDeletedInput struct {
	Limit  int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500,default=50"`
	Cursor string `json:"cursor,omitempty"`
}

func (in *listDeletedInput) validate() error { return validateLimit(in.Limit) }

// DeletedUser is a soft-deleted user in the recycle bin.
type DeletedUser struct {
	ID          string `json:"id"`
	UPN         string `json:"upn"`
	DisplayName string `json:"display_name"`
	DeletedAt   string `json:"deleted_at,omitempty"`
	PurgeAfter  string `json:"permanently_deleted_after,omitempty" jsonschema_description:"30 days after deletion; restore before this."`
}

type listDeletedOutput struct {
	Users      []DeletedUser `json:"users"`
	Count      int           `json:"count"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

func (o listDeletedOutput) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d deleted users (restore with restore_entra_user id=…)\n", o.Count)
	for _, u := range o.Users {
		fmt.Fprintf(&b, "- %s | %s | deleted %s | restorable until %s | id %s\n", u.UPN, u.DisplayName, dash(u.DeletedAt), dash(u.PurgeAfter), u.ID)
	}
	return b.String()
}

func listDeletedUsers(d *Deps) Tool {
	return define(spec{Name: "list_deleted_entra_users", Title: "List deleted Entra ID users",
		Description: "List soft-deleted Entra ID users in the recycle bin, with the date after which they are gone for good.",
		Toolset:     ToolsetEntra, Effect: policy.Read},
		func(ctx context.Context, _ *Call, in listDeletedInput) (listDeletedOutput, error) {
			cur, err := decodeCursor(in.Cursor, "deleted-users")
			if err != nil {
				return listDeletedOutput{}, err
			}
			var all []DeletedUser
			for u, err := range d.Graph.DeletedUsers(ctx) {
				if err != nil {
					return listDeletedOutput{}, err
				}
				du := DeletedUser{ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName, DeletedAt: timeText(u.DeletedDateTime)}
				if u.DeletedDateTime != nil {
					du.PurgeAfter = u.DeletedDateTime.Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
				}
				all = append(all, du)
			}
			cur.Scope = "deleted-users"
			page, next := pageOf(all, cur, in.Limit, func(p []DeletedUser) any { return listDeletedOutput{Users: p} })
			return listDeletedOutput{Users: page, Count: len(page), NextCursor: next}, nil
		}, d.errors)
}
