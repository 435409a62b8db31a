package adsemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The JSON codecs of the REST binding (REST.md §2.3-2.4): PascalCase names identical to
// the SOAP element names, members in WSDL order, xs:long as a JSON string (read from a
// string or a number), int and bool as JSON numbers and booleans, enums by name, TimeStamp
// as base64, dateTime as in SOAP, arrays as plain JSON arrays. Responses carry every
// member, null for nil, except the EmitDefaultValue=false members (User.AuthenticationToken),
// which are omitted when null; success bodies carry no TrackingId.

// jlong is an xs:long in JSON.
type jlong int64

func (v jlong) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(v), 10) + `"`), nil
}

// UnmarshalJSON accepts "123" and 123, as the .NET SDK's LongToStringConverter does.
func (v *jlong) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("the value %s cannot be parsed as the type Int64", b)
	}
	*v = jlong(n)
	return nil
}

func plong(v int64) *jlong { l := jlong(v); return &l }

// pstr is a nillable string member: "" is null.
func pstr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func longs(ids []int64) []jlong {
	if ids == nil {
		return nil
	}
	out := make([]jlong, len(ids))
	for i, id := range ids {
		out[i] = jlong(id)
	}
	return out
}

func int64s(ids []jlong) []int64 {
	if ids == nil {
		return nil
	}
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// --- wire types ---

type jUser struct {
	ContactInfo             *jContactInfo `json:"ContactInfo"`
	CustomerID              *jlong        `json:"CustomerId"`
	ID                      *jlong        `json:"Id"`
	JobTitle                *string       `json:"JobTitle"`
	LastModifiedByUserID    *jlong        `json:"LastModifiedByUserId"`
	LastModifiedTime        *string       `json:"LastModifiedTime"`
	Lcid                    *string       `json:"Lcid"`
	Name                    *jPersonName  `json:"Name"`
	Password                *string       `json:"Password"`
	SecretAnswer            *string       `json:"SecretAnswer"`
	SecretQuestion          string        `json:"SecretQuestion"`
	UserLifeCycleStatus     *string       `json:"UserLifeCycleStatus"`
	TimeStamp               *string       `json:"TimeStamp"`
	UserName                *string       `json:"UserName"`
	ForwardCompatibilityMap []jKeyValue   `json:"ForwardCompatibilityMap"`
	AuthenticationToken     *string       `json:"AuthenticationToken,omitempty"`
}

// jKeyValue is a ForwardCompatibilityMap item: "Key"/"Value" as all four REST SDKs write
// them; the docs templates' lower-case "key"/"value" are read too (encoding/json matches
// names case-insensitively), REST.md §2.3.
type jKeyValue struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type jPersonName struct {
	FirstName     *string `json:"FirstName"`
	LastName      *string `json:"LastName"`
	MiddleInitial *string `json:"MiddleInitial"`
}

type jContactInfo struct {
	Address             *jAddress `json:"Address"`
	ContactByPhone      *bool     `json:"ContactByPhone"`
	ContactByPostalMail *bool     `json:"ContactByPostalMail"`
	Email               *string   `json:"Email"`
	EmailFormat         *string   `json:"EmailFormat"`
	Fax                 *string   `json:"Fax"`
	HomePhone           *string   `json:"HomePhone"`
	ID                  *jlong    `json:"Id"`
	Mobile              *string   `json:"Mobile"`
	Phone1              *string   `json:"Phone1"`
	Phone2              *string   `json:"Phone2"`
}

type jAddress struct {
	City            *string `json:"City"`
	CountryCode     *string `json:"CountryCode"`
	ID              *jlong  `json:"Id"`
	Line1           *string `json:"Line1"`
	Line2           *string `json:"Line2"`
	Line3           *string `json:"Line3"`
	Line4           *string `json:"Line4"`
	PostalCode      *string `json:"PostalCode"`
	StateOrProvince *string `json:"StateOrProvince"`
	TimeStamp       *string `json:"TimeStamp"`
	BusinessName    *string `json:"BusinessName"`
}

type jCustomerRole struct {
	RoleID                 int     `json:"RoleId"`
	CustomerID             jlong   `json:"CustomerId"`
	AccountIDs             []jlong `json:"AccountIds"`
	LinkedAccountIDs       []jlong `json:"LinkedAccountIds"`
	CustomerLinkPermission *string `json:"CustomerLinkPermission"`
}

type jInvitation struct {
	ID             jlong   `json:"Id"`
	FirstName      *string `json:"FirstName"`
	LastName       *string `json:"LastName"`
	Email          *string `json:"Email"`
	CustomerID     jlong   `json:"CustomerId"`
	RoleID         int     `json:"RoleId"`
	AccountIDs     []jlong `json:"AccountIds"`
	ExpirationDate string  `json:"ExpirationDate"`
	Lcid           string  `json:"Lcid"`
}

type jPredicate struct {
	Field    *string `json:"Field"`
	Operator *string `json:"Operator"`
	Value    *string `json:"Value"`
}

type jUserInfo struct {
	ID       jlong   `json:"Id"`
	UserName *string `json:"UserName"`
}

type jAccountInfo struct {
	ID                     jlong   `json:"Id"`
	Name                   *string `json:"Name"`
	Number                 *string `json:"Number"`
	AccountLifeCycleStatus string  `json:"AccountLifeCycleStatus"`
	PauseReason            *int    `json:"PauseReason"`
}

type jCustomerInfo struct {
	ID   *jlong  `json:"Id"`
	Name *string `json:"Name"`
}

// Fault bodies (REST.md §3, rest-samples/derived): the fault object itself at the top level
// with its "Type" discriminator.
type jAdAPIFault struct {
	TrackingID string        `json:"TrackingId"`
	Errors     []jAdAPIError `json:"Errors"`
	Type       string        `json:"Type"`
}

type jAdAPIError struct {
	Code      int     `json:"Code"`
	Detail    *string `json:"Detail"`
	ErrorCode *string `json:"ErrorCode"`
	Message   *string `json:"Message"`
}

type jAPIFault struct {
	TrackingID      string            `json:"TrackingId"`
	OperationErrors []jOperationError `json:"OperationErrors"`
	Type            string            `json:"Type"`
}

type jOperationError struct {
	Code    int     `json:"Code"`
	Details *string `json:"Details"`
	Message *string `json:"Message"`
}

// restFault is the JSON fault body of e.
func restFault(trackingID string, e apiError) any {
	if e.Kind == adAPIFault {
		return jAdAPIFault{TrackingID: trackingID, Type: "AdApiFaultDetail", Errors: []jAdAPIError{{
			Code: e.Code, Detail: pstr(e.Details), ErrorCode: pstr(e.ErrorCode), Message: pstr(e.Message)}}}
	}
	return jAPIFault{TrackingID: trackingID, Type: "ApiFault", OperationErrors: []jOperationError{{
		Code: e.Code, Details: pstr(e.Details), Message: pstr(e.Message)}}}
}

// --- decoding ---

// decodeJSON decodes a request body into v. An empty body is {} (the SDKs send {} for
// GetUserMFAStatus and GetCurrentUser, REST.md §2.3); missing and null members are alike.
// Anything that does not decode is ApiFault 201 with the reason in Details.
func decodeJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return inputError("The request body could not be deserialized: " + err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return inputError("The request body has data after the JSON value.")
	}
	return nil
}

