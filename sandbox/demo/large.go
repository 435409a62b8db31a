package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

var (
	givenNames = []string{"Ava", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ines", "Jon", "Kai", "Lior",
		"Mona", "Nils", "Omar", "Pia", "Quentin", "Rosa", "Sven", "Tara", "Uri", "Vera", "Wes", "Xena", "Yara", "Zane"}
	surnames = []string{"Abbott", "Baker", "Costa", "Dinh", "Evans", "Fischer", "Gallo", "Horvat", "Ito", "Jansen",
		"Kowalski", "Lund", "Meyer", "Nguyen", "Okafor", "Park", "Quinn", "Rahman", "Silva", "Tran", "Ueda", "Varga",
		"Weber", "Xu", "Yilmaz", "Zimmer"}
	departments = []string{"Marketing", "Sales", "IT", "Finance", "HR", "Engineering", "Support", "Legal"}
)

// Large generates a synthetic tenant for benchmarks: entraUsers Entra users, of whom the
// first adsUsers also hold a Microsoft Advertising role (matched by e-mail). Every user
// is an ordinary enabled member; the curated planted problems live only in Demo. The tenant
// also has three SKUs and a handful of groups (largeDirectory).
func Large(entraUsers, adsUsers int, seed uint64) *Tenant {
	rng := rand.New(rand.NewPCG(seed, 2))
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	t := &Tenant{ID: TenantID, Name: "Contoso (large sandbox)", Domain: Domain, Created: created}
	t.People = make([]Person, entraUsers)
	for i := range t.People {
		given := givenNames[i%len(givenNames)]
		sur := surnames[(i/len(givenNames))%len(surnames)]
		nick := fmt.Sprintf("%s.%s.%d", lower(given), lower(sur), i)
		upn := nick + "@" + Domain
		t.People[i] = Person{
			ID: GUID(rng), GivenName: given, Surname: sur, DisplayName: given + " " + sur + " " + strconv.Itoa(i),
			UserPrincipalName: upn, Mail: upn, MailNickname: nick, ProxyAddresses: []string{"SMTP:" + upn},
			Department: departments[i%len(departments)], JobTitle: "Staff", OfficeLocation: "SEA-1",
			City: "Seattle", Country: "United States", UsageLocation: "US", PreferredLanguage: "en-US",
			EmployeeID: "L" + strconv.Itoa(100000+i), UserType: "Member", AccountEnabled: true,
			CreatedDateTime: created.Add(time.Duration(i) * time.Minute),
		}
	}
	c := AdsCustomer{ID: AdsCustomerID, Name: "Contoso Marketing",
		Accounts: []AdsAccount{{ID: 180500001, Name: "Contoso Search US", Number: "F1200A01", Status: "Active"}}}
	roles := []int{RoleStandardUser, RoleAdvertiserCampaignManager, RoleViewer}
	if adsUsers > entraUsers {
		adsUsers = entraUsers
	}
	c.Users = make([]AdsUser, adsUsers)
	for i := range c.Users {
		p := t.People[i]
		r := AdsRole{RoleID: roles[i%len(roles)]}
		if r.RoleID == RoleAdvertiserCampaignManager {
			r.AccountIDs = []int64{180500001}
		}
		c.Users[i] = AdsUser{ID: 1_600_001 + int64(i), UserName: p.Mail, Email: p.Mail, FirstName: p.GivenName,
			LastName: p.Surname, JobTitle: p.JobTitle, Lcid: "EnglishUS", Status: "Active", Roles: []AdsRole{r},
			LastChanged: p.CreatedDateTime}
	}
	// The signed-in Ads user of the sandbox must exist in every tenant.
	if adsUsers > 0 {
		c.Users[0].Roles = []AdsRole{{RoleID: RoleSuperAdmin}}
		t.AdsSignedIn = c.Users[0].UserName
	}
	t.Ads = c
	largeDirectory(t, seed)
	largeRoles(t, seed)
	return t
}

func lower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}
