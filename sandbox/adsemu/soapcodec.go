package adsemu

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// SOAP request decoders: one per operation, from the <Op>Request element to the typed
// request of users.go. Members are read as WCF's DataContractSerializer reads them
// (members(): document order, unknown elements ignored, absent = nil = empty for nillable
// members, NOTES §3); a value that is not of its XSD type is a DeserializationFailed fault.
// The response encoders are in entities.go.

func soapEmptyIn(*etree.Element) (empty, error) { return empty{}, nil }

func soapGetUserIn(body *etree.Element) (getUserIn, error) {
	m := members(body, nsService, "UserId")
	id, ok, err := optionalLong(m[0], "UserId")
	if err != nil || !ok {
		return getUserIn{}, err
	}
	return getUserIn{UserID: &id}, nil
}

func soapGetUsersInfoIn(body *etree.Element) (getUsersInfoIn, error) {
	m := members(body, nsService, "CustomerId", "StatusFilter")
	customerID, _, err := optionalLong(m[0], "CustomerId")
	if err != nil {
		return getUsersInfoIn{}, err
	}
	status, _, err := optionalEnum(m[1], "StatusFilter", "UserLifeCycleStatus", userStatuses...)
	return getUsersInfoIn{CustomerID: customerID, StatusFilter: status}, err
}

func soapSendUserInvitationIn(body *etree.Element) (sendUserInvitationIn, error) {
	el := members(body, nsService, "UserInvitation")[0]
	if el == nil || isNil(el) {
		return sendUserInvitationIn{}, nil
	}
	m := members(el, nsEntities, "Id", "FirstName", "LastName", "Email", "CustomerId", "RoleId", "AccountIds",
		"ExpirationDate", "Lcid")
	inv := &invitation{FirstName: optionalString(m[1]), LastName: optionalString(m[2]), Email: optionalString(m[3])}
	var err error
	if _, _, err = optionalLong(m[0], "Id"); err != nil { // read-only, but must still be a long
		return sendUserInvitationIn{}, err
	}
	if inv.CustomerID, _, err = optionalLong(m[4], "CustomerId"); err != nil {
		return sendUserInvitationIn{}, err
	}
	if inv.RoleID, _, err = optionalInt(m[5], "RoleId"); err != nil {
		return sendUserInvitationIn{}, err
	}
	if inv.AccountIDs, err = longArray(m[6], "AccountIds"); err != nil {
		return sendUserInvitationIn{}, err
	}
	if inv.Lcid, _, err = optionalEnum(m[8], "Lcid", "LCID", lcids...); err != nil {
		return sendUserInvitationIn{}, err
	}
	return sendUserInvitationIn{Invitation: inv}, nil
}

func soapSearchUserInvitationsIn(body *etree.Element) (searchUserInvitationsIn, error) {
	el := members(body, nsService, "Predicates")[0]
	var in searchUserInvitationsIn
	if el == nil || isNil(el) {
		return in, nil
	}
	for _, p := range el.ChildElements() {
		if p.Tag != "Predicate" || p.NamespaceURI() != nsEntities {
			continue
		}
		m := members(p, nsEntities, "Field", "Operator", "Value")
		op, _, err := optionalEnum(m[1], "Operator", "PredicateOperator", predicateOperators...)
		if err != nil {
			return in, err
		}
		in.Predicates = append(in.Predicates, predicate{Field: optionalString(m[0]), Operator: op, Value: optionalString(m[2])})
	}
	return in, nil
}

