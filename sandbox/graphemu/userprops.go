package graphemu

import (
	"strings"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
)

// property is one Graph property of the user resource and how to write its value.
type property struct {
	name string
	// singleOnly marks properties Graph returns only on GET /users/{id}: selecting them on
	// /users answers 501 NotImplemented (NOTES §1.1).
	singleOnly bool
	value      func(b []byte, u *user) []byte
}

// userSchema is the user resource's property table, built once per Server.
type userSchema struct {
	byName   map[string]*property // key: lower-cased name; $select is case-insensitive
	defaults []*property          // the set returned without $select
	full     []*property          // every collection property, for assignLicense's answer
}

// newUserSchema builds the property table; plans maps lower-cased skuIds to their service plans
// for assignedPlans.
func newUserSchema(plans map[string][]demo.ServicePlan) *userSchema {
	str := func(get func(*user) string) func([]byte, *user) []byte {
		return func(b []byte, u *user) []byte { return appendNullableString(b, get(u)) }
	}
	strs := func(get func(*user) []string) func([]byte, *user) []byte {
		return func(b []byte, u *user) []byte { return appendStrings(b, get(u)) }
	}
	lit := func(v string) func([]byte, *user) []byte {
		return func(b []byte, _ *user) []byte { return append(b, v...) }
	}
	props := []property{
		{name: "id", value: str(func(u *user) string { return u.id })},
		{name: "displayName", value: str(func(u *user) string { return u.displayName })},
		{name: "givenName", value: str(func(u *user) string { return u.givenName })},
		{name: "surname", value: str(func(u *user) string { return u.surname })},
		{name: "userPrincipalName", value: str(func(u *user) string { return u.userPrincipalName })},
		{name: "mail", value: str(func(u *user) string { return u.mail })},
		{name: "mailNickname", value: str(func(u *user) string { return u.mailNickname })},
		{name: "jobTitle", value: str(func(u *user) string { return u.jobTitle })},
		{name: "mobilePhone", value: str(func(u *user) string { return u.mobilePhone })},
		{name: "officeLocation", value: str(func(u *user) string { return u.officeLocation })},
		{name: "preferredLanguage", value: str(func(u *user) string { return u.preferredLanguage })},
		{name: "department", value: str(func(u *user) string { return u.department })},
		{name: "userType", value: str(func(u *user) string { return u.userType })},
		{name: "usageLocation", value: str(func(u *user) string { return u.usageLocation })},
		{name: "city", value: str(func(u *user) string { return u.city })},
		{name: "country", value: str(func(u *user) string { return u.country })},
		{name: "employeeId", value: str(func(u *user) string { return u.employeeID })},
		{name: "onPremisesImmutableId", value: str(func(u *user) string { return u.onPremisesImmutableID })},
		{name: "businessPhones", value: strs(func(u *user) []string { return u.businessPhones })},
		{name: "otherMails", value: strs(func(u *user) []string { return u.otherMails })},
		{name: "proxyAddresses", value: strs(func(u *user) []string { return u.proxyAddresses })},
		{name: "accountEnabled", value: func(b []byte, u *user) []byte { return appendBool(b, u.accountEnabled) }},
		// onPremisesSyncEnabled is null for cloud-only users, true for synced ones.
		{name: "onPremisesSyncEnabled", value: func(b []byte, u *user) []byte {
			if !u.onPremisesSyncEnabled {
				return append(b, "null"...)
			}
			return append(b, "true"...)
		}},
		{name: "onPremisesSamAccountName", value: str(func(u *user) string { return synced(u, u.mailNickname) })},
		{name: "onPremisesUserPrincipalName", value: str(func(u *user) string { return synced(u, u.userPrincipalName) })},
		{name: "createdDateTime", value: func(b []byte, u *user) []byte { return appendTime(b, u.createdDateTime) }},
		{name: "deletedDateTime", value: func(b []byte, u *user) []byte { return appendTime(b, u.deletedDateTime) }},
		{name: "employeeLeaveDateTime", value: func(b []byte, u *user) []byte { return appendTime(b, u.employeeLeaveDateTime) }},
		{name: "lastPasswordChangeDateTime", value: func(b []byte, u *user) []byte { return appendTime(b, u.lastPasswordChange) }},
		{name: "signInSessionsValidFromDateTime", value: func(b []byte, u *user) []byte {
			return appendTime(b, u.signInSessionsValidFrom)
		}},
		{name: "assignedLicenses", value: appendAssignedLicenses},
		{name: "assignedPlans", value: func(b []byte, u *user) []byte { return appendAssignedPlans(b, u, plans) }},
		{name: "creationType", value: str(func(u *user) string { return guestOnly(u, "Invitation") })},
		{name: "externalUserState", value: str(func(u *user) string { return guestOnly(u, "Accepted") })},
		{name: "identities", value: func(b []byte, u *user) []byte {
			b = append(b, `[{"signInType":"userPrincipalName","issuer":`...)
			b = appendString(b, u.issuer)
			b = append(b, `,"issuerAssignedId":`...)
			b = appendString(b, u.userPrincipalName)
			return append(b, "}]"...)
		}},
		// Properties the demo tenant does not model: present, so $select of them succeeds as on
		// a real tenant where they are unset.
		{name: "ageGroup", value: lit("null")},
		{name: "companyName", value: lit("null")},
		{name: "consentProvidedForMinor", value: lit("null")},
		{name: "employeeHireDate", value: lit("null")},
		{name: "employeeOrgData", value: lit("null")},
		{name: "employeeType", value: lit("null")},
		{name: "externalUserStateChangeDateTime", value: lit("null")},
		{name: "faxNumber", value: lit("null")},
		{name: "legalAgeGroupClassification", value: lit("null")},
		{name: "onPremisesDistinguishedName", value: lit("null")},
		{name: "onPremisesDomainName", value: lit("null")},
		{name: "onPremisesLastSyncDateTime", value: lit("null")},
		{name: "onPremisesSecurityIdentifier", value: lit("null")},
		{name: "passwordPolicies", value: lit("null")},
		{name: "passwordProfile", value: lit("null")},
		{name: "postalCode", value: lit("null")},
		{name: "preferredDataLocation", value: lit("null")},
		{name: "showInAddressList", value: lit("null")},
		{name: "state", value: lit("null")},
		{name: "streetAddress", value: lit("null")},
		{name: "imAddresses", value: lit("[]")},
		{name: "provisionedPlans", value: lit("[]")},
		{name: "onPremisesProvisioningErrors", value: lit("[]")},
		// Single-GET-only properties (NOTES §1.1); values of an unset profile.
		{name: "aboutMe", singleOnly: true, value: lit("null")},
		{name: "birthday", singleOnly: true, value: lit(`"0001-01-01T00:00:00Z"`)},
		{name: "hireDate", singleOnly: true, value: lit(`"0001-01-01T00:00:00Z"`)},
		{name: "interests", singleOnly: true, value: lit("[]")},
		{name: "mySite", singleOnly: true, value: lit("null")},
		{name: "pastProjects", singleOnly: true, value: lit("[]")},
		{name: "preferredName", singleOnly: true, value: lit("null")},
		{name: "responsibilities", singleOnly: true, value: lit("[]")},
		{name: "schools", singleOnly: true, value: lit("[]")},
		{name: "skills", singleOnly: true, value: lit("[]")},
		{name: "mailboxSettings", singleOnly: true, value: lit("null")},
	}
	s := &userSchema{byName: make(map[string]*property, len(props))}
	for i := range props {
		s.byName[strings.ToLower(props[i].name)] = &props[i]
		if !props[i].singleOnly {
			s.full = append(s.full, &props[i])
		}
	}
	// The set Graph returns without $select, in the order of samples/users-list.json and
	// samples/user-get.json (NOTES §1.1, §1.2).
	for _, n := range []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
		"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"} {
		s.defaults = append(s.defaults, s.byName[strings.ToLower(n)])
	}
	return s
}

