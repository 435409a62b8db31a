package ads

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// The SOAP operations on users. Request members are written in the order of the WSDL
// sequences (NOTES §4, §5): the service may fail or ignore members out of order.
// Entity members use the prefix a: (…/Entities) and arrays b: (Serialization/Arrays),
// declared on the element that needs them, as the official examples do.

// GetUsersInfo calls GetUsersInfo (NOTES §4.3): CustomerId, then the optional StatusFilter,
// in WSDL order. There is no paging: the whole list comes in one response.
func (c *SOAPClient) GetUsersInfo(ctx context.Context, customerID int64, status string) ([]UserInfo, error) {
	return soapCall(ctx, c, "GetUsersInfo", true, func(req *etree.Element) {
		setLong(req, "CustomerId", customerID)
		if status != "" {
			req.CreateElement("StatusFilter").SetText(status)
		}
	}, func(resp *etree.Element) ([]UserInfo, error) {
		var out []UserInfo
		for _, ui := range children(child(resp, nsService, "UsersInfo"), nsEntities, "UserInfo") {
			id, err := strconv.ParseInt(text(child(ui, nsEntities, "Id")), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("ads: GetUsersInfo: UserInfo/Id: %w", errShape)
			}
			out = append(out, UserInfo{ID: id, UserName: text(child(ui, nsEntities, "UserName"))})
		}
		return out, nil
	})
}

// GetUser calls GetUser (NOTES §4.1). userID 0 sends a nil UserId, which the service reads
// as "the authenticated user".
func (c *SOAPClient) GetUser(ctx context.Context, userID int64) (*User, []CustomerRole, error) {
	var roles []CustomerRole
	u, err := soapCall(ctx, c, "GetUser", true, func(req *etree.Element) {
		if userID == 0 {
			setNil(req, "UserId")
		} else {
			setLong(req, "UserId", userID)
		}
	}, func(resp *etree.Element) (u *User, err error) {
		u, roles, err = decodeGetUser(resp)
		return u, err
	})
	return u, roles, err
}

// decodeGetUser reads a GetUserResponse element.
func decodeGetUser(resp *etree.Element) (*User, []CustomerRole, error) {
	ue := child(resp, nsService, "User")
	if isNil(ue) {
		return nil, nil, fmt.Errorf("ads: GetUser: no User in the response: %w", errShape)
	}
	u, err := decodeUser(ue)
	if err != nil {
		return nil, nil, err
	}
	var roles []CustomerRole
	for _, re := range children(child(resp, nsService, "CustomerRoles"), nsEntities, "CustomerRole") {
		roles = append(roles, decodeRole(re))
	}
	return u, roles, nil
}

// GetCurrentUser calls GetCurrentUser (NOTES §4.2): an empty request; the response has the
// User only.
func (c *SOAPClient) GetCurrentUser(ctx context.Context) (*User, error) {
	return soapCall(ctx, c, "GetCurrentUser", true, nil, func(resp *etree.Element) (*User, error) {
		ue := child(resp, nsService, "User")
		if isNil(ue) {
			return nil, fmt.Errorf("ads: GetCurrentUser: no User in the response: %w", errShape)
		}
		return decodeUser(ue)
	})
}

// SendUserInvitation calls SendUserInvitation (NOTES §4.4). Id is sent as 0 like the .NET
// SDK and the official example; the read-only ExpirationDate is left out. It is sent once:
// throttling is returned to the caller because a resend could create a second invitation.
func (c *SOAPClient) SendUserInvitation(ctx context.Context, inv UserInvitation) (int64, error) {
	return soapCall(ctx, c, "SendUserInvitation", false, func(req *etree.Element) {
		e := req.CreateElement("UserInvitation")
		e.CreateAttr("xmlns:a", nsEntities)
		setLong(e, "a:Id", inv.ID)
		setString(e, "a:FirstName", inv.FirstName)
		setString(e, "a:LastName", inv.LastName)
		setString(e, "a:Email", inv.Email)
		setLong(e, "a:CustomerId", inv.CustomerID)
		setLong(e, "a:RoleId", int64(inv.RoleID))
		setLongs(e, "a:AccountIds", inv.AccountIDs)
		if inv.Lcid != "" {
			e.CreateElement("a:Lcid").SetText(inv.Lcid)
		}
	}, func(resp *etree.Element) (int64, error) {
		id, err := parseLong(child(resp, nsService, "UserInvitationId"))
		if err != nil {
			return 0, fmt.Errorf("ads: SendUserInvitation: UserInvitationId: %w", errShape)
		}
		return id, nil
	})
}