func soapUpdateUserIn(body *etree.Element) (updateUserIn, error) {
	el := members(body, nsService, "User")[0]
	if el == nil || isNil(el) {
		return updateUserIn{}, nil
	}
	// CustomerId, LastModifiedByUserId, LastModifiedTime, Password, UserLifeCycleStatus and
	// AuthenticationToken are read-only on update (NOTES §4.6) and ignored.
	m := members(el, nsEntities, "ContactInfo", "CustomerId", "Id", "JobTitle", "LastModifiedByUserId",
		"LastModifiedTime", "Lcid", "Name", "Password", "SecretAnswer", "SecretQuestion", "UserLifeCycleStatus",
		"TimeStamp", "UserName", "ForwardCompatibilityMap", "AuthenticationToken")
	u := &userIn{JobTitle: optionalString(m[3])}
	id, ok, err := optionalLong(m[2], "Id")
	if err != nil {
		return updateUserIn{}, err
	}
	if ok {
		u.ID = &id
	}
	if u.Contact, err = soapContactInfo(m[0]); err != nil {
		return updateUserIn{}, err
	}
	if u.Lcid, _, err = optionalEnum(m[6], "Lcid", "LCID", lcids...); err != nil {
		return updateUserIn{}, err
	}
	if n := m[7]; n != nil && !isNil(n) {
		nm := members(n, nsEntities, "FirstName", "LastName", "MiddleInitial")
		u.FirstName, u.LastName, u.MiddleInitial = optionalString(nm[0]), optionalString(nm[1]), optionalString(nm[2])
	}
	if u.SecretQuestion, _, err = optionalEnum(m[10], "SecretQuestion", "SecretQuestion", secretQuestions...); err != nil {
		return updateUserIn{}, err
	}
	if u.TimeStamp, err = optionalBase64(m[12], "TimeStamp"); err != nil {
		return updateUserIn{}, err
	}
	if m[13] != nil && !isNil(m[13]) {
		name := optionalString(m[13])
		u.UserName = &name
	}
	if f := m[14]; f != nil && !isNil(f) {
		u.ForwardCompatibilityMap = []keyValue{}
		for _, kv := range f.ChildElements() {
			if kv.Tag == "KeyValuePairOfstringstring" && kv.NamespaceURI() == nsGeneric {
				p := members(kv, nsGeneric, "key", "value")
				u.ForwardCompatibilityMap = append(u.ForwardCompatibilityMap, keyValue{optionalString(p[0]), optionalString(p[1])})
			}
		}
	}
	return updateUserIn{User: u}, nil
}

func soapContactInfo(el *etree.Element) (*contactInfo, error) {
	if el == nil || isNil(el) {
		return nil, nil
	}
	m := members(el, nsEntities, "Address", "ContactByPhone", "ContactByPostalMail", "Email", "EmailFormat", "Fax",
		"HomePhone", "Id", "Mobile", "Phone1", "Phone2")
	c := &contactInfo{Email: optionalString(m[3]), Fax: optionalString(m[5]), HomePhone: optionalString(m[6]),
		Mobile: optionalString(m[8]), Phone1: optionalString(m[9]), Phone2: optionalString(m[10])}
	var err error
	if c.ContactByPhone, err = optionalBool(m[1], "ContactByPhone"); err != nil {
		return nil, err
	}
	if c.ContactByPostalMail, err = optionalBool(m[2], "ContactByPostalMail"); err != nil {
		return nil, err
	}
	if c.EmailFormat, _, err = optionalEnum(m[4], "EmailFormat", "EmailFormat", emailFormats...); err != nil {
		return nil, err
	}
	if a := m[0]; a != nil && !isNil(a) {
		am := members(a, nsEntities, "City", "CountryCode", "Id", "Line1", "Line2", "Line3", "Line4", "PostalCode",
			"StateOrProvince", "TimeStamp", "BusinessName")
		c.Address = &address{City: optionalString(am[0]), CountryCode: optionalString(am[1]),
			Line1: optionalString(am[3]), Line2: optionalString(am[4]), Line3: optionalString(am[5]),
			Line4: optionalString(am[6]), PostalCode: optionalString(am[7]), StateOrProvince: optionalString(am[8]),
			BusinessName: optionalString(am[10])}
	}
	return c, nil
}

func soapUpdateUserRolesIn(body *etree.Element) (updateUserRolesIn, error) {
	m := members(body, nsService, "CustomerId", "UserId", "NewRoleId", "NewAccountIds", "NewCustomerIds",
		"DeleteRoleId", "DeleteAccountIds", "DeleteCustomerIds")
	var in updateUserRolesIn
	var err error
	if in.CustomerID, _, err = optionalLong(m[0], "CustomerId"); err != nil {
		return in, err
	}
	if in.UserID, _, err = optionalLong(m[1], "UserId"); err != nil {
		return in, err
	}
	for _, r := range []struct {
		el   *etree.Element
		name string
		dst  **int
	}{{m[2], "NewRoleId", &in.NewRoleID}, {m[5], "DeleteRoleId", &in.DeleteRoleID}} {
		v, ok, err := optionalInt(r.el, r.name)
		if err != nil {
			return in, err
		}
		if ok {
			*r.dst = &v
		}
	}
	for _, a := range []struct {
		el   *etree.Element
		name string
		dst  *[]int64
	}{{m[3], "NewAccountIds", &in.NewAccountIDs}, {m[4], "NewCustomerIds", &in.NewCustomerIDs},
		{m[6], "DeleteAccountIds", &in.DeleteAccountIDs}, {m[7], "DeleteCustomerIds", &in.DeleteCustomerIDs}} {
		if *a.dst, err = longArray(a.el, a.name); err != nil {
			return in, err
		}
	}
	return in, nil
}