// enumValue checks an enum member given by name.
func enumValue(p *string, member string, allowed []string) (string, error) {
	if p == nil || *p == "" {
		return "", nil
	}
	if !slices.Contains(allowed, *p) {
		return "", inputError(fmt.Sprintf("Invalid enum value '%s' for %s.", *p, member))
	}
	return *p, nil
}

func base64Value(p *string, member string) ([]byte, error) {
	if p == nil || *p == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(*p)
	if err != nil {
		return nil, inputError(member + " is not a valid Base-64 string.")
	}
	return b, nil
}

func restEmptyIn(data []byte) (empty, error) {
	var v struct{}
	return empty{}, decodeJSON(data, &v)
}

func restGetUserIn(data []byte) (getUserIn, error) {
	var v struct {
		UserID *jlong `json:"UserId"`
	}
	if err := decodeJSON(data, &v); err != nil || v.UserID == nil {
		return getUserIn{}, err
	}
	id := int64(*v.UserID)
	return getUserIn{UserID: &id}, nil
}

func restGetUsersInfoIn(data []byte) (getUsersInfoIn, error) {
	var v struct {
		CustomerID   jlong   `json:"CustomerId"`
		StatusFilter *string `json:"StatusFilter"`
	}
	if err := decodeJSON(data, &v); err != nil {
		return getUsersInfoIn{}, err
	}
	status, err := enumValue(v.StatusFilter, "StatusFilter", userStatuses)
	return getUsersInfoIn{CustomerID: int64(v.CustomerID), StatusFilter: status}, err
}

