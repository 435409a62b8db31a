package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/msidm/msidm/clients/ads"
)

// Resources and prompts: read-only context an agent or a human can pull in.

// AdsRoleInfo documents one Microsoft Advertising role id.
type AdsRoleInfo struct {
	RoleID int    `json:"role_id"`
	Name   string `json:"name"`
	Scope  string `json:"scope"`
	Notes  string `json:"notes"`
}

// adsRoles is ../shared/reference/ads/NOTES.md §8 in data form.
var adsRoles = []AdsRoleInfo{
	{ads.RoleSuperAdmin, "Super Admin", "customer", "Full control of the customer, its users and billing; the only role that can delete users. Granting it needs allow_super_admin in the policy."},
	{ads.RoleStandardUser, "Standard User", "customer or accounts", "Manages campaigns and can invite users, but cannot change or remove a Super Admin."},
	{ads.RoleAdvertiserCampaignManager, "Advertiser Campaign Manager", "accounts", "Manages campaigns of the listed accounts only."},
	{ads.RoleViewer, "Viewer", "customer or accounts", "Read-only (called ClientViewer in older API versions)."},
	{ads.RoleAggregator, "Aggregator", "customer", "Provisioned by Microsoft on request; an aggregator also holds Super Admin."},
}

func (d *Deps) resources(s *server.MCPServer) {
	if d.Audit != nil {
		s.AddResource(mcp.NewResource("msidm://audit/recent", "Recent audit records",
			mcp.WithResourceDescription("The newest records of the tamper-evident audit log: who changed what, confirmed how, with which outcome."),
			mcp.WithMIMEType("application/json")),
			func(ctx context.Context, r mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				raw, err := d.Audit.RecentJSON(ctx, 50)
				if err != nil {
					return nil, err
				}
				return []mcp.ResourceContents{mcp.TextResourceContents{URI: r.Params.URI, MIMEType: "application/json", Text: string(raw)}}, nil
			})
	}
	s.AddResource(mcp.NewResource("msidm://ads/roles", "Microsoft Advertising roles",
		mcp.WithResourceDescription("Role ids and names of Microsoft Advertising, with their scope; other ids may appear and are reported as undocumented."),
		mcp.WithMIMEType("application/json")),
		func(ctx context.Context, r mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			raw, _ := json.MarshalIndent(adsRoles, "", "  ")
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: r.Params.URI, MIMEType: "application/json", Text: string(raw)}}, nil
		})
	s.AddResource(mcp.NewResource("msidm://tenant/summary", "Tenant summary",
		mcp.WithResourceDescription("Live counts: Entra users (enabled, disabled, guests), licences with free units, and Microsoft Advertising users by status."),
		mcp.WithMIMEType("application/json")),
		func(ctx context.Context, r mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			sum := d.summary(ctx)
			raw, _ := json.MarshalIndent(sum, "", "  ")
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: r.Params.URI, MIMEType: "application/json", Text: string(raw)}}, nil
		})
}

// TenantSummary is the msidm://tenant/summary document. A part that cannot be read carries
// its error instead of failing the whole summary.
type TenantSummary struct {
	Entra *EntraSummary `json:"entra,omitempty"`
	Ads   *AdsSummary   `json:"ads,omitempty"`
	Error []string      `json:"errors,omitempty"`
}

// EntraSummary counts Entra ID users and licences.
type EntraSummary struct {
	Users    int       `json:"users"`
	Disabled int       `json:"disabled"`
	Guests   int       `json:"guests"`
	SKUs     []SKUView `json:"licences"`
}

// AdsSummary counts Microsoft Advertising users of the default customer by status.
type AdsSummary struct {
	CustomerID int64          `json:"customer_id"`
	ByStatus   map[string]int `json:"users_by_status"`
}