func soapDeleteUserIn(body *etree.Element) (deleteUserIn, error) {
	m := members(body, nsService, "UserId", "TimeStamp")
	var in deleteUserIn
	var err error
	if in.UserID, _, err = optionalLong(m[0], "UserId"); err != nil {
		return in, err
	}
	in.TimeStamp, err = optionalBase64(m[1], "TimeStamp")
	return in, err
}

func soapCustomerIDIn(body *etree.Element) (customerIDIn, error) {
	id, _, err := optionalLong(members(body, nsService, "CustomerId")[0], "CustomerId")
	return customerIDIn{CustomerID: id}, err
}

func soapGetAccountsInfoIn(body *etree.Element) (getAccountsInfoIn, error) {
	m := members(body, nsService, "CustomerId", "OnlyParentAccounts")
	var in getAccountsInfoIn
	id, ok, err := optionalLong(m[0], "CustomerId")
	if err != nil {
		return in, err
	}
	if ok {
		in.CustomerID = &id
	}
	only, err := optionalBool(m[1], "OnlyParentAccounts")
	in.OnlyParentAccounts = only != nil && *only
	return in, err
}

func soapGetCustomersInfoIn(body *etree.Element) (getCustomersInfoIn, error) {
	m := members(body, nsService, "CustomerNameFilter", "TopN")
	topN, _, err := optionalInt(m[1], "TopN")
	return getCustomersInfoIn{CustomerNameFilter: optionalString(m[0]), TopN: topN}, err
}

// --- member readers ---

// optionalString reads a nillable xs:string: absent and nil are "".
func optionalString(el *etree.Element) string {
	if el == nil || isNil(el) {
		return ""
	}
	return text(el)
}

// optionalInt reads an xs:int member; absent, nil and empty are "not given".
func optionalInt(el *etree.Element, member string) (int, bool, error) {
	if el == nil || isNil(el) {
		return 0, false, nil
	}
	s := strings.TrimSpace(text(el))
	if s == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false, deserializationFailed(member, fmt.Errorf("The value '%s' cannot be parsed as the type 'Int32'.", s))
	}
	return int(v), true, nil
}

// optionalBool reads an xs:boolean member (true, false, 1, 0); nil when not given.
func optionalBool(el *etree.Element, member string) (*bool, error) {
	if el == nil || isNil(el) {
		return nil, nil
	}
	var v bool
	switch s := strings.TrimSpace(text(el)); s {
	case "":
		return nil, nil
	case "true", "1":
		v = true
	case "false", "0":
	default:
		return nil, deserializationFailed(member, fmt.Errorf("The value '%s' cannot be parsed as the type 'Boolean'.", s))
	}
	return &v, nil
}

// optionalBase64 reads an xs:base64Binary member; nil when absent, nil or empty.
func optionalBase64(el *etree.Element, member string) ([]byte, error) {
	if el == nil || isNil(el) {
		return nil, nil
	}
	s := strings.Join(strings.Fields(text(el)), "")
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, deserializationFailed(member, fmt.Errorf("The input is not a valid Base-64 string."))
	}
	return b, nil
}

// longArray reads an arr:ArrayOflong member: nil when absent or nil, else its <long> items
// in the Serialization/Arrays namespace (NOTES §3).
func longArray(el *etree.Element, member string) ([]int64, error) {
	if el == nil || isNil(el) {
		return nil, nil
	}
	ids := []int64{}
	for _, c := range el.ChildElements() {
		if c.Tag != "long" || c.NamespaceURI() != nsArrays {
			continue
		}
		v, ok, err := optionalLong(c, member)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, deserializationFailed(member, fmt.Errorf("The value '' cannot be parsed as the type 'Int64'."))
		}
		ids = append(ids, v)
	}
	return ids, nil
}

