package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy"
)

// entraUserSelect is the property set list_entra_users asks Graph for: enough to identify a
// person and their state, small enough to keep pages compact.
var entraUserSelect = []string{"id", "displayName", "userPrincipalName", "mail", "accountEnabled",
	"userType", "department", "jobTitle", "onPremisesSyncEnabled"}

type listEntraUsersInput struct {
	entraUserFilter
	Limit  int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500,default=50" jsonschema_description:"Users per page (1-500, default 50)."`
	Cursor string `json:"cursor,omitempty" jsonschema_description:"The next_cursor of the previous page (repeat the same filters); omit for the first page."`
}

func (in *listEntraUsersInput) validate() error { return validateLimit(in.Limit) }

// EntraUser is the compact form of an Entra ID user in tool results.
type EntraUser struct {
	ID          string `json:"id"`
	UPN         string `json:"upn"`
	DisplayName string `json:"display_name"`
	Mail        string `json:"mail,omitempty"`
	Enabled     bool   `json:"enabled" jsonschema_description:"false when sign-in is blocked (accountEnabled=false)"`
	UserType    string `json:"user_type,omitempty" jsonschema_description:"Member or Guest"`
	Department  string `json:"department,omitempty"`
	JobTitle    string `json:"job_title,omitempty"`
	Synced      bool   `json:"on_prem_synced,omitempty" jsonschema_description:"true when the user is synced from on-premises Active Directory (cloud edits get overwritten)"`
}

type listEntraUsersOutput struct {
	Users      []EntraUser `json:"users"`
	Count      int         `json:"count"`
	NextCursor string      `json:"next_cursor,omitempty" jsonschema_description:"Pass as cursor to get the next page; absent on the last page."`
}

func (o listEntraUsersOutput) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d Entra ID users", o.Count)
	if o.NextCursor != "" {
		fmt.Fprintf(&b, " (more: call again with cursor=%s)", o.NextCursor)
	}
	b.WriteString("\n")
	for _, u := range o.Users {
		state := "enabled"
		if !u.Enabled {
			state = "DISABLED"
		}
		fmt.Fprintf(&b, "- %s | %s | %s | %s", u.UPN, u.DisplayName, state, u.UserType)
		if u.Department != "" {
			fmt.Fprintf(&b, " | %s", u.Department)
		}
		if u.Synced {
			b.WriteString(" | on-prem synced")
		}
		fmt.Fprintf(&b, " | id %s\n", u.ID)
	}
	return b.String()
}

func listEntraUsers(d *Deps) Tool {
	return define(spec{
		Name:        "list_entra_users",
		Title:       "List Entra ID users",
		Description: "List or search Entra ID users with typed filters, a page at a time, with sign-in and on-premises sync state. Use next_cursor to page.",
		Toolset:     ToolsetEntra,
		Effect:      policy.Read,
	}, func(ctx context.Context, _ *Call, in listEntraUsersInput) (listEntraUsersOutput, error) {
		limit := limitOrDefault(in.Limit)
		filter, search, advanced, err := in.odata()
		if err != nil {
			return listEntraUsersOutput{}, err
		}
		opts := graph.ListUsersOptions{Top: limit, Select: entraUserSelect, Filter: filter, Search: search,
			Advanced: advanced, Count: advanced}
		scope := "entra-users/" + filter + "/" + search
		cur, err := decodeCursor(in.Cursor, scope)
		if err != nil {
			return listEntraUsersOutput{}, err
		}
		pageURL := cur.URL
		if pageURL == "" {
			pageURL = d.Graph.UsersURL(opts)
		}
		page, err := d.Graph.UsersPage(ctx, pageURL, opts.Header())
		if err != nil {
			return listEntraUsersOutput{}, err
		}
		return shapeEntraPage(page, pageURL, scope, cur.Skip, limit), nil
	}, d.errors)
}

// shapeEntraPage returns up to limit users of page after skip, trimmed to the result budget,
// with a cursor that resumes exactly after the last user returned.
func shapeEntraPage(page *graph.UserPage, pageURL, scope string, skip, limit int) listEntraUsersOutput {
	users := page.Users
	if skip > len(users) {
		skip = len(users)
	}
	users = users[skip:]
	if len(users) > limit {
		users = users[:limit]
	}
	all := make([]EntraUser, len(users))
	for i, u := range users {
		all[i] = compactEntraUser(u)
	}
	n := fitBudget(len(all), func(k int) int { return jsonSize(listEntraUsersOutput{Users: all[:k]}) })
	out := listEntraUsersOutput{Users: all[:n], Count: n}
	switch {
	case skip+n < len(page.Users):
		out.NextCursor = cursor{URL: pageURL, Skip: skip + n, Scope: scope}.encode()
	case page.NextLink != "":
		out.NextCursor = cursor{URL: page.NextLink, Scope: scope}.encode()
	}
	return out
}

func compactEntraUser(u graph.User) EntraUser {
	return EntraUser{
		ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: u.Mail,
		Enabled: u.AccountEnabled == nil || *u.AccountEnabled, UserType: u.UserType,
		Department: u.Department, JobTitle: u.JobTitle,
		Synced: u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled,
	}
}