// SearchUserInvitations calls SearchUserInvitations with the one predicate the service
// supports, CustomerId Equals (NOTES §4.5), and filters by email on the client.
func (c *SOAPClient) SearchUserInvitations(ctx context.Context, customerID int64, email string) ([]UserInvitation, error) {
	return soapCall(ctx, c, "SearchUserInvitations", true, func(req *etree.Element) {
		ps := req.CreateElement("Predicates")
		ps.CreateAttr("xmlns:a", nsEntities)
		p := ps.CreateElement("a:Predicate")
		p.CreateElement("a:Field").SetText("CustomerId")
		p.CreateElement("a:Operator").SetText("Equals")
		p.CreateElement("a:Value").SetText(strconv.FormatInt(customerID, 10))
	}, func(resp *etree.Element) ([]UserInvitation, error) {
		var out []UserInvitation
		for _, ie := range children(child(resp, nsService, "UserInvitations"), nsEntities, "UserInvitation") {
			inv, err := decodeInvitation(ie)
			if err != nil {
				return nil, err
			}
			if email == "" || strings.EqualFold(inv.Email, email) {
				out = append(out, inv)
			}
		}
		return out, nil
	})
}

// UpdateUser calls UpdateUser (NOTES §4.6) with the writable members of u, which replace
// the stored ones (full update; ForwardCompatibilityMap is not sent and so left untouched).
// Empty members are left out, which the service stores as empty.
func (c *SOAPClient) UpdateUser(ctx context.Context, u *User) (time.Time, error) {
	if u == nil || u.ID == 0 {
		return time.Time{}, fmt.Errorf("ads: UpdateUser: the user id is required")
	}
	return soapCall(ctx, c, "UpdateUser", true, func(req *etree.Element) {
		e := req.CreateElement("User")
		e.CreateAttr("xmlns:a", nsEntities)
		encodeUser(e, u)
	}, func(resp *etree.Element) (time.Time, error) {
		return decodeLastModified("UpdateUser", resp)
	})
}

// encodeUser writes the writable User members in WSDL order: ContactInfo, Id, JobTitle,
// Lcid, Name, SecretQuestion, TimeStamp. Read-only members are left out, as in the
// official example.
func encodeUser(e *etree.Element, u *User) {
	ci := e.CreateElement("a:ContactInfo")
	if a := u.Address; a != nil {
		ae := ci.CreateElement("a:Address")
		setString(ae, "a:City", a.City)
		setString(ae, "a:CountryCode", a.CountryCode)
		if a.ID != 0 {
			setLong(ae, "a:Id", a.ID)
		}
		setString(ae, "a:Line1", a.Line1)
		setString(ae, "a:Line2", a.Line2)
		setString(ae, "a:Line3", a.Line3)
		setString(ae, "a:Line4", a.Line4)
		setString(ae, "a:PostalCode", a.PostalCode)
		setString(ae, "a:StateOrProvince", a.StateOrProvince)
		setString(ae, "a:TimeStamp", a.TimeStamp)
		setString(ae, "a:BusinessName", a.BusinessName)
	}
	setBool(ci, "a:ContactByPhone", u.ContactByPhone)
	setBool(ci, "a:ContactByPostalMail", u.ContactByPostalMail)
	setString(ci, "a:Email", u.Email)
	setString(ci, "a:EmailFormat", u.EmailFormat)
	setString(ci, "a:Fax", u.Fax)
	setString(ci, "a:HomePhone", u.HomePhone)
	if u.ContactInfoID != 0 {
		setLong(ci, "a:Id", u.ContactInfoID)
	}
	setString(ci, "a:Mobile", u.Mobile)
	setString(ci, "a:Phone1", u.Phone1)
	setString(ci, "a:Phone2", u.Phone2)
	setLong(e, "a:Id", u.ID)
	setString(e, "a:JobTitle", u.JobTitle)
	setString(e, "a:Lcid", u.Lcid)
	n := e.CreateElement("a:Name")
	setString(n, "a:FirstName", u.FirstName)
	setString(n, "a:LastName", u.LastName)
	setString(n, "a:MiddleInitial", u.MiddleInitial)
	setString(e, "a:SecretQuestion", u.SecretQuestion)
	setString(e, "a:TimeStamp", u.TimeStamp)
}

