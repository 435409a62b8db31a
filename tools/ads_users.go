package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/policy"
)

type listAdsUsersInput struct {
	CustomerID   int64  `json:"customer_id,omitempty" jsonschema_description:"Microsoft Advertising customer id; defaults to the configured MSIDM_ADS_CUSTOMER_ID."`
	Status       string `json:"status,omitempty" jsonschema:"enum=all,enum=Active,enum=Inactive,enum=Pending,enum=Deleted,default=all" jsonschema_description:"Lifecycle status to list (default all). Inactive users were deactivated."`
	FullProfiles bool   `json:"full_profiles,omitempty" jsonschema_description:"Also read each listed user's profile and roles per account (one GetUser call per user on the page; slower)."`
	Limit        int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500,default=50" jsonschema_description:"Users per page (1-500, default 50)."`
	Cursor       string `json:"cursor,omitempty" jsonschema_description:"The next_cursor of the previous page; omit for the first page."`
}

func (in *listAdsUsersInput) validate() error {
	if in.Status == "" {
		in.Status = "all"
	}
	if in.Status != "all" && !slices.Contains(ads.UserStatuses, in.Status) {
		return inputError("status %q is not one of all, %s", in.Status, strings.Join(ads.UserStatuses, ", "))
	}
	if in.CustomerID < 0 {
		return inputError("customer_id must be a positive Microsoft Advertising customer id")
	}
	return validateLimit(in.Limit)
}

// AdsUser is the compact form of a Microsoft Advertising user in tool results.
type AdsUser struct {
	ID           int64     `json:"id"`
	UserName     string    `json:"user_name"`
	Status       string    `json:"status"`
	Name         string    `json:"name,omitempty"`
	Email        string    `json:"email,omitempty"`
	JobTitle     string    `json:"job_title,omitempty"`
	Roles        []AdsRole `json:"roles,omitempty"`
	ProfileError string    `json:"profile_error,omitempty" jsonschema_description:"Why the full profile could not be read, when full_profiles was asked for."`
}

// AdsRole is one role of a user: customer-wide, or on the listed accounts.
type AdsRole struct {
	RoleID     int     `json:"role_id"`
	Role       string  `json:"role"`
	CustomerID int64   `json:"customer_id"`
	AccountIDs []int64 `json:"account_ids,omitempty" jsonschema_description:"Accounts the role is limited to; absent for a customer-level role."`
}

type listAdsUsersOutput struct {
	CustomerID int64     `json:"customer_id"`
	Status     string    `json:"status"`
	Users      []AdsUser `json:"users"`
	Count      int       `json:"count"`
	Total      int       `json:"total" jsonschema_description:"Users matching the status filter in the customer."`
	NextCursor string    `json:"next_cursor,omitempty" jsonschema_description:"Pass as cursor to get the next page; absent on the last page."`
}

