package demo

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Real skuIds and servicePlanIds of the three products (Microsoft's published licensing
// service plan reference), so tools that recognise SKUs by id behave as on a real tenant.
const (
	SKUOffice365E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK
	SKUEMSE3       = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e" // EMS
	SKUPowerBIPro  = "f8a1db68-be16-40ed-86d5-cb42ce701560" // POWER_BI_PRO
)

// skus returns the tenant's three subscriptions with the given prepaid units.
func skus(e3, ems, pbi int) []SKU {
	return []SKU{
		{ID: SKUOffice365E3, PartNumber: "ENTERPRISEPACK", Name: "Office 365 E3", PrepaidUnits: e3, ServicePlans: []ServicePlan{
			{ID: "efb87545-963c-4e0d-99df-69c6916d9eb0", Name: "EXCHANGE_S_ENTERPRISE", Service: "exchange"},
			{ID: "5dbe027f-2339-4123-9542-606e4d348a72", Name: "SHAREPOINTENTERPRISE", Service: "SharePoint"},
			{ID: "57ff2da0-773e-42df-b2af-ffb7a2317929", Name: "TEAMS1", Service: "TeamspaceAPI"},
		}},
		{ID: SKUEMSE3, PartNumber: "EMS", Name: "Enterprise Mobility + Security E3", PrepaidUnits: ems, ServicePlans: []ServicePlan{
			{ID: "41781fb2-bc02-4b7c-bd55-b576c07bb09d", Name: "AAD_PREMIUM", Service: "AADPremiumService"},
			{ID: "c1ec4a95-1f05-45b3-a911-aa3fa01094f5", Name: "INTUNE_A", Service: "SCO"},
		}},
		{ID: SKUPowerBIPro, PartNumber: "POWER_BI_PRO", Name: "Power BI Pro", PrepaidUnits: pbi, ServicePlans: []ServicePlan{
			{ID: "70d33638-9c74-4d01-bfd3-562de28bd4ba", Name: "BI_AZURE_P2", Service: "PowerBI"},
		}},
	}
}

// demoLicences gives every member except the break-glass accounts Office 365 E3 (including
// the disabled and soft-deleted leavers: a licence left on a leaver is a finding), EMS E3 to
// Executive, IT and Engineering, and Power BI Pro to Finance and two analysts. Power BI Pro is
// bought to the last seat, so the next assignment fails for lack of capacity.
func demoLicences(t *Tenant) {
	pbi := 0
	for i := range t.People {
		p := &t.People[i]
		if p.UserType == "Guest" || strings.HasPrefix(p.MailNickname, "breakglass") {
			continue
		}
		p.Licenses = append(p.Licenses, SKUOffice365E3)
		switch p.Department {
		case "Executive", "IT", "Engineering":
			p.Licenses = append(p.Licenses, SKUEMSE3)
		}
		if p.Department == "Finance" || p.JobTitle == "Analyst" || p.JobTitle == "Data Engineer" {
			p.Licenses = append(p.Licenses, SKUPowerBIPro)
			if !p.SoftDeleted {
				pbi++
			}
		}
	}
	t.SKUs = skus(60, 25, pbi)
}

// demoGroups adds one group of each kind, and a three-level nesting for transitiveMemberOf:
// All Staff ⊃ Advertising Access ⊃ Ads Campaign Managers. A separate random stream keeps the
// ids of people and Ads objects unchanged.
func demoGroups(t *Tenant) {
	rng := rand.New(rand.NewPCG(20261123, 3))
	created := t.Created.Add(24 * time.Hour)
	who := func(keep func(Person) bool) []string {
		var ids []string
		for _, p := range t.People {
			if keep(p) {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	byName := func(names ...string) []string {
		return who(func(p Person) bool { return slices.Contains(names, p.GivenName+" "+p.Surname) })
	}
	adsRole := map[string]int{}
	for _, u := range t.Ads.Users {
		adsRole[strings.ToLower(u.UserName)] = u.Roles[0].RoleID
	}
	security := func(name, nick, desc string, members []string) Group {
		return Group{ID: GUID(rng), DisplayName: name, MailNickname: nick, Description: desc, SecurityEnabled: true,
			MemberIDs: members, CreatedDateTime: created}
	}
	marketing := Group{ID: GUID(rng), DisplayName: "Marketing Department", MailNickname: "marketing",
		Mail: "marketing@" + t.Domain, Description: "Microsoft 365 group of the marketing team",
		GroupTypes: []string{"Unified"}, MailEnabled: true, Visibility: "Private", CreatedDateTime: created,
		MemberIDs: who(func(p Person) bool { return p.Department == "Marketing" && p.UserType == "Member" })}
	sales := Group{ID: GUID(rng), DisplayName: "Sales (dynamic)", MailNickname: "sales-dynamic",
		Description: "Everyone in Sales, computed from the department attribute", SecurityEnabled: true,
		GroupTypes: []string{"DynamicMembership"}, MembershipRule: `(user.department -eq "Sales")`, CreatedDateTime: created,
		Note: "dynamic: members cannot be added or removed"}
	helpdesk := security("Helpdesk Administrators", "helpdesk-admins", "Holds the Helpdesk Administrator role",
		byName("Ben Walters", "Cameron White"))
	helpdesk.IsAssignableToRole = true
	helpdesk.Note = "role-assignable: membership changes need RoleManagement.ReadWrite.Directory"
	onprem := security("SG-Engineering (on-premises)", "SG-Engineering", "Synchronised from Active Directory",
		who(func(p Person) bool { return p.Department == "Engineering" && p.OnPremisesSyncEnabled }))
	onprem.OnPremisesSyncEnabled = true
	onprem.Note = "mastered on-premises: changes must be made in Active Directory"
	campaign := security("Ads Campaign Managers", "ads-campaign-managers", "Microsoft Advertising campaign managers",
		who(func(p Person) bool { return adsRole[strings.ToLower(p.Mail)] == RoleAdvertiserCampaignManager }))
	access := security("Advertising Access", "advertising-access", "Everyone with access to Microsoft Advertising",
		append([]string{campaign.ID}, who(func(p Person) bool { return adsRole[strings.ToLower(p.Mail)] == RoleSuperAdmin })...))
	all := security("All Staff", "all-staff", "Nested groups of all staff", []string{access.ID, helpdesk.ID})
	t.Groups = []Group{marketing, sales, helpdesk, onprem, campaign, access, all}
}

// largeDirectory gives a Large tenant its three SKUs (E3 for everyone, EMS for every fourth
// user, Power BI Pro for every tenth) and a handful of groups of every kind.
func largeDirectory(t *Tenant, seed uint64) {
	n := len(t.People)
	for i := range t.People {
		p := &t.People[i]
		p.Licenses = []string{SKUOffice365E3}
		if i%4 == 0 {
			p.Licenses = append(p.Licenses, SKUEMSE3)
		}
		if i%10 == 0 {
			p.Licenses = append(p.Licenses, SKUPowerBIPro)
		}
	}
	t.SKUs = skus(n+100, n/4+10, n/10+5)
	rng := rand.New(rand.NewPCG(seed, 3))
	dept := func(d string, limit int) []string {
		var ids []string
		for _, p := range t.People {
			if p.Department == d && (limit == 0 || len(ids) < limit) {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	g := func(name, nick string, members []string) Group {
		return Group{ID: GUID(rng), DisplayName: name, MailNickname: nick, SecurityEnabled: true, MemberIDs: members,
			CreatedDateTime: t.Created}
	}
	members := g("All Members (dynamic)", "all-members", nil)
	members.GroupTypes, members.MembershipRule = []string{"DynamicMembership"}, `(user.userType -eq "Member")`
	marketing := g("Marketing", "marketing", dept("Marketing", 0))
	marketing.GroupTypes, marketing.MailEnabled, marketing.SecurityEnabled = []string{"Unified"}, true, false
	marketing.Mail, marketing.Visibility = "marketing@"+t.Domain, "Private"
	leads := g("Sales Leads", "sales-leads", dept("Sales", 20))
	sales := g("Sales Staff", "sales-staff", []string{leads.ID})
	admins := g("IT Admins", "it-admins", dept("IT", 3))
	admins.IsAssignableToRole = true
	onprem := g("Engineering (on-premises)", "engineering-onprem", dept("Engineering", 10))
	onprem.OnPremisesSyncEnabled = true
	t.Groups = []Group{members, marketing, leads, sales, admins, onprem}
}
