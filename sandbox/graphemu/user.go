package graphemu

import (
	"strings"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
)

// user is the emulator's copy of one Entra ID user object. Values are immutable once they are
// in the directory: a later PATCH stores a modified copy, so a page of *user can be encoded
// after the directory lock is released.
type user struct {
	id                    string
	displayName           string
	givenName             string
	surname               string
	userPrincipalName     string
	mail                  string
	mailNickname          string
	otherMails            []string
	proxyAddresses        []string
	department            string
	jobTitle              string
	officeLocation        string
	city                  string
	country               string
	usageLocation         string
	mobilePhone           string
	businessPhones        []string
	preferredLanguage     string
	employeeID            string
	userType              string
	accountEnabled        bool
	onPremisesSyncEnabled bool
	onPremisesImmutableID string
	managerID             string
	createdDateTime       time.Time
	deleted               bool
	issuer                string // tenant domain, for identities[].issuer

	employeeLeaveDateTime   time.Time
	lastPasswordChange      time.Time
	signInSessionsValidFrom time.Time // set by revokeSignInSessions (NOTES §1.6)
	deletedDateTime         time.Time // set while in deleted items (NOTES §1.12)
	licenses                []assignedLicense

	// ad is the Active Directory side of a synced user: the values the next sync cycle writes
	// back over cloud edits of AD-mastered attributes (sync.go). nil for cloud-only users.
	ad *user
	// revertDue is when the simulated sync cycle reverts cloud edits; zero when none pending.
	revertDue time.Time
}

// assignedLicense is one entry of assignedLicenses (NOTES §1.7), with the time it was assigned
// for assignedPlans[].assignedDateTime.
type assignedLicense struct {
	skuID         string
	disabledPlans []string
	assigned      time.Time
}

// withLicenses returns a copy of u holding ls; licence slices are never shared between copies.
func (u *user) withLicenses(ls []assignedLicense) *user {
	c := *u
	c.licenses = ls
	return &c
}

func (u *user) hasLicense(skuID string) bool {
	for _, l := range u.licenses {
		if strings.EqualFold(l.skuID, skuID) {
			return true
		}
	}
	return false
}

// userFromPerson deep-copies a demo person, so the emulator never shares state with the tenant
// value it was seeded from.
func userFromPerson(p demo.Person, domain string, now time.Time) *user {
	u := &user{
		id:                    p.ID,
		displayName:           p.DisplayName,
		givenName:             p.GivenName,
		surname:               p.Surname,
		userPrincipalName:     p.UserPrincipalName,
		mail:                  p.Mail,
		mailNickname:          p.MailNickname,
		otherMails:            clone(p.OtherMails),
		proxyAddresses:        clone(p.ProxyAddresses),
		department:            p.Department,
		jobTitle:              p.JobTitle,
		officeLocation:        p.OfficeLocation,
		city:                  p.City,
		country:               p.Country,
		usageLocation:         p.UsageLocation,
		mobilePhone:           p.MobilePhone,
		businessPhones:        clone(p.BusinessPhones),
		preferredLanguage:     p.PreferredLanguage,
		employeeID:            p.EmployeeID,
		userType:              p.UserType,
		accountEnabled:        p.AccountEnabled,
		onPremisesSyncEnabled: p.OnPremisesSyncEnabled,
		onPremisesImmutableID: p.OnPremisesImmutableID,
		managerID:             p.ManagerID,
		createdDateTime:       p.CreatedDateTime.UTC(),
		deleted:               p.SoftDeleted,
		issuer:                domain,
	}
	if p.SoftDeleted {
		u.deletedDateTime = now.Add(-p.SoftDeletedAgo).UTC().Truncate(time.Second)
	}
	for _, sku := range p.Licenses {
		u.licenses = append(u.licenses, assignedLicense{skuID: sku, assigned: u.createdDateTime})
	}
	if u.onPremisesSyncEnabled {
		ad := *u
		u.ad = &ad
	}
	return u
}

func clone(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return append([]string(nil), ss...)
}

func (u *user) isGuest() bool { return strings.EqualFold(u.userType, "Guest") }
