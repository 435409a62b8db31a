// Package demo generates the sandbox's tenants: the curated contoso.example demo tenant
// (people who exist in both Entra ID and Microsoft Advertising, plus planted problems for
// an access review to find) and large synthetic tenants for benchmarks.
//
// The package holds plain data only. Each emulator seeds its own in-memory state from a
// Tenant, so one generator feeds Graph, the identity platform and Customer Management.
// Everything is deterministic for a given seed.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Fixed identifiers of the demo tenant, printed by `msidm sandbox --print-env`.
const (
	TenantID       = "7c3b1a52-4e0f-4d8e-9a6b-2f1d5c8e9a01"
	Domain         = "contoso.example"
	AdsCustomerID  = int64(251000101)
	AdsDevToken    = "BBD37VB98" // the documented universal sandbox developer token
	AdsSignedInUPN = "megan.bowen@contoso.example"
)

// Tenant is everything an emulator needs to seed itself.
type Tenant struct {
	ID      string
	Name    string
	Domain  string
	Created time.Time
	People  []Person
	Ads     AdsCustomer
	// AdsSignedIn is the UserName of the Microsoft Advertising user whose delegated
	// refresh token the sandbox hands out: GetUser without a UserId returns this user.
	AdsSignedIn string
	// SKUs are the tenant's licence subscriptions (GET /subscribedSkus); people hold them
	// through Person.Licenses.
	SKUs []SKU
	// Groups are the tenant's groups of every kind the lifecycle tools meet.
	Groups []Group
	// DirectoryRoles are the tenant's activated directory roles with their direct members
	// (GET /directoryRoles, /directoryRoles/{id}/members); see roles.go.
	DirectoryRoles []DirectoryRole
}

// SKU is one subscribed licence product. Consumed units are not stored: they follow from the
// people who hold the SKU.
type SKU struct {
	ID           string // skuId
	PartNumber   string // skuPartNumber, e.g. ENTERPRISEPACK
	Name         string // product name for people, e.g. "Office 365 E3"
	PrepaidUnits int    // prepaidUnits.enabled
	ServicePlans []ServicePlan
}

// ServicePlan is one service inside a SKU.
type ServicePlan struct {
	ID      string // servicePlanId
	Name    string // servicePlanName
	Service string // the service the plan provisions (assignedPlans[].service)
}

// Group is one Entra ID group. The kind follows Graph's own properties: GroupTypes
// "Unified" (Microsoft 365), "DynamicMembership" (members computed from MembershipRule),
// IsAssignableToRole, OnPremisesSyncEnabled (mastered in Active Directory).
type Group struct {
	ID                    string
	DisplayName           string
	Description           string
	MailNickname          string
	Mail                  string // "" unless mail-enabled
	GroupTypes            []string
	MailEnabled           bool
	SecurityEnabled       bool
	IsAssignableToRole    bool
	OnPremisesSyncEnabled bool
	MembershipRule        string // dynamic groups only, e.g. (user.department -eq "Sales")
	Visibility            string // Microsoft 365 groups: Private or Public
	MemberIDs             []string
	CreatedDateTime       time.Time
	Note                  string
}

// Person is one Entra ID user object (members, guests, synced and soft-deleted users).
type Person struct {
	ID                    string
	GivenName             string
	Surname               string
	DisplayName           string
	UserPrincipalName     string
	Mail                  string
	MailNickname          string
	OtherMails            []string
	ProxyAddresses        []string
	Department            string
	JobTitle              string
	OfficeLocation        string
	City                  string
	Country               string
	UsageLocation         string
	MobilePhone           string
	BusinessPhones        []string
	PreferredLanguage     string
	EmployeeID            string
	UserType              string // Member or Guest
	AccountEnabled        bool
	OnPremisesSyncEnabled bool
	OnPremisesImmutableID string
	ManagerID             string
	CreatedDateTime       time.Time
	SoftDeleted           bool          // in /directory/deletedItems
	SoftDeletedAgo        time.Duration // age of the deletion when the emulator starts (retention runs on its clock)
	Licenses              []string      // skuIds of directly assigned licences
	Note                  string        // why this person exists in the demo (planted problem, break-glass, ...)
}