func (o listAdsUsersOutput) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Microsoft Advertising customer %d: %d of %d users (status %s)", o.CustomerID, o.Count, o.Total, o.Status)
	if o.NextCursor != "" {
		fmt.Fprintf(&b, " (more: call again with cursor=%s)", o.NextCursor)
	}
	b.WriteString("\n")
	for _, u := range o.Users {
		fmt.Fprintf(&b, "- %d | %s | %s", u.ID, u.UserName, u.Status)
		if u.Name != "" {
			fmt.Fprintf(&b, " | %s", u.Name)
		}
		for _, r := range u.Roles {
			fmt.Fprintf(&b, " | %s", r.Role)
			if len(r.AccountIDs) > 0 {
				fmt.Fprintf(&b, " on accounts %s", joinIDs(r.AccountIDs))
			} else {
				fmt.Fprintf(&b, " on customer %d", r.CustomerID)
			}
		}
		if u.ProfileError != "" {
			fmt.Fprintf(&b, " | profile unavailable: %s", u.ProfileError)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func listAdsUsers(d *Deps) Tool {
	return define(spec{
		Name:        "list_ads_users",
		Title:       "List Microsoft Advertising users",
		Description: "List the users of a Microsoft Advertising customer with their lifecycle status; with full_profiles, also names, e-mail and roles per account. Use next_cursor to page.",
		Toolset:     ToolsetAds,
		Effect:      policy.Read,
	}, func(ctx context.Context, call *Call, in listAdsUsersInput) (listAdsUsersOutput, error) {
		customer := in.CustomerID
		if customer == 0 {
			customer = d.AdsCustomerID
		}
		scope := fmt.Sprintf("ads-users/%d/%s/%t", customer, in.Status, in.FullProfiles)
		cur, err := decodeCursor(in.Cursor, scope)
		if err != nil {
			return listAdsUsersOutput{}, err
		}
		users, err := usersWithStatus(ctx, d.Ads, customer, in.Status)
		if err != nil {
			return listAdsUsersOutput{}, err
		}
		// Profiles are read for the candidate page only, before it is trimmed to the budget.
		cand := users[min(cur.Skip, len(users)):]
		cand = cand[:min(limitOrDefault(in.Limit), len(cand))]
		if in.FullProfiles {
			addProfiles(ctx, call, d.Ads, d.Concurrency, cand)
		}
		cur.Scope = scope
		page, next := pageOf(users, cur, in.Limit, func(p []AdsUser) any { return listAdsUsersOutput{Users: p} })
		return listAdsUsersOutput{CustomerID: customer, Status: in.Status, Users: page, Count: len(page), Total: len(users), NextCursor: next}, nil
	}, d.errors)
}

// usersWithStatus lists a customer's users sorted by id, each with its status. GetUsersInfo
// returns no status, so "all" asks once per status, in parallel, and labels each answer.
func usersWithStatus(ctx context.Context, svc ads.Service, customer int64, status string) ([]AdsUser, error) {
	statuses := []string{status}
	if status == "all" {
		statuses = ads.UserStatuses
	}
	results := make([][]ads.UserInfo, len(statuses))
	errs := make([]error, len(statuses))
	var wg sync.WaitGroup
	for i, s := range statuses {
		wg.Go(func() { results[i], errs[i] = svc.GetUsersInfo(ctx, customer, s) })
	}
	wg.Wait()
	var out []AdsUser
	for i, infos := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, ui := range infos {
			out = append(out, AdsUser{ID: ui.ID, UserName: ui.UserName, Status: statuses[i]})
		}
	}
	slices.SortFunc(out, func(a, b AdsUser) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// addProfiles reads GetUser for each user with at most concurrency calls in flight, because
// the API has no bulk read (NOTES §4). A failed read is reported on that user, not fatal.
func addProfiles(ctx context.Context, call *Call, svc ads.Service, concurrency int, users []AdsUser) {
	if concurrency < 1 {
		concurrency = 1
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			u, roles, err := svc.GetUser(ctx, users[i].ID)
			if err != nil {
				users[i].ProfileError = explain(err)
			} else {
				fillProfile(&users[i], u, roles)
			}
			mu.Lock()
			done++
			call.Progress(ctx, done, len(users), "reading Microsoft Advertising profiles")
			mu.Unlock()
		})
	}
	wg.Wait()
}

func fillProfile(dst *AdsUser, u *ads.User, roles []ads.CustomerRole) {
	dst.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	dst.Email = u.Email
	dst.JobTitle = u.JobTitle
	if u.Status != "" {
		dst.Status = u.Status
	}
	for _, r := range roles {
		name := ads.RoleName(r.RoleID)
		if name == "" {
			name = "role " + strconv.Itoa(r.RoleID) + " (undocumented)"
		}
		dst.Roles = append(dst.Roles, AdsRole{RoleID: r.RoleID, Role: name, CustomerID: r.CustomerID, AccountIDs: r.AccountIDs})
	}
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