func restSendUserInvitationIn(data []byte) (sendUserInvitationIn, error) {
	var v struct {
		UserInvitation *struct {
			jInvitation
			Lcid *string `json:"Lcid"` // nil must reach the operation as "missing"
		} `json:"UserInvitation"`
	}
	if err := decodeJSON(data, &v); err != nil || v.UserInvitation == nil {
		return sendUserInvitationIn{}, err
	}
	j := v.UserInvitation
	inv := &invitation{FirstName: str(j.FirstName), LastName: str(j.LastName), Email: str(j.Email),
		CustomerID: int64(j.CustomerID), RoleID: j.RoleID, AccountIDs: int64s(j.AccountIDs)}
	var err error
	if j.Lcid != nil {
		inv.Lcid, err = enumValue(j.Lcid, "Lcid", lcids)
	}
	return sendUserInvitationIn{Invitation: inv}, err
}

func restSearchUserInvitationsIn(data []byte) (searchUserInvitationsIn, error) {
	var v struct {
		Predicates []*jPredicate `json:"Predicates"`
	}
	var in searchUserInvitationsIn
	if err := decodeJSON(data, &v); err != nil {
		return in, err
	}
	for _, p := range v.Predicates {
		if p == nil {
			continue
		}
		op, err := enumValue(p.Operator, "Operator", predicateOperators)
		if err != nil {
			return in, err
		}
		in.Predicates = append(in.Predicates, predicate{Field: str(p.Field), Operator: op, Value: str(p.Value)})
	}
	return in, nil
}

func restUpdateUserIn(data []byte) (updateUserIn, error) {
	var v struct {
		User *jUser `json:"User"`
	}
	if err := decodeJSON(data, &v); err != nil || v.User == nil {
		return updateUserIn{}, err
	}
	j := v.User
	u := &userIn{JobTitle: str(j.JobTitle), UserName: j.UserName}
	if j.ID != nil {
		id := int64(*j.ID)
		u.ID = &id
	}
	var err error
	if u.TimeStamp, err = base64Value(j.TimeStamp, "User.TimeStamp"); err != nil {
		return updateUserIn{}, err
	}
	if u.Lcid, err = enumValue(j.Lcid, "Lcid", lcids); err != nil {
		return updateUserIn{}, err
	}
	if u.SecretQuestion, err = enumValue(&j.SecretQuestion, "SecretQuestion", secretQuestions); err != nil {
		return updateUserIn{}, err
	}
	if n := j.Name; n != nil {
		u.FirstName, u.LastName, u.MiddleInitial = str(n.FirstName), str(n.LastName), str(n.MiddleInitial)
	}
	if c := j.ContactInfo; c != nil {
		u.Contact = &contactInfo{ContactByPhone: c.ContactByPhone, ContactByPostalMail: c.ContactByPostalMail,
			Email: str(c.Email), Fax: str(c.Fax), HomePhone: str(c.HomePhone), Mobile: str(c.Mobile),
			Phone1: str(c.Phone1), Phone2: str(c.Phone2)}
		if u.Contact.EmailFormat, err = enumValue(c.EmailFormat, "EmailFormat", emailFormats); err != nil {
			return updateUserIn{}, err
		}
		if a := c.Address; a != nil {
			u.Contact.Address = &address{City: str(a.City), CountryCode: str(a.CountryCode), Line1: str(a.Line1),
				Line2: str(a.Line2), Line3: str(a.Line3), Line4: str(a.Line4), PostalCode: str(a.PostalCode),
				StateOrProvince: str(a.StateOrProvince), BusinessName: str(a.BusinessName)}
		}
	}
	if j.ForwardCompatibilityMap != nil {
		u.ForwardCompatibilityMap = []keyValue{}
		for _, kv := range j.ForwardCompatibilityMap {
			u.ForwardCompatibilityMap = append(u.ForwardCompatibilityMap, keyValue{str(kv.Key), str(kv.Value)})
		}
	}
	return updateUserIn{User: u}, nil
}