// AdsCustomer is one Microsoft Advertising customer with its accounts, users and invitations.
type AdsCustomer struct {
	ID          int64
	Name        string
	Accounts    []AdsAccount
	Users       []AdsUser
	Invitations []AdsInvitation
}

// AdsAccount is an advertiser account under the customer.
type AdsAccount struct {
	ID     int64
	Name   string
	Number string
	Status string // AccountLifeCycleStatus
}

// AdsUser is one Customer Management user.
type AdsUser struct {
	ID          int64
	UserName    string // sign-in name; immutable
	Email       string // ContactInfo/Email
	FirstName   string
	LastName    string
	JobTitle    string
	Phone       string
	Lcid        string
	Status      string // UserLifeCycleStatus: Active, Inactive, Pending, Deleted
	Roles       []AdsRole
	LastChanged time.Time
	Note        string
}

// AdsRole is one CustomerRole: a role on the customer, or restricted to AccountIDs.
type AdsRole struct {
	RoleID     int
	AccountIDs []int64 // nil: customer-level
}

// AdsInvitation is a pending (or expired) user invitation.
type AdsInvitation struct {
	ID         int64
	FirstName  string
	LastName   string
	Email      string
	RoleID     int
	AccountIDs []int64
	Lcid       string
	// ExpiresIn is the time left when the emulator starts: like SoftDeletedAgo, an age rather
	// than a date, so the demo stays current on any day it runs.
	ExpiresIn time.Duration
	Note      string
}

// Role ids documented for Customer Management v13.
const (
	RoleAdvertiserCampaignManager = 16
	RoleSuperAdmin                = 41
	RoleViewer                    = 100
	RoleStandardUser              = 203
)

type staff struct {
	given, sur, dept, title string
	flags                   string // comma separated: synced, disabled, deleted=<days ago>, guest=<domain>, breakglass
	ads                     string // "" none, else "<role>:<status>[:accounts]" e.g. "41:Active", "16:Active:0,1"
}