// UpdateUserRoles calls UpdateUserRoles (NOTES §4.7). All eight members are sent in WSDL
// order (CustomerId, UserId, NewRoleId, NewAccountIds, NewCustomerIds, DeleteRoleId,
// DeleteAccountIds, DeleteCustomerIds), unset ones as i:nil, like the official example.
func (c *SOAPClient) UpdateUserRoles(ctx context.Context, r UserRoleUpdate) (time.Time, error) {
	return soapCall(ctx, c, "UpdateUserRoles", true, func(req *etree.Element) {
		setLong(req, "CustomerId", r.CustomerID)
		setLong(req, "UserId", r.UserID)
		setRoleID(req, "NewRoleId", r.NewRoleID)
		setLongs(req, "NewAccountIds", r.NewAccountIDs)
		setLongs(req, "NewCustomerIds", r.NewCustomerIDs)
		setRoleID(req, "DeleteRoleId", r.DeleteRoleID)
		setLongs(req, "DeleteAccountIds", r.DeleteAccountIDs)
		setLongs(req, "DeleteCustomerIds", r.DeleteCustomerIDs)
	}, func(resp *etree.Element) (time.Time, error) {
		return decodeLastModified("UpdateUserRoles", resp)
	})
}

// DeleteUser calls DeleteUser (NOTES §4.8): UserId, then TimeStamp (i:nil when "", which
// the service answers with TimestampNotMatch; Client.DeleteUser fetches it instead).
func (c *SOAPClient) DeleteUser(ctx context.Context, userID int64, timeStamp string) error {
	_, err := soapCall(ctx, c, "DeleteUser", true, func(req *etree.Element) {
		setLong(req, "UserId", userID)
		if timeStamp == "" {
			setNil(req, "TimeStamp")
		} else {
			req.CreateElement("TimeStamp").SetText(timeStamp)
		}
	}, func(*etree.Element) (struct{}, error) { return struct{}{}, nil })
	return err
}

// GetUserMFAStatus calls GetUserMFAStatus (NOTES §4.10): an empty request.
func (c *SOAPClient) GetUserMFAStatus(ctx context.Context) (bool, error) {
	return soapCall(ctx, c, "GetUserMFAStatus", true, nil, func(resp *etree.Element) (bool, error) {
		b, err := strconv.ParseBool(text(child(resp, nsService, "MFAStatus")))
		if err != nil {
			return false, fmt.Errorf("ads: GetUserMFAStatus: MFAStatus: %w", errShape)
		}
		return b, nil
	})
}

func decodeUser(el *etree.Element) (*User, error) {
	e := func(name string) *etree.Element { return child(el, nsEntities, name) }
	u := &User{
		UserName:       text(e("UserName")),
		JobTitle:       text(e("JobTitle")),
		Lcid:           text(e("Lcid")),
		Status:         text(e("UserLifeCycleStatus")),
		TimeStamp:      text(e("TimeStamp")),
		SecretQuestion: text(e("SecretQuestion")),
	}
	var err error
	if u.ID, err = parseLong(e("Id")); err != nil {
		return nil, fmt.Errorf("ads: User/Id: %w", err)
	}
	u.CustomerID, _ = parseLong(e("CustomerId"))
	u.LastModifiedByUserID, _ = parseLong(e("LastModifiedByUserId"))
	u.LastModifiedTime = parseDateTime(text(e("LastModifiedTime")))
	if n := e("Name"); !isNil(n) {
		u.FirstName = text(child(n, nsEntities, "FirstName"))
		u.LastName = text(child(n, nsEntities, "LastName"))
		u.MiddleInitial = text(child(n, nsEntities, "MiddleInitial"))
	}
	if ci := e("ContactInfo"); !isNil(ci) {
		c := func(name string) *etree.Element { return child(ci, nsEntities, name) }
		u.Email = text(c("Email"))
		u.Phone1 = text(c("Phone1"))
		u.Phone2 = text(c("Phone2"))
		u.Mobile = text(c("Mobile"))
		u.Fax = text(c("Fax"))
		u.HomePhone = text(c("HomePhone"))
		u.EmailFormat = text(c("EmailFormat"))
		u.ContactByPhone = parseBool(c("ContactByPhone"))
		u.ContactByPostalMail = parseBool(c("ContactByPostalMail"))
		u.ContactInfoID, _ = parseLong(c("Id"))
		if ae := c("Address"); !isNil(ae) {
			a := func(name string) string { return text(child(ae, nsEntities, name)) }
			u.Address = &Address{City: a("City"), CountryCode: a("CountryCode"), Line1: a("Line1"), Line2: a("Line2"),
				Line3: a("Line3"), Line4: a("Line4"), PostalCode: a("PostalCode"), StateOrProvince: a("StateOrProvince"),
				TimeStamp: a("TimeStamp"), BusinessName: a("BusinessName")}
			u.Address.ID, _ = parseLong(child(ae, nsEntities, "Id"))
		}
	}
	return u, nil
}

