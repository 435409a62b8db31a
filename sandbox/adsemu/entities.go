package adsemu

import (
	"strconv"
	"time"

	"github.com/beevik/etree"
)

// SOAP writers of the Entities-namespace data objects. They follow WCF's
// DataContractSerializer exactly as NOTES §3 describes it: members in WSDL sequence order
// (NOTES §5 tables), every null nillable member present with i:nil="true", members marked
// EmitDefaultValue=false omitted when null, dateTime without zone, enums by name.

// entityContainer appends a response member of an Entities type: it declares a: and i: on
// itself, as the real service does (NOTES §3).
func entityContainer(parent *etree.Element, tag string) *etree.Element {
	el := parent.CreateElement(tag)
	el.CreateAttr("xmlns:a", nsEntities)
	el.CreateAttr("xmlns:i", nsXSI)
	return el
}

// writeUser appends <tag> of type ent:User.
func writeUser(parent *etree.Element, tag string, u user) {
	e := entityContainer(parent, tag)
	writeContactInfo(e, u.Contact)
	addText(e, "a:CustomerId", formatLong(u.CustomerID))
	addText(e, "a:Id", formatLong(u.ID))
	optText(e, "a:JobTitle", u.JobTitle)
	addText(e, "a:LastModifiedByUserId", formatLong(u.LastModifiedByUserID))
	addText(e, "a:LastModifiedTime", formatDateTime(u.LastModifiedTime))
	optText(e, "a:Lcid", u.Lcid)
	name := e.CreateElement("a:Name")
	optText(name, "a:FirstName", u.FirstName)
	optText(name, "a:LastName", u.LastName)
	optText(name, "a:MiddleInitial", u.MiddleInitial)
	addNil(e, "a:Password")     // never returned
	addNil(e, "a:SecretAnswer") // never returned
	addText(e, "a:SecretQuestion", secretQuestion(u.SecretQuestion))
	optText(e, "a:UserLifeCycleStatus", u.Status)
	addText(e, "a:TimeStamp", u.TimeStamp.String())
	optText(e, "a:UserName", u.UserName)
	// A null array still declares the prefix of its would-be items (NOTES §3).
	if u.ForwardCompatibilityMap == nil {
		addNil(e, "a:ForwardCompatibilityMap").CreateAttr("xmlns:b", nsGeneric)
	} else {
		m := e.CreateElement("a:ForwardCompatibilityMap")
		m.CreateAttr("xmlns:b", nsGeneric)
		for _, kv := range u.ForwardCompatibilityMap {
			item := m.CreateElement("b:KeyValuePairOfstringstring")
			optText(item, "b:key", kv.Key)
			optText(item, "b:value", kv.Value)
		}
	}
	// AuthenticationToken is EmitDefaultValue=false: omitted, never nil (NOTES §3, §5).
}