func synced(u *user, v string) string {
	if u.onPremisesSyncEnabled {
		return v
	}
	return ""
}

func guestOnly(u *user, v string) string {
	if u.isGuest() {
		return v
	}
	return ""
}

// selection is a parsed $select: the properties in request order, and the canonical list for
// @odata.context ("users(displayName,mail)").
type selection struct {
	props []*property
	names string // "" without $select
}

// parseSelect resolves a $select list. Unknown names fail like the service's OData layer;
// single-GET-only names fail with 501 on collections (NOTES §1.1).
func (s *userSchema) parseSelect(raw string, collection bool) (selection, *graphError) {
	if strings.TrimSpace(raw) == "" {
		return selection{props: s.defaults}, nil
	}
	var sel selection
	var names []string
	seen := map[*property]bool{}
	for _, n := range strings.Split(raw, ",") {
		n = strings.TrimSpace(n)
		p, ok := s.byName[strings.ToLower(n)]
		if !ok {
			return selection{}, errBadRequest("Could not find a property named '" + n + "' on type 'microsoft.graph.user'.")
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		sel.props = append(sel.props, p)
		names = append(names, p.name)
	}
	for _, p := range sel.props {
		if collection && p.singleOnly {
			return selection{}, errNotImplemented()
		}
	}
	sel.names = strings.Join(names, ",")
	return sel, nil
}

// appendProps writes the selected properties of u as `"name":value` pairs, in selection order;
// the caller writes the braces (a single GET puts @odata.context first).
func appendProps(b []byte, u *user, props []*property) []byte {
	for i, p := range props {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, p.name...)
		b = append(b, '"', ':')
		b = p.value(b, u)
	}
	return b
}

// appendTime writes a DateTimeOffset as Graph does ("2021-03-01T09:00:00Z"), null when unset.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	return appendString(b, t.UTC().Format(time.RFC3339))
}

// appendAssignedLicenses writes assignedLicenses in the key order of
// samples/assignlicense-response.json: disabledPlans, skuId.
func appendAssignedLicenses(b []byte, u *user) []byte {
	b = append(b, '[')
	for i, l := range u.licenses {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"disabledPlans":`...)
		b = appendStrings(b, l.disabledPlans)
		b = append(b, `,"skuId":`...)
		b = appendString(b, l.skuID)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendAssignedPlans derives assignedPlans from the licences: one entry per service plan
// that is not disabled, keys as in samples/assignlicense-response.json.
func appendAssignedPlans(b []byte, u *user, plans map[string][]demo.ServicePlan) []byte {
	b = append(b, '[')
	first := true
	for _, l := range u.licenses {
		for _, p := range plans[strings.ToLower(l.skuID)] {
			if containsFold(l.disabledPlans, p.ID) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"assignedDateTime":`...)
			b = appendTime(b, l.assigned)
			b = append(b, `,"capabilityStatus":"Enabled","service":`...)
			b = appendString(b, p.Service)
			b = append(b, `,"servicePlanId":`...)
			b = appendString(b, p.ID)
			b = append(b, '}')
		}
	}
	return append(b, ']')
}

func containsFold(ss []string, v string) bool {
	for _, s := range ss {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}