// The curated demo people. The first person of each department manages the others;
// department heads report to the CEO (first row).
var curated = []staff{
	{"Alex", "Wilber", "Executive", "Chief Executive Officer", "", ""},
	{"Isaiah", "Langer", "Executive", "Chief Financial Officer", "", ""},
	{"Megan", "Bowen", "Marketing", "Marketing Director", "", "41:Active"},
	{"Adele", "Vance", "Marketing", "Search Marketing Manager", "", "203:Active"},
	{"Diego", "Siciliani", "Marketing", "Campaign Specialist", "", "16:Active:0,1"},
	{"Lidia", "Holloway", "Marketing", "Campaign Specialist", "synced", "16:Active:0"},
	{"Pradeep", "Gupta", "Marketing", "Analyst", "", "100:Active"},
	{"Johanna", "Lorenz", "Marketing", "Content Lead", "synced", "16:Active:2"},
	{"Nestor", "Wilke", "Marketing", "Designer", "", ""},
	{"Patti", "Fernandez", "Marketing", "Brand Manager", "", "203:Active"},
	{"Lynne", "Robbins", "Sales", "Sales Director", "", "100:Active"},
	{"Grady", "Archie", "Sales", "Account Executive", "synced", "100:Active"},
	{"Henrietta", "Mueller", "Sales", "Account Executive", "", "16:Active:1"},
	{"Irvin", "Sayers", "Sales", "Account Executive", "synced", ""},
	{"Joni", "Sherman", "Sales", "Sales Operations", "", "100:Active"},
	{"Lee", "Gu", "Sales", "Inside Sales", "", ""},
	{"Miriam", "Graham", "Sales", "Inside Sales", "synced", "16:Inactive:0"},
	{"Christie", "Cline", "Sales", "Partner Manager", "", "203:Active"},
	{"Allan", "Deyoung", "IT", "IT Director", "", ""},
	{"Enrico", "Cattaneo", "IT", "Systems Engineer", "synced", ""},
	{"Debra", "Berger", "IT", "Identity Engineer", "", ""},
	{"Ben", "Walters", "IT", "Service Desk", "synced", ""},
	{"Cameron", "White", "IT", "Service Desk", "", ""},
	{"Break", "Glass 1", "IT", "Emergency Access Account", "breakglass", ""},
	{"Break", "Glass 2", "IT", "Emergency Access Account", "breakglass", ""},
	{"Nora", "Keller", "Finance", "Controller", "", "100:Active"},
	{"Raul", "Razo", "Finance", "Accountant", "synced", ""},
	{"Emily", "Braun", "Finance", "Accountant", "", "100:Active"},
	{"Sanjay", "Shah", "Finance", "Payroll Specialist", "", ""},
	{"Carlos", "Slattery", "Finance", "Analyst", "", ""},
	{"Zrinka", "Makovac", "HR", "HR Director", "", ""},
	{"Ashley", "Schroeder", "HR", "Recruiter", "", ""},
	{"Vincent", "Dupont", "HR", "HR Generalist", "synced", ""},
	{"Brian", "Johnson", "HR", "Recruiter", "", ""},
	{"Tomas", "Novak", "Engineering", "VP Engineering", "", ""},
	{"Aiko", "Tanaka", "Engineering", "Software Engineer", "", ""},
	{"Kofi", "Mensah", "Engineering", "Software Engineer", "synced", ""},
	{"Lena", "Petrova", "Engineering", "Software Engineer", "", ""},
	{"Marco", "Rossi", "Engineering", "Data Engineer", "", "100:Active"},
	{"Priya", "Nair", "Engineering", "QA Engineer", "", ""},
	{"Samir", "Haddad", "Engineering", "Site Reliability Engineer", "", ""},
	{"Yuki", "Sato", "Engineering", "Software Engineer", "", ""},
	{"Olivia", "Brown", "Engineering", "Product Manager", "", ""},
	{"Felix", "Wagner", "Engineering", "Software Engineer", "synced", ""},
	{"Hannah", "Kim", "Support", "Support Manager", "", ""},
	{"Jamal", "Carter", "Support", "Support Engineer", "", ""},
	{"Ingrid", "Larsen", "Support", "Support Engineer", "", ""},
	{"Mateo", "Garcia", "Support", "Support Engineer", "", ""},
	{"Sofia", "Lopez", "Support", "Support Engineer", "", ""},
	{"Ravi", "Kumar", "Legal", "General Counsel", "", ""},
	{"Elena", "Moreau", "Legal", "Paralegal", "", ""},
	// Planted problems (see Note): the access review must find exactly these.
	{"Oscar", "Lindqvist", "Marketing", "Campaign Specialist", "disabled", "16:Active:0,1"},
	{"Greta", "Holm", "Marketing", "SEO Specialist", "deleted=3", "203:Active"},
	{"Tariq", "Aziz", "Sales", "Account Executive", "disabled", ""},
	{"Wendy", "Cho", "Marketing", "Former Analyst", "deleted=27", ""},
	// Guests from partner organisations.
	{"Paula", "Agency", "Marketing", "Agency Partner", "guest=fabrikam.example", "16:Active:0"},
	{"Rick", "Vendor", "IT", "Contractor", "guest=northwind.example", ""},
	{"Sam", "Auditor", "Finance", "External Auditor", "guest=woodgrove.example", ""},
	{"Tina", "Consultant", "Engineering", "Consultant", "guest=fabrikam.example", ""},
	{"Uma", "Reviewer", "Legal", "Outside Counsel", "guest=litware.example", ""},
}