func (d *Deps) summary(ctx context.Context) TenantSummary {
	var out TenantSummary
	var mu sync.Mutex
	fail := func(what string, err error) {
		mu.Lock()
		out.Error = append(out.Error, fmt.Sprintf("%s: %s", what, explain(err)))
		mu.Unlock()
	}
	var wg sync.WaitGroup
	if d.Graph != nil {
		e := &EntraSummary{SKUs: []SKUView{}}
		out.Entra = e
		for _, q := range []struct {
			filter string
			dst    *int
		}{{"", &e.Users}, {"accountEnabled eq false", &e.Disabled}, {"userType eq 'Guest'", &e.Guests}} {
			wg.Go(func() {
				n, err := d.Graph.CountUsers(ctx, q.filter)
				if err != nil {
					fail("counting Entra users", err)
				}
				*q.dst = n
			})
		}
		wg.Go(func() {
			skus, err := d.Graph.SubscribedSKUs(ctx)
			if err != nil {
				fail("reading licences", err)
				return
			}
			for _, s := range skus {
				e.SKUs = append(e.SKUs, SKUView{PartNumber: s.SKUPartNumber, SKUID: s.SKUID, Consumed: s.ConsumedUnits,
					Enabled: s.PrepaidUnits.Enabled, Available: max(0, s.PrepaidUnits.Enabled-s.ConsumedUnits)})
			}
		})
	}
	if d.Ads != nil && d.AdsCustomerID != 0 {
		a := &AdsSummary{CustomerID: d.AdsCustomerID, ByStatus: map[string]int{}}
		out.Ads = a
		wg.Go(func() {
			users, err := usersWithStatus(ctx, d.Ads, d.AdsCustomerID, "all")
			if err != nil {
				fail("listing Microsoft Advertising users", err)
				return
			}
			for _, u := range users {
				a.ByStatus[u.Status]++
			}
		})
	}
	wg.Wait()
	return out
}

func prompts(s *server.MCPServer) {
	s.AddPrompt(mcp.NewPrompt("onboard_user",
		mcp.WithPromptDescription("Runbook: create a person's Entra ID account, licence, groups and manager, and invite them to Microsoft Advertising."),
		mcp.WithArgument("name", mcp.RequiredArgument(), mcp.ArgumentDescription("Full name")),
		mcp.WithArgument("upn", mcp.RequiredArgument(), mcp.ArgumentDescription("New userPrincipalName")),
		mcp.WithArgument("ads_role", mcp.ArgumentDescription("Microsoft Advertising role, if any (e.g. Viewer)"))),
		func(ctx context.Context, r mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a := r.Params.Arguments
			text := fmt.Sprintf(`Onboard %s as %s. Work step by step and show me each result:
1. find_user_everywhere %s — stop if the person already exists.
2. create_entra_user (usage_location set) with dry_run=true, show me the plan, then run it; give me the temporary password once.
3. list_skus, then assign_license with the licence I confirm.
4. list_groups, then add_to_group for the groups I confirm; set_manager if I name one.
5. If an Ads role is wanted (%q): invite_user with that role; list_ads_invitations to confirm it is pending.
Never guess a licence, group or role I did not confirm.`, a["name"], a["upn"], a["upn"], a["ads_role"])
			return mcp.NewGetPromptResult("Onboarding runbook", []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
		})
	s.AddPrompt(mcp.NewPrompt("offboard_user",
		mcp.WithPromptDescription("Runbook: remove a departing person's access everywhere and verify it."),
		mcp.WithArgument("user", mcp.RequiredArgument(), mcp.ArgumentDescription("UPN, e-mail or object id")),
		mcp.WithArgument("ticket", mcp.ArgumentDescription("Ticket or reason"))),
		func(ctx context.Context, r mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a := r.Params.Arguments
			text := fmt.Sprintf(`Offboard %s (ticket %q). Work step by step:
1. find_user_everywhere %s: list the Entra account and every Microsoft Advertising user and pending invitation for their addresses.
2. Show me the plan with dry_run=true first: block sign-in, revoke sessions, remove groups and licences, deactivate Ads users.
3. After I confirm, run the steps (offboard_everywhere does all of them in one durable call where available; otherwise disable_entra_user, revoke_entra_sessions, remove_from_group, remove_license, deactivate_ads_user).
4. Verify: get_entra_user shows sign-in blocked, no licences, no groups; get_ads_user shows each Ads user Inactive. Report pending invitations: the API cannot cancel them.`, a["user"], a["ticket"], a["user"])
			return mcp.NewGetPromptResult("Offboarding runbook", []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
		})
}