// secretQuestion is the non-nillable User/SecretQuestion: real responses send None.
func secretQuestion(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// writeContactInfo appends a:ContactInfo (NOTES §5 member order).
func writeContactInfo(parent *etree.Element, c contactInfo) {
	e := parent.CreateElement("a:ContactInfo")
	if a := c.Address; a == nil {
		addNil(e, "a:Address")
	} else {
		ae := e.CreateElement("a:Address")
		optText(ae, "a:City", a.City)
		optText(ae, "a:CountryCode", a.CountryCode)
		addText(ae, "a:Id", formatLong(a.ID))
		optText(ae, "a:Line1", a.Line1)
		optText(ae, "a:Line2", a.Line2)
		optText(ae, "a:Line3", a.Line3)
		optText(ae, "a:Line4", a.Line4)
		optText(ae, "a:PostalCode", a.PostalCode)
		optText(ae, "a:StateOrProvince", a.StateOrProvince)
		addNil(ae, "a:TimeStamp")
		optText(ae, "a:BusinessName", a.BusinessName)
	}
	optBool(e, "a:ContactByPhone", c.ContactByPhone)
	optBool(e, "a:ContactByPostalMail", c.ContactByPostalMail)
	optText(e, "a:Email", c.Email)
	optText(e, "a:EmailFormat", c.EmailFormat)
	optText(e, "a:Fax", c.Fax)
	optText(e, "a:HomePhone", c.HomePhone)
	addText(e, "a:Id", formatLong(c.ID))
	optText(e, "a:Mobile", c.Mobile)
	optText(e, "a:Phone1", c.Phone1)
	optText(e, "a:Phone2", c.Phone2)
}

// optBool writes a nillable xs:boolean.
func optBool(parent *etree.Element, tag string, b *bool) {
	if b == nil {
		addNil(parent, tag)
		return
	}
	addText(parent, tag, strconv.FormatBool(*b))
}

// writeCustomerRoles appends <CustomerRoles> of type ent:ArrayOfCustomerRole: one item per
// role; AccountIds nil for customer-level roles such as Super Admin (NOTES §4.1).
func writeCustomerRoles(parent *etree.Element, u user) {
	e := entityContainer(parent, "CustomerRoles")
	for _, r := range u.Roles {
		cr := e.CreateElement("a:CustomerRole")
		addText(cr, "a:RoleId", strconv.Itoa(r.RoleID))
		addText(cr, "a:CustomerId", formatLong(u.CustomerID))
		writeLongs(cr, "a:AccountIds", r.AccountIDs)
		writeLongs(cr, "a:LinkedAccountIds", nil)
		addNil(cr, "a:CustomerLinkPermission")
	}
}

// writeLongs appends an arr:ArrayOflong member: nil ids are i:nil="true"; items are
// <b:long> with b declared on the member (NOTES §3).
func writeLongs(parent *etree.Element, tag string, ids []int64) {
	if ids == nil {
		addNil(parent, tag).CreateAttr("xmlns:b", nsArrays)
		return
	}
	el := parent.CreateElement(tag)
	el.CreateAttr("xmlns:b", nsArrays)
	for _, id := range ids {
		addText(el, "b:long", formatLong(id))
	}
}

// writeInvitations appends <UserInvitations> of type ent:ArrayOfUserInvitation (NOTES
// §4.5): Id, ExpirationDate, CustomerId, RoleId and Lcid are non-nillable.
func writeInvitations(parent *etree.Element, invs []invitation) {
	e := entityContainer(parent, "UserInvitations")
	for _, inv := range invs {
		item := e.CreateElement("a:UserInvitation")
		addText(item, "a:Id", formatLong(inv.ID))
		optText(item, "a:FirstName", inv.FirstName)
		optText(item, "a:LastName", inv.LastName)
		optText(item, "a:Email", inv.Email)
		addText(item, "a:CustomerId", formatLong(inv.CustomerID))
		addText(item, "a:RoleId", strconv.Itoa(inv.RoleID))
		writeLongs(item, "a:AccountIds", inv.AccountIDs)
		addText(item, "a:ExpirationDate", formatDateTime(inv.Expires))
		addText(item, "a:Lcid", inv.Lcid)
	}
}

// writeUsersInfo appends <UsersInfo> of type ent:ArrayOfUserInfo (NOTES §4.3).
func writeUsersInfo(parent *etree.Element, infos []userInfo) {
	e := entityContainer(parent, "UsersInfo")
	for _, ui := range infos {
		item := e.CreateElement("a:UserInfo")
		addText(item, "a:Id", formatLong(ui.ID))
		optText(item, "a:UserName", ui.UserName)
	}
}

func formatLong(v int64) string { return strconv.FormatInt(v, 10) }

// formatDateTime writes an xs:dateTime as WCF does for the service's UTC values: no zone
// designator, fractional seconds trimmed of trailing zeros (NOTES §3: 2022-05-31T06:00:52.097).
func formatDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999")
}