// Demo returns the curated contoso.example tenant. The result is freshly allocated.
func Demo() *Tenant {
	rng := rand.New(rand.NewPCG(20261123, 1))
	created := time.Date(2021, 3, 1, 9, 0, 0, 0, time.UTC)
	t := &Tenant{ID: TenantID, Name: "Contoso (sandbox)", Domain: Domain, Created: created}

	heads := map[string]string{}
	for i, s := range curated {
		p := newPerson(rng, i, s.given, s.sur, s.dept, s.title, created)
		for _, f := range strings.Split(s.flags, ",") {
			switch {
			case f == "synced":
				p.OnPremisesSyncEnabled = true
				p.OnPremisesImmutableID = fmt.Sprintf("%08x", rng.Uint32()) + "AD=="
			case f == "disabled":
				p.AccountEnabled = false
				p.Note = "left the company: sign-in blocked, access elsewhere not removed"
			case strings.HasPrefix(f, "deleted="):
				var days int
				fmt.Sscanf(strings.TrimPrefix(f, "deleted="), "%d", &days)
				p.SoftDeleted = true
				p.SoftDeletedAgo = time.Duration(days) * 24 * time.Hour
				p.AccountEnabled = false
				p.Note = "left the company: soft-deleted in Entra"
			case f == "breakglass":
				p.GivenName, p.Surname = "Break", "Glass"
				p.DisplayName = "Break Glass " + strings.TrimPrefix(s.sur, "Glass ")
				p.MailNickname = "breakglass" + strings.TrimPrefix(s.sur, "Glass ")
				p.UserPrincipalName = p.MailNickname + "@" + Domain
				p.Mail = ""
				p.ProxyAddresses = nil
				p.Note = "emergency access account (break-glass): never offboard"
			case strings.HasPrefix(f, "guest="):
				home := strings.TrimPrefix(f, "guest=")
				ext := strings.ToLower(p.GivenName + "." + p.Surname + "@" + home)
				p.UserType = "Guest"
				p.Mail = ext
				p.MailNickname = strings.ReplaceAll(ext, "@", "_")
				p.UserPrincipalName = p.MailNickname + "#EXT#@" + Domain
				p.OtherMails = []string{ext}
				p.ProxyAddresses = []string{"SMTP:" + ext}
				p.Note = "B2B guest"
			}
		}
		if head, ok := heads[s.dept]; ok {
			p.ManagerID = head
		} else {
			heads[s.dept] = p.ID
			if i > 0 {
				p.ManagerID = t.People[0].ID
			}
		}
		t.People = append(t.People, p)
	}

	t.Ads = demoAds(rng, t)
	t.AdsSignedIn = AdsSignedInUPN
	demoLicences(t)
	demoGroups(t)
	demoRoles(t)
	return t
}

func newPerson(rng *rand.Rand, i int, given, sur, dept, title string, created time.Time) Person {
	nick := strings.ToLower(given + "." + strings.ReplaceAll(sur, " ", ""))
	upn := nick + "@" + Domain
	cities := []struct{ city, country, usage, office string }{
		{"Seattle", "United States", "US", "SEA-1"}, {"Dublin", "Ireland", "IE", "DUB-2"},
		{"Munich", "Germany", "DE", "MUC-1"}, {"Toronto", "Canada", "CA", "YYZ-3"},
	}
	c := cities[i%len(cities)]
	return Person{
		ID:                GUID(rng),
		GivenName:         given,
		Surname:           sur,
		DisplayName:       given + " " + sur,
		UserPrincipalName: upn,
		Mail:              upn,
		MailNickname:      nick,
		ProxyAddresses:    []string{"SMTP:" + upn, "smtp:" + nick + "@contoso.onmicrosoft.example"},
		Department:        dept,
		JobTitle:          title,
		OfficeLocation:    c.office,
		City:              c.city,
		Country:           c.country,
		UsageLocation:     c.usage,
		MobilePhone:       fmt.Sprintf("+1 425 555 %04d", 100+i),
		BusinessPhones:    []string{fmt.Sprintf("+1 425 555 %04d", 5000+i)},
		PreferredLanguage: "en-US",
		EmployeeID:        fmt.Sprintf("E%05d", 1000+i),
		UserType:          "Member",
		AccountEnabled:    true,
		CreatedDateTime:   created.Add(time.Duration(i) * 36 * time.Hour),
	}
}

