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
	writeContactInfo(e, u)
	addText(e, "a:CustomerId", formatLong(u.CustomerID))
	addText(e, "a:Id", formatLong(u.ID))
	optText(e, "a:JobTitle", u.JobTitle)
	addText(e, "a:LastModifiedByUserId", formatLong(u.LastModifiedByUserID))
	addText(e, "a:LastModifiedTime", formatDateTime(u.LastModifiedTime))
	optText(e, "a:Lcid", u.Lcid)
	name := e.CreateElement("a:Name")
	optText(name, "a:FirstName", u.FirstName)
	optText(name, "a:LastName", u.LastName)
	addNil(name, "a:MiddleInitial")
	addNil(e, "a:Password")     // never returned
	addNil(e, "a:SecretAnswer") // never returned
	addText(e, "a:SecretQuestion", "None")
	optText(e, "a:UserLifeCycleStatus", u.Status)
	addText(e, "a:TimeStamp", u.TimeStamp.String())
	optText(e, "a:UserName", u.UserName)
	// A null array still declares the prefix of its would-be items (NOTES §3).
	addNil(e, "a:ForwardCompatibilityMap").CreateAttr("xmlns:b", nsGeneric)
	// AuthenticationToken is EmitDefaultValue=false: omitted, never nil (NOTES §3, §5).
}

// writeContactInfo appends a:ContactInfo. The emulator holds no postal address, so
// Address is nil; e-mail and phone come from the user row.
func writeContactInfo(parent *etree.Element, u user) {
	c := parent.CreateElement("a:ContactInfo")
	addNil(c, "a:Address")
	addText(c, "a:ContactByPhone", "false")
	addText(c, "a:ContactByPostalMail", "false")
	optText(c, "a:Email", u.Email)
	addNil(c, "a:EmailFormat")
	addNil(c, "a:Fax")
	addNil(c, "a:HomePhone")
	addText(c, "a:Id", formatLong(u.ContactID))
	addNil(c, "a:Mobile")
	optText(c, "a:Phone1", u.Phone)
	addNil(c, "a:Phone2")
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