func restUpdateUserRolesIn(data []byte) (updateUserRolesIn, error) {
	var v struct {
		CustomerID        jlong   `json:"CustomerId"`
		UserID            jlong   `json:"UserId"`
		NewRoleID         *int    `json:"NewRoleId"`
		NewAccountIDs     []jlong `json:"NewAccountIds"`
		NewCustomerIDs    []jlong `json:"NewCustomerIds"`
		DeleteRoleID      *int    `json:"DeleteRoleId"`
		DeleteAccountIDs  []jlong `json:"DeleteAccountIds"`
		DeleteCustomerIDs []jlong `json:"DeleteCustomerIds"`
	}
	err := decodeJSON(data, &v)
	return updateUserRolesIn{CustomerID: int64(v.CustomerID), UserID: int64(v.UserID),
		NewRoleID: v.NewRoleID, NewAccountIDs: int64s(v.NewAccountIDs), NewCustomerIDs: int64s(v.NewCustomerIDs),
		DeleteRoleID: v.DeleteRoleID, DeleteAccountIDs: int64s(v.DeleteAccountIDs),
		DeleteCustomerIDs: int64s(v.DeleteCustomerIDs)}, err
}

func restDeleteUserIn(data []byte) (deleteUserIn, error) {
	var v struct {
		UserID    jlong   `json:"UserId"`
		TimeStamp *string `json:"TimeStamp"`
	}
	if err := decodeJSON(data, &v); err != nil {
		return deleteUserIn{}, err
	}
	ts, err := base64Value(v.TimeStamp, "TimeStamp")
	return deleteUserIn{UserID: int64(v.UserID), TimeStamp: ts}, err
}

func restCustomerIDIn(data []byte) (customerIDIn, error) {
	var v struct {
		CustomerID jlong `json:"CustomerId"`
	}
	err := decodeJSON(data, &v)
	return customerIDIn{CustomerID: int64(v.CustomerID)}, err
}

func restGetAccountsInfoIn(data []byte) (getAccountsInfoIn, error) {
	var v struct {
		CustomerID         *jlong `json:"CustomerId"`
		OnlyParentAccounts *bool  `json:"OnlyParentAccounts"`
	}
	var in getAccountsInfoIn
	if err := decodeJSON(data, &v); err != nil {
		return in, err
	}
	if v.CustomerID != nil {
		id := int64(*v.CustomerID)
		in.CustomerID = &id
	}
	in.OnlyParentAccounts = v.OnlyParentAccounts != nil && *v.OnlyParentAccounts
	return in, nil
}

func restGetCustomersInfoIn(data []byte) (getCustomersInfoIn, error) {
	var v struct {
		CustomerNameFilter *string `json:"CustomerNameFilter"`
		TopN               int     `json:"TopN"`
	}
	err := decodeJSON(data, &v)
	return getCustomersInfoIn{CustomerNameFilter: str(v.CustomerNameFilter), TopN: v.TopN}, err
}

// --- encoding ---

func restUser(u user) *jUser {
	j := &jUser{
		CustomerID: plong(u.CustomerID), ID: plong(u.ID), JobTitle: pstr(u.JobTitle),
		LastModifiedByUserID: plong(u.LastModifiedByUserID), LastModifiedTime: pstr(formatDateTime(u.LastModifiedTime)),
		Lcid: pstr(u.Lcid), Name: &jPersonName{FirstName: pstr(u.FirstName), LastName: pstr(u.LastName),
			MiddleInitial: pstr(u.MiddleInitial)},
		SecretQuestion: secretQuestion(u.SecretQuestion), UserLifeCycleStatus: pstr(u.Status),
		TimeStamp: pstr(u.TimeStamp.String()), UserName: pstr(u.UserName),
	}
	c := u.Contact
	j.ContactInfo = &jContactInfo{ContactByPhone: c.ContactByPhone, ContactByPostalMail: c.ContactByPostalMail,
		Email: pstr(c.Email), EmailFormat: pstr(c.EmailFormat), Fax: pstr(c.Fax), HomePhone: pstr(c.HomePhone),
		ID: plong(c.ID), Mobile: pstr(c.Mobile), Phone1: pstr(c.Phone1), Phone2: pstr(c.Phone2)}
	if a := c.Address; a != nil {
		j.ContactInfo.Address = &jAddress{City: pstr(a.City), CountryCode: pstr(a.CountryCode), ID: plong(a.ID),
			Line1: pstr(a.Line1), Line2: pstr(a.Line2), Line3: pstr(a.Line3), Line4: pstr(a.Line4),
			PostalCode: pstr(a.PostalCode), StateOrProvince: pstr(a.StateOrProvince), BusinessName: pstr(a.BusinessName)}
	}
	if u.ForwardCompatibilityMap != nil {
		j.ForwardCompatibilityMap = []jKeyValue{}
		for _, kv := range u.ForwardCompatibilityMap {
			j.ForwardCompatibilityMap = append(j.ForwardCompatibilityMap, jKeyValue{pstr(kv.Key), pstr(kv.Value)})
		}
	}
	return j
}