func demoAds(rng *rand.Rand, t *Tenant) AdsCustomer {
	c := AdsCustomer{ID: AdsCustomerID, Name: "Contoso Marketing"}
	c.Accounts = []AdsAccount{
		{ID: 180500001, Name: "Contoso Search US", Number: "F1200A01", Status: "Active"},
		{ID: 180500002, Name: "Contoso Search EU", Number: "F1200A02", Status: "Active"},
		{ID: 180500003, Name: "Contoso Shopping", Number: "F1200A03", Status: "Active"},
		{ID: 180500004, Name: "Contoso Brand (paused)", Number: "F1200A04", Status: "Pause"},
	}
	nextID := int64(1_600_001)
	for i, s := range curated {
		if s.ads == "" {
			continue
		}
		p := t.People[i]
		role, status, accounts := parseAds(s.ads, c.Accounts)
		u := AdsUser{
			ID: nextID, UserName: p.Mail, Email: p.Mail, FirstName: p.GivenName, LastName: p.Surname,
			JobTitle: p.JobTitle, Phone: p.BusinessPhones[0], Lcid: "EnglishUS", Status: status,
			Roles:       []AdsRole{{RoleID: role, AccountIDs: accounts}},
			LastChanged: t.Created.Add(time.Duration(rng.IntN(20000)) * time.Hour),
		}
		switch {
		case p.UserType == "Guest":
			u.Note = "guest holds a Microsoft Advertising role"
		case !p.AccountEnabled && p.SoftDeleted:
			u.Note = "orphaned: Entra identity soft-deleted"
		case !p.AccountEnabled:
			u.Note = "orphaned: Entra identity disabled"
		}
		c.Users = append(c.Users, u)
		nextID++
	}
	extra := []AdsUser{
		{UserName: "former.contractor@contoso.example", FirstName: "Victor", LastName: "Reyes", JobTitle: "Contractor",
			Status: "Active", Roles: []AdsRole{{RoleID: RoleAdvertiserCampaignManager, AccountIDs: []int64{180500003}}},
			Note: "orphaned: no Entra identity"},
		{UserName: "agency.owner@contoso.example", FirstName: "Quinn", LastName: "Harper", JobTitle: "Agency Owner",
			Status: "Active", Roles: []AdsRole{{RoleID: RoleSuperAdmin}}, Note: "Super Admin with no Entra identity"},
		{UserName: "old.intern@contoso.example", FirstName: "Ivy", LastName: "Chen", JobTitle: "Intern",
			Status: "Inactive", Roles: []AdsRole{{RoleID: RoleViewer}}, Note: "deactivated: no action needed"},
	}
	for _, u := range extra {
		u.ID, u.Email, u.Lcid = nextID, u.UserName, "EnglishUS"
		u.Phone = fmt.Sprintf("+1 206 555 %04d", nextID%10000)
		u.LastChanged = t.Created.Add(time.Duration(rng.IntN(20000)) * time.Hour)
		c.Users = append(c.Users, u)
		nextID++
	}
	const day = 24 * time.Hour
	c.Invitations = []AdsInvitation{
		{ID: 7001, FirstName: "Nestor", LastName: "Wilke", Email: "nestor.wilke@contoso.example",
			RoleID: RoleViewer, Lcid: "EnglishUS", ExpiresIn: 17 * day},
		{ID: 7002, FirstName: "Aiko", LastName: "Tanaka", Email: "aiko.tanaka@contoso.example",
			RoleID: RoleAdvertiserCampaignManager, AccountIDs: []int64{180500001}, Lcid: "EnglishUS",
			ExpiresIn: 12 * day},
		{ID: 7003, FirstName: "Jordan", LastName: "Blake", Email: "jordan.blake@gmail.example",
			RoleID: RoleStandardUser, Lcid: "EnglishUK", ExpiresIn: 7 * day,
			Note: "invitation to a domain outside the allow-list"},
	}
	return c
}

func parseAds(spec string, accounts []AdsAccount) (role int, status string, ids []int64) {
	parts := strings.Split(spec, ":")
	fmt.Sscanf(parts[0], "%d", &role)
	status = parts[1]
	if len(parts) > 2 {
		for _, a := range strings.Split(parts[2], ",") {
			var n int
			fmt.Sscanf(a, "%d", &n)
			ids = append(ids, accounts[n].ID)
		}
	}
	return role, status, ids
}

// GUID draws a version-4 GUID from rng, so generated tenants are reproducible.
func GUID(rng *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