// Enumerations (NOTES §5), by name as on the wire.
var (
	predicateOperators = []string{"Equals", "NotEquals", "Contains", "In", "GreaterThanEquals", "LessThanEquals",
		"StartsWith", "NotContains"}
	secretQuestions = []string{"None", "FavoritePetsName", "FavoriteMovie", "Anniversary", "FatherMiddleName",
		"SpouseMiddleName", "FirstChildMiddleName", "HighSchoolName", "FavoriteTeacherName", "FavoriteSportsTeam"}
	emailFormats = []string{"Html", "Text"}
	lcids        = []string{"ArabicSaudiArabia", "ArabicAlgeria", "ArabicBahrain", "ArabicEgypt", "ArabicIraq",
		"ArabicJordan", "ArabicKuwait", "ArabicLebanon", "ArabicLibya", "ArabicMorocco", "ArabicOman", "ArabicQatar",
		"ArabicTunisia", "ArabicUnitedArabEmirates", "ArabicYemen", "ChineseTaiwan", "DanishDenmark", "GermanGermany",
		"EnglishUS", "SpanishSpain", "FinnishFinland", "FrenchFrance", "HebrewIsrael", "ItalianItaly", "JapaneseJapan",
		"KoreanKorea", "DutchNetherlands", "NorwegianNorway", "PortugueseBrazil", "RussianRussia", "SwedishSweden",
		"EnglishThailand", "EnglishIndonesia", "Slovenian", "Latvian", "EnglishVietnam", "ChineseChina",
		"GermanSwitzerland", "EnglishUK", "SpanishMexico", "ChineseHongKong", "GermanAustria", "EnglishAustralia",
		"FrenchCanada", "EnglishCanada", "EnglishNewZealand", "EnglishIreland", "SpanishVenezuela", "SpanishColombia",
		"SpanishPeru", "SpanishArgentina", "EnglishPhilippines", "SpanishChile", "EnglishIndia", "EnglishMalaysia",
		"EnglishSingapore", "TurkishTurkey", "FilipinoPhilippines", "PolandPolish", "MalayMalaysia", "UkrainianUkraine",
		"CzechRepublicCZ", "RomaniaRO", "GreekGreece", "HungaryHU", "HindiIndia", "Bulgarian", "Lithuanian", "Croatian"}
)

// --- response encoders (the entity writers are in entities.go) ---

func soapGetUserOut(resp *etree.Element, out getUserOut) {
	writeUser(resp, "User", out.User)
	if out.WithRoles {
		writeCustomerRoles(resp, out.User)
	}
}

func soapGetUsersInfoOut(resp *etree.Element, out getUsersInfoOut) {
	writeUsersInfo(resp, out.UsersInfo)
}

func soapSendUserInvitationOut(resp *etree.Element, out sendUserInvitationOut) {
	addText(resp, "UserInvitationId", formatLong(out.UserInvitationID))
}

func soapSearchUserInvitationsOut(resp *etree.Element, out searchUserInvitationsOut) {
	writeInvitations(resp, out.UserInvitations)
}

func soapLastModifiedOut(resp *etree.Element, out lastModifiedOut) {
	addText(resp, "LastModifiedTime", formatDateTime(out.LastModifiedTime))
}

func soapEmptyOut(*etree.Element, empty) {}

// soapPilotFeaturesOut writes a top-level arr:ArrayOfint: the a: prefix is bound to the
// Arrays namespace here (NOTES §3, examples/GetCustomerPilotFeatures.response.xml).
func soapPilotFeaturesOut(resp *etree.Element, out pilotFeaturesOut) {
	el := resp.CreateElement("FeaturePilotFlags")
	el.CreateAttr("xmlns:a", nsArrays)
	el.CreateAttr("xmlns:i", nsXSI)
	for _, f := range out.FeaturePilotFlags {
		addText(el, "a:int", strconv.Itoa(f))
	}
}

func soapMFAStatusOut(resp *etree.Element, out mfaStatusOut) {
	addText(resp, "MFAStatus", strconv.FormatBool(out.MFAStatus))
}

func soapAccountsInfoOut(resp *etree.Element, out accountsInfoOut) {
	e := entityContainer(resp, "AccountsInfo")
	for _, a := range out.AccountsInfo {
		item := e.CreateElement("a:AccountInfo")
		addText(item, "a:Id", formatLong(a.ID))
		optText(item, "a:Name", a.Name)
		optText(item, "a:Number", a.Number)
		addText(item, "a:AccountLifeCycleStatus", a.Status)
		addNil(item, "a:PauseReason")
	}
}

func soapCustomersInfoOut(resp *etree.Element, out customersInfoOut) {
	e := entityContainer(resp, "CustomersInfo")
	for _, c := range out.CustomersInfo {
		item := e.CreateElement("a:CustomerInfo")
		addText(item, "a:Id", formatLong(c.ID))
		optText(item, "a:Name", c.Name)
	}
}