func restGetUserOut(out getUserOut) any {
	if !out.WithRoles {
		return struct {
			User *jUser `json:"User"`
		}{restUser(out.User)}
	}
	roles := []jCustomerRole{}
	for _, r := range out.User.Roles {
		roles = append(roles, jCustomerRole{RoleID: r.RoleID, CustomerID: jlong(out.User.CustomerID),
			AccountIDs: longs(r.AccountIDs)})
	}
	return struct {
		User          *jUser          `json:"User"`
		CustomerRoles []jCustomerRole `json:"CustomerRoles"`
	}{restUser(out.User), roles}
}

func restGetUsersInfoOut(out getUsersInfoOut) any {
	infos := make([]jUserInfo, len(out.UsersInfo))
	for i, ui := range out.UsersInfo {
		infos[i] = jUserInfo{ID: jlong(ui.ID), UserName: pstr(ui.UserName)}
	}
	return struct {
		UsersInfo []jUserInfo `json:"UsersInfo"`
	}{infos}
}

func restSendUserInvitationOut(out sendUserInvitationOut) any {
	return struct {
		UserInvitationID jlong `json:"UserInvitationId"`
	}{jlong(out.UserInvitationID)}
}

func restSearchUserInvitationsOut(out searchUserInvitationsOut) any {
	invs := make([]jInvitation, len(out.UserInvitations))
	for i, inv := range out.UserInvitations {
		invs[i] = jInvitation{ID: jlong(inv.ID), FirstName: pstr(inv.FirstName), LastName: pstr(inv.LastName),
			Email: pstr(inv.Email), CustomerID: jlong(inv.CustomerID), RoleID: inv.RoleID,
			AccountIDs: longs(inv.AccountIDs), ExpirationDate: formatDateTime(inv.Expires), Lcid: inv.Lcid}
	}
	return struct {
		UserInvitations []jInvitation `json:"UserInvitations"`
	}{invs}
}

func restLastModifiedOut(out lastModifiedOut) any {
	return struct {
		LastModifiedTime string `json:"LastModifiedTime"`
	}{formatDateTime(out.LastModifiedTime)}
}

// restEmptyOut is DeleteUser's {}: an empty body would fail the .NET and Java SDKs (REST.md §2.2).
func restEmptyOut(empty) any { return struct{}{} }

func restPilotFeaturesOut(out pilotFeaturesOut) any {
	flags := out.FeaturePilotFlags
	if flags == nil {
		flags = []int{}
	}
	return struct {
		FeaturePilotFlags []int `json:"FeaturePilotFlags"`
	}{flags}
}

func restMFAStatusOut(out mfaStatusOut) any {
	return struct {
		MFAStatus bool `json:"MFAStatus"`
	}{out.MFAStatus}
}

func restAccountsInfoOut(out accountsInfoOut) any {
	infos := make([]jAccountInfo, len(out.AccountsInfo))
	for i, a := range out.AccountsInfo {
		infos[i] = jAccountInfo{ID: jlong(a.ID), Name: pstr(a.Name), Number: pstr(a.Number), AccountLifeCycleStatus: a.Status}
	}
	return struct {
		AccountsInfo []jAccountInfo `json:"AccountsInfo"`
	}{infos}
}

func restCustomersInfoOut(out customersInfoOut) any {
	infos := make([]jCustomerInfo, len(out.CustomersInfo))
	for i, c := range out.CustomersInfo {
		infos[i] = jCustomerInfo{ID: plong(c.ID), Name: pstr(c.Name)}
	}
	return struct {
		CustomersInfo []jCustomerInfo `json:"CustomersInfo"`
	}{infos}
}