func decodeRole(el *etree.Element) CustomerRole {
	r := CustomerRole{CustomerLinkPermission: text(child(el, nsEntities, "CustomerLinkPermission"))}
	r.RoleID = atoi(text(child(el, nsEntities, "RoleId")))
	r.CustomerID, _ = parseLong(child(el, nsEntities, "CustomerId"))
	r.AccountIDs = longs(child(el, nsEntities, "AccountIds"))
	r.LinkedAccountIDs = longs(child(el, nsEntities, "LinkedAccountIds"))
	return r
}

func decodeInvitation(el *etree.Element) (UserInvitation, error) {
	e := func(name string) *etree.Element { return child(el, nsEntities, name) }
	inv := UserInvitation{FirstName: text(e("FirstName")), LastName: text(e("LastName")), Email: text(e("Email")),
		RoleID: atoi(text(e("RoleId"))), AccountIDs: longs(e("AccountIds")), Lcid: text(e("Lcid")),
		ExpirationDate: parseDateTime(text(e("ExpirationDate")))}
	var err error
	if inv.ID, err = parseLong(e("Id")); err != nil {
		return inv, fmt.Errorf("ads: UserInvitation/Id: %w", errShape)
	}
	inv.CustomerID, _ = parseLong(e("CustomerId"))
	return inv, nil
}

// decodeLastModified reads the LastModifiedTime of an update response.
func decodeLastModified(op string, resp *etree.Element) (time.Time, error) {
	s := text(child(resp, nsService, "LastModifiedTime"))
	t := parseDateTime(s)
	if t.IsZero() && s != "" {
		return t, fmt.Errorf("ads: %s: LastModifiedTime %q: %w", op, s, errShape)
	}
	return t, nil
}

// parseDateTime reads an xs:dateTime. WCF writes it without a zone; the docs say the
// values are UTC (NOTES §3). A zone, if present (REST), is honoured. Unreadable: zero.
func parseDateTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// longs reads an ArrayOflong (<b:long> items in the Serialization/Arrays namespace); nil
// stays nil, which for AccountIds means a customer-level role.
func longs(el *etree.Element) []int64 {
	if isNil(el) {
		return nil
	}
	out := []int64{}
	for _, l := range children(el, nsArrays, "long") {
		if n, err := strconv.ParseInt(text(l), 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func parseLong(el *etree.Element) (int64, error) {
	s := text(el)
	if s == "" {
		return 0, errShape
	}
	return strconv.ParseInt(s, 10, 64)
}

func parseBool(el *etree.Element) *bool {
	b, err := strconv.ParseBool(text(el))
	if err != nil {
		return nil
	}
	return &b
}

// setLong writes a long member.
func setLong(parent *etree.Element, tag string, v int64) {
	parent.CreateElement(tag).SetText(strconv.FormatInt(v, 10))
}

// setNil writes a nil member: <tag i:nil="true"/> (the envelope declares i).
func setNil(parent *etree.Element, tag string) {
	parent.CreateElement(tag).CreateAttr("i:nil", "true")
}

// setString writes a string member, leaving it out when empty (nil on a full update).
func setString(parent *etree.Element, tag, v string) {
	if v != "" {
		parent.CreateElement(tag).SetText(v)
	}
}

func setBool(parent *etree.Element, tag string, v *bool) {
	if v != nil {
		parent.CreateElement(tag).SetText(strconv.FormatBool(*v))
	}
}

// setRoleID writes a nillable int role id: 0 is nil.
func setRoleID(parent *etree.Element, tag string, id int) {
	if id == 0 {
		setNil(parent, tag)
		return
	}
	setLong(parent, tag, int64(id))
}

// setLongs writes an ArrayOflong: nil as i:nil, otherwise <b:long> items with b declared
// on the array element.
func setLongs(parent *etree.Element, tag string, ids []int64) {
	if ids == nil {
		setNil(parent, tag)
		return
	}
	e := parent.CreateElement(tag)
	e.CreateAttr("xmlns:b", nsArrays)
	for _, id := range ids {
		setLong(e, "b:long", id)
	}
}
