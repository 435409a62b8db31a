package ads

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/beevik/etree"
)

// GetUsersInfo calls GetUsersInfo (NOTES §4.3): CustomerId, then the optional StatusFilter,
// in WSDL order. There is no paging: the whole list comes in one response.
func (c *SOAPClient) GetUsersInfo(ctx context.Context, customerID int64, status string) ([]UserInfo, error) {
	resp, err := c.call(ctx, "GetUsersInfo", func(req *etree.Element) {
		req.CreateElement("CustomerId").SetText(strconv.FormatInt(customerID, 10))
		if status != "" {
			req.CreateElement("StatusFilter").SetText(status)
		}
	})
	if err != nil {
		return nil, err
	}
	var out []UserInfo
	for _, ui := range children(child(resp, nsService, "UsersInfo"), nsEntities, "UserInfo") {
		id, err := strconv.ParseInt(text(child(ui, nsEntities, "Id")), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("ads: GetUsersInfo: UserInfo/Id: %w", errShape)
		}
		out = append(out, UserInfo{ID: id, UserName: text(child(ui, nsEntities, "UserName"))})
	}
	return out, nil
}

// GetUser calls GetUser (NOTES §4.1). userID 0 sends a nil UserId, which the service reads
// as "the authenticated user".
func (c *SOAPClient) GetUser(ctx context.Context, userID int64) (*User, []CustomerRole, error) {
	resp, err := c.call(ctx, "GetUser", func(req *etree.Element) {
		id := req.CreateElement("UserId")
		if userID == 0 {
			id.CreateAttr("i:nil", "true")
		} else {
			id.SetText(strconv.FormatInt(userID, 10))
		}
	})
	if err != nil {
		return nil, nil, err
	}
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

func decodeUser(el *etree.Element) (*User, error) {
	e := func(name string) *etree.Element { return child(el, nsEntities, name) }
	u := &User{
		UserName:  text(e("UserName")),
		JobTitle:  text(e("JobTitle")),
		Lcid:      text(e("Lcid")),
		Status:    text(e("UserLifeCycleStatus")),
		TimeStamp: text(e("TimeStamp")),
	}
	var err error
	if u.ID, err = parseLong(e("Id")); err != nil {
		return nil, fmt.Errorf("ads: User/Id: %w", err)
	}
	u.CustomerID, _ = parseLong(e("CustomerId"))
	u.LastModifiedByUserID, _ = parseLong(e("LastModifiedByUserId"))
	if t := text(e("LastModifiedTime")); t != "" {
		// WCF writes xs:dateTime without a zone; the docs say the values are UTC (NOTES §3).
		if lm, err := time.Parse("2006-01-02T15:04:05.999999999", t); err == nil {
			u.LastModifiedTime = lm.UTC()
		} else if lm, err := time.Parse(time.RFC3339Nano, t); err == nil {
			u.LastModifiedTime = lm.UTC()
		}
	}
	if n := e("Name"); !isNil(n) {
		u.FirstName = text(child(n, nsEntities, "FirstName"))
		u.LastName = text(child(n, nsEntities, "LastName"))
		u.MiddleInitial = text(child(n, nsEntities, "MiddleInitial"))
	}
	if ci := e("ContactInfo"); !isNil(ci) {
		u.Email = text(child(ci, nsEntities, "Email"))
		u.Phone1 = text(child(ci, nsEntities, "Phone1"))
		u.Mobile = text(child(ci, nsEntities, "Mobile"))
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
