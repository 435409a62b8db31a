package adsemu

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Demo users by role (demo.Demo, ids in user order).
const (
	megan   = "megan.bowen@contoso.example"     // 1600001 Super Admin, signed in
	adele   = "adele.vance@contoso.example"     // 1600002 Standard
	diego   = "diego.siciliani@contoso.example" // 1600003 Campaign Manager on 180500001, 180500002
	pradeep = "pradeep.gupta@contoso.example"   // 1600005 Viewer
	patti   = "patti.fernandez@contoso.example" // 1600007 Standard
	owner   = "agency.owner@contoso.example"    // 1600021 Super Admin
	intern  = "old.intern@contoso.example"      // 1600022 Viewer, Inactive
	lidia   = "lidia.holloway@contoso.example"  // 1600004 Campaign Manager on 180500001
	johanna = "johanna.lorenz@contoso.example"  // 1600006 Campaign Manager on 180500003
	cust    = "251000101"                       // demo.AdsCustomerID
	acct1   = "180500001"
	acct3   = "180500003"
)

var tsPlaceholder = regexp.MustCompile(`TS\((\d+)\)`)

// withTimeStamps replaces TS(<user id>) by that user's current TimeStamp.
func (h *harness) withTimeStamps(tb testing.TB, s string) string {
	return tsPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		id, _ := strconv.ParseInt(tsPlaceholder.FindStringSubmatch(m)[1], 10, 64)
		u, err := h.srv.state.userByID(id)
		if err != nil {
			tb.Fatalf("TS(%d): %v", id, err)
		}
		return u.TimeStamp.String()
	})
}

// A full UpdateUser body for user id (XML members of ent:User in WSDL order, JSON members).
func updateXML(id, first, jobTitle, userName, ts string) string {
	x := `<User><a:ContactInfo><a:Address><a:City>Redmond</a:City><a:CountryCode>US</a:CountryCode><a:Line1>1 Example Way</a:Line1>` +
		`<a:PostalCode>98052</a:PostalCode><a:StateOrProvince>WA</a:StateOrProvince></a:Address><a:ContactByPhone>true</a:ContactByPhone>` +
		`<a:Email>x` + id + `@contoso.example</a:Email><a:EmailFormat>Html</a:EmailFormat><a:Phone1>+1 425 555 0100</a:Phone1></a:ContactInfo><a:Id>` + id + `</a:Id>`
	if jobTitle != "" {
		x += `<a:JobTitle>` + jobTitle + `</a:JobTitle>`
	}
	x += `<a:Lcid>EnglishUK</a:Lcid><a:Name><a:FirstName>` + first + `</a:FirstName><a:LastName>Doe</a:LastName></a:Name>`
	if ts != "" {
		x += `<a:TimeStamp>` + ts + `</a:TimeStamp>`
	}
	if userName != "" {
		x += `<a:UserName>` + userName + `</a:UserName>`
	}
	return x + `</User>`
}

func updateJSON(id, first, jobTitle, userName, ts string) string {
	j := `{"User":{"ContactInfo":{"Address":{"City":"Redmond","CountryCode":"US","Line1":"1 Example Way","PostalCode":"98052","StateOrProvince":"WA"},` +
		`"ContactByPhone":true,"Email":"x` + id + `@contoso.example","EmailFormat":"Html","Phone1":"+1 425 555 0100"},"Id":"` + id + `"`
	if jobTitle != "" {
		j += `,"JobTitle":"` + jobTitle + `"`
	}
	j += `,"Lcid":"EnglishUK","Name":{"FirstName":"` + first + `","LastName":"Doe"},"SecretQuestion":"None"`
	if ts != "" {
		j += `,"TimeStamp":"` + ts + `"`
	}
	if userName != "" {
		j += `,"UserName":"` + userName + `"`
	}
	return j + `}}`
}

func rolesXML(userID, newRole, newAccounts, delRole, delAccounts string) string {
	x := `<CustomerId>` + cust + `</CustomerId><UserId>` + userID + `</UserId>`
	if newRole != "" {
		x += `<NewRoleId>` + newRole + `</NewRoleId>`
	}
	if newAccounts != "" {
		x += `<NewAccountIds><b:long>` + newAccounts + `</b:long></NewAccountIds>`
	}
	if delRole != "" {
		x += `<DeleteRoleId>` + delRole + `</DeleteRoleId>`
	}
	if delAccounts != "" {
		x += `<DeleteAccountIds><b:long>` + delAccounts + `</b:long></DeleteAccountIds>`
	}
	return x
}

func rolesJSON(userID, newRole, newAccounts, delRole, delAccounts string) string {
	j := `{"CustomerId":"` + cust + `","UserId":"` + userID + `"`
	if newRole != "" {
		j += `,"NewRoleId":` + newRole
	}
	if newAccounts != "" {
		j += `,"NewAccountIds":["` + newAccounts + `"]`
	}
	if delRole != "" {
		j += `,"DeleteRoleId":` + delRole
	}
	if delAccounts != "" {
		j += `,"DeleteAccountIds":["` + delAccounts + `"]`
	}
	return j + `,"NewCustomerIds":null,"DeleteCustomerIds":null}`
}

func inviteXML(email, role, accounts string) string {
	x := `<UserInvitation><a:Id>0</a:Id><a:FirstName>John</a:FirstName><a:LastName>Roe</a:LastName><a:Email>` + email + `</a:Email>` +
		`<a:CustomerId>` + cust + `</a:CustomerId><a:RoleId>` + role + `</a:RoleId>`
	if accounts != "" {
		x += `<a:AccountIds><b:long>` + accounts + `</b:long></a:AccountIds>`
	}
	return x + `<a:ExpirationDate>0001-01-01T00:00:00</a:ExpirationDate><a:Lcid>EnglishUS</a:Lcid></UserInvitation>`
}

func inviteJSON(email, role, accounts string) string {
	j := `{"UserInvitation":{"Id":"0","FirstName":"John","LastName":"Roe","Email":"` + email + `","CustomerId":"` + cust + `","RoleId":` + role
	if accounts != "" {
		j += `,"AccountIds":["` + accounts + `"]`
	}
	return j + `,"ExpirationDate":"0001-01-01T00:00:00","Lcid":"EnglishUS"}}`
}

func searchXML(field, op, value string) string {
	return `<Predicates><a:Predicate><a:Field>` + field + `</a:Field><a:Operator>` + op + `</a:Operator><a:Value>` + value + `</a:Value></a:Predicate></Predicates>`
}

func searchJSON(field, op, value string) string {
	return `{"Predicates":[{"Field":"` + field + `","Operator":"` + op + `","Value":"` + value + `"}]}`
}

type opCase struct {
	name      string
	as        string // caller; "" is megan
	op        string
	xml, json string
	detail    string // wanted fault detail; "" for success
	code      string
	check     func(t *testing.T, h *harness, a answer)
}

// Every operation over both bindings: success and each fault, on a fresh emulator each.
func TestOperationsBothBindings(t *testing.T) {
	cases := []opCase{
		// GetUser
		{name: "GetUser by id", op: "GetUser", xml: `<UserId>1600003</UserId>`, json: `{"UserId":"1600003"}`,
			check: func(t *testing.T, h *harness, a answer) {
				wantEq(t, a.str("User", "UserName"), diego)
				roles := a.items("CustomerRoles")
				if len(roles) != 1 || roles[0].str("RoleId") != "16" || roles[0].str("CustomerId") != cust {
					t.Fatalf("roles %v", roles)
				}
				wantSlice(t, roles[0].texts("AccountIds"), []string{"180500001", "180500002"})
				if !roles[0].isNull("LinkedAccountIds") || !roles[0].isNull("CustomerLinkPermission") {
					t.Error("LinkedAccountIds and CustomerLinkPermission must be null")
				}
			}},
		{name: "GetUser self, Super Admin at customer level", op: "GetUser", xml: ``, json: `{"UserId":null}`,
			check: func(t *testing.T, h *harness, a answer) {
				wantEq(t, a.str("User", "Id"), "1600001")
				wantEq(t, a.items("CustomerRoles")[0].str("RoleId"), "41")
				if !a.items("CustomerRoles")[0].isNull("AccountIds") {
					t.Error("Super Admin AccountIds must be null")
				}
			}},
		{name: "GetUser long as JSON number", op: "GetUser", xml: `<UserId>1600002</UserId>`, json: `{"UserId":1600002}`,
			check: func(t *testing.T, h *harness, a answer) { wantEq(t, a.str("User", "UserName"), adele) }},
		{name: "GetUser unknown", op: "GetUser", xml: `<UserId>42</UserId>`, json: `{"UserId":"42"}`, detail: "ApiFault", code: "210"},
		// GetCurrentUser
		{name: "GetCurrentUser", op: "GetCurrentUser", xml: ``, json: `{}`,
			check: func(t *testing.T, h *harness, a answer) {
				wantEq(t, a.str("User", "UserName"), megan)
				if _, ok := a.node("CustomerRoles"); ok {
					t.Error("GetCurrentUser returns no CustomerRoles")
				}
			}},
		{name: "GetCurrentUser empty REST body", op: "GetCurrentUser", xml: ``, json: ``,
			check: func(t *testing.T, h *harness, a answer) { wantEq(t, a.str("User", "Id"), "1600001") }},
		// GetUsersInfo
		{name: "GetUsersInfo Inactive", op: "GetUsersInfo", xml: `<CustomerId>` + cust + `</CustomerId><StatusFilter>Inactive</StatusFilter>`,
			json: `{"CustomerId":"` + cust + `","StatusFilter":"Inactive"}`,
			check: func(t *testing.T, h *harness, a answer) {
				var ids []string
				for _, it := range a.items("UsersInfo") {
					ids = append(ids, it.str("Id"))
				}
				wantSlice(t, ids, []string{"1600012", "1600022"})
			}},
		{name: "GetUsersInfo all", op: "GetUsersInfo", xml: `<CustomerId>` + cust + `</CustomerId>`, json: `{"CustomerId":"` + cust + `","StatusFilter":null}`,
			check: func(t *testing.T, h *harness, a answer) {
				if n := len(a.items("UsersInfo")); n != len(h.tenant.Ads.Users) {
					t.Errorf("%d users", n)
				}
			}},
		{name: "GetUsersInfo missing CustomerId", op: "GetUsersInfo", xml: ``, json: `{}`, detail: "ApiFault", code: "201"},
		{name: "GetUsersInfo other customer", op: "GetUsersInfo", xml: `<CustomerId>789456</CustomerId>`, json: `{"CustomerId":"789456"}`, detail: "ApiFault", code: "1001"},
		{name: "GetUsersInfo bad enum (REST)", op: "GetUsersInfo", xml: `<CustomerId>789456</CustomerId>`, json: `{"CustomerId":"` + cust + `","StatusFilter":"active"}`, detail: "ApiFault", code: "*"},
		// SendUserInvitation
		{name: "SendUserInvitation", op: "SendUserInvitation", xml: inviteXML("john@contoso.example", "16", acct1), json: inviteJSON("john@contoso.example", "16", acct1),
			check: func(t *testing.T, h *harness, a answer) {
				id := a.str("UserInvitationId")
				if n, _ := strconv.ParseInt(id, 10, 64); n <= 7003 {
					t.Fatalf("UserInvitationId %q", id)
				}
			}},
		{name: "SendUserInvitation by Standard", as: adele, op: "SendUserInvitation", xml: inviteXML("john@contoso.example", "100", ""), json: inviteJSON("john@contoso.example", "100", "")},
		{name: "SendUserInvitation Standard cannot invite Super Admin", as: adele, op: "SendUserInvitation", xml: inviteXML("john@contoso.example", "41", ""), json: inviteJSON("john@contoso.example", "41", ""), detail: "ApiFault", code: "1001"},
		{name: "SendUserInvitation by Viewer", as: pradeep, op: "SendUserInvitation", xml: inviteXML("john@contoso.example", "100", ""), json: inviteJSON("john@contoso.example", "100", ""), detail: "ApiFault", code: "1001"},
		{name: "SendUserInvitation by Campaign Manager", as: diego, op: "SendUserInvitation", xml: inviteXML("john@contoso.example", "16", acct1), json: inviteJSON("john@contoso.example", "16", acct1), detail: "ApiFault", code: "1001"},
		{name: "SendUserInvitation null", op: "SendUserInvitation", xml: `<UserInvitation i:nil="true" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>`, json: `{"UserInvitation":null}`, detail: "ApiFault", code: "3086"},
		{name: "SendUserInvitation bad e-mail", op: "SendUserInvitation", xml: inviteXML("john", "16", ""), json: inviteJSON("john", "16", ""), detail: "ApiFault", code: "201"},
		{name: "SendUserInvitation unknown role", op: "SendUserInvitation", xml: inviteXML("j@contoso.example", "7", ""), json: inviteJSON("j@contoso.example", "7", ""), detail: "ApiFault", code: "201"},
		{name: "SendUserInvitation foreign account", op: "SendUserInvitation", xml: inviteXML("j@contoso.example", "16", "999"), json: inviteJSON("j@contoso.example", "16", "999"), detail: "ApiFault", code: "2108"},
		// SearchUserInvitations
		{name: "SearchUserInvitations", op: "SearchUserInvitations", xml: searchXML("CustomerId", "Equals", cust), json: searchJSON("CustomerId", "Equals", cust),
			check: func(t *testing.T, h *harness, a answer) {
				invs := a.items("UserInvitations")
				if len(invs) != 3 || invs[0].str("Id") != "7001" || invs[1].str("Email") != "aiko.tanaka@contoso.example" {
					t.Fatalf("invitations %s", a.raw)
				}
				wantSlice(t, invs[1].texts("AccountIds"), []string{acct1})
				// The demo seeds an age (12 days left), not a date: the expiry follows the clock.
				exp, err := time.Parse("2006-01-02T15:04:05.9999999", invs[1].str("ExpirationDate"))
				if left := time.Until(exp); err != nil || left < 11*24*time.Hour || left > 12*24*time.Hour {
					t.Errorf("ExpirationDate %q: %v left, want about 12 days", invs[1].str("ExpirationDate"), left)
				}
				wantEq(t, invs[1].str("RoleId"), "16")
				if !invs[0].isNull("AccountIds") {
					t.Error("AccountIds of an all-accounts invitation must be null")
				}
			}},
		{name: "SearchUserInvitations no predicate", op: "SearchUserInvitations", xml: ``, json: `{"Predicates":[]}`, detail: "ApiFault", code: "474"},
		{name: "SearchUserInvitations two predicates", op: "SearchUserInvitations",
			xml:  `<Predicates><a:Predicate><a:Field>CustomerId</a:Field><a:Operator>Equals</a:Operator><a:Value>` + cust + `</a:Value></a:Predicate><a:Predicate><a:Field>CustomerId</a:Field><a:Operator>Equals</a:Operator><a:Value>` + cust + `</a:Value></a:Predicate></Predicates>`,
			json: `{"Predicates":[{"Field":"CustomerId","Operator":"Equals","Value":"` + cust + `"},{"Field":"CustomerId","Operator":"Equals","Value":"` + cust + `"}]}`, detail: "ApiFault", code: "3030"},
		{name: "SearchUserInvitations wrong field", op: "SearchUserInvitations", xml: searchXML("Email", "Equals", "x@contoso.example"), json: searchJSON("Email", "Equals", "x@contoso.example"), detail: "ApiFault", code: "3030"},
		{name: "SearchUserInvitations operator In", op: "SearchUserInvitations", xml: searchXML("CustomerId", "In", cust), json: searchJSON("CustomerId", "In", cust), detail: "ApiFault", code: "3030"},
		{name: "SearchUserInvitations other customer", op: "SearchUserInvitations", xml: searchXML("CustomerId", "Equals", "789456"), json: searchJSON("CustomerId", "Equals", "789456"), detail: "ApiFault", code: "1001"},
		// UpdateUser
		{name: "UpdateUser", op: "UpdateUser", xml: updateXML("1600002", "Adela", "Lead", adele, "TS(1600002)"), json: updateJSON("1600002", "Adela", "Lead", adele, "TS(1600002)"),
			check: func(t *testing.T, h *harness, a answer) {
				u, _ := h.srv.state.userByID(1600002)
				wantEq(t, a.str("LastModifiedTime"), formatDateTime(u.LastModifiedTime))
				if u.FirstName != "Adela" || u.JobTitle != "Lead" || u.Lcid != "EnglishUK" || u.Contact.Address == nil ||
					u.Contact.Address.City != "Redmond" || u.LastModifiedByUserID != 1600001 {
					t.Errorf("row after update %+v", u)
				}
			}},
		{name: "UpdateUser stale TimeStamp", op: "UpdateUser", xml: updateXML("1600002", "A", "", "", "AAAAAKUiw9s="), json: updateJSON("1600002", "A", "", "", "AAAAAKUiw9s="), detail: "ApiFault", code: "209"},
		{name: "UpdateUser missing TimeStamp", op: "UpdateUser", xml: updateXML("1600002", "A", "", "", ""), json: updateJSON("1600002", "A", "", "", ""), detail: "ApiFault", code: "209"},
		{name: "UpdateUser UserName is immutable", op: "UpdateUser", xml: updateXML("1600002", "A", "", "adele@else.example", "TS(1600002)"), json: updateJSON("1600002", "A", "", "adele@else.example", "TS(1600002)"), detail: "ApiFault", code: "201"},
		{name: "UpdateUser same UserName in other case", op: "UpdateUser", xml: updateXML("1600002", "A", "", "Adele.Vance@contoso.example", "TS(1600002)"), json: updateJSON("1600002", "A", "", "Adele.Vance@contoso.example", "TS(1600002)")},
		{name: "UpdateUser unknown", op: "UpdateUser", xml: updateXML("42", "A", "", "", "AAAAAKUiw9s="), json: updateJSON("42", "A", "", "", "AAAAAKUiw9s="), detail: "ApiFault", code: "210"},
		{name: "UpdateUser null", op: "UpdateUser", xml: ``, json: `{"User":null}`, detail: "ApiFault", code: "201"},
		{name: "UpdateUser no name", op: "UpdateUser", xml: updateXML("1600002", "", "", "", "TS(1600002)"), json: updateJSON("1600002", "", "", "", "TS(1600002)"), detail: "ApiFault", code: "201"},
		{name: "UpdateUser by Viewer", as: pradeep, op: "UpdateUser", xml: updateXML("1600005", "P", "", "", "TS(1600005)"), json: updateJSON("1600005", "P", "", "", "TS(1600005)"), detail: "ApiFault", code: "1001"},
		{name: "UpdateUser Standard on Standard", as: adele, op: "UpdateUser", xml: updateXML("1600007", "P", "", "", "TS(1600007)"), json: updateJSON("1600007", "P", "", "", "TS(1600007)")},
		{name: "UpdateUser Standard on Super Admin", as: adele, op: "UpdateUser", xml: updateXML("1600001", "M", "", "", "TS(1600001)"), json: updateJSON("1600001", "M", "", "", "TS(1600001)"), detail: "ApiFault", code: "1001"},
		{name: "UpdateUser Super Admin on Super Admin", op: "UpdateUser", xml: updateXML("1600021", "Q", "", "", "TS(1600021)"), json: updateJSON("1600021", "Q", "", "", "TS(1600021)")},
		{name: "UpdateUser deactivated user", op: "UpdateUser", xml: updateXML("1600022", "I", "", "", "TS(1600022)"), json: updateJSON("1600022", "I", "", "", "TS(1600022)"), detail: "ApiFault", code: "210"},
		{name: "UpdateUser bad TimeStamp encoding (REST)", op: "UpdateUser", xml: updateXML("1600002", "A", "", "", "TS(1600002)"), json: updateJSON("1600002", "A", "", "", "%%%"), detail: "ApiFault", code: "*"},
		// UpdateUserRoles
		{name: "UpdateUserRoles swap accounts", op: "UpdateUserRoles", xml: rolesXML("1600004", "16", acct3, "16", acct1), json: rolesJSON("1600004", "16", acct3, "16", acct1),
			check: func(t *testing.T, h *harness, a answer) {
				u, _ := h.srv.state.userByID(1600004)
				if len(u.Roles) != 1 || u.Roles[0].RoleID != 16 || !slices.Equal(u.Roles[0].AccountIDs, []int64{180500003}) {
					t.Errorf("roles %+v", u.Roles)
				}
				wantEq(t, a.str("LastModifiedTime"), formatDateTime(u.LastModifiedTime))
			}},
		{name: "UpdateUserRoles widen to all accounts", op: "UpdateUserRoles", xml: rolesXML("1600004", "16", "", "16", acct1), json: rolesJSON("1600004", "16", "", "16", acct1),
			check: func(t *testing.T, h *harness, a answer) {
				u, _ := h.srv.state.userByID(1600004)
				if len(u.Roles) != 1 || u.Roles[0].AccountIDs != nil {
					t.Errorf("roles %+v", u.Roles)
				}
			}},
		{name: "UpdateUserRoles Super Admin ignores accounts", op: "UpdateUserRoles", xml: rolesXML("1600002", "41", acct1, "203", ""), json: rolesJSON("1600002", "41", acct1, "203", ""),
			check: func(t *testing.T, h *harness, a answer) {
				u, _ := h.srv.state.userByID(1600002)
				if len(u.Roles) != 1 || u.Roles[0].RoleID != 41 || u.Roles[0].AccountIDs != nil {
					t.Errorf("roles %+v", u.Roles)
				}
			}},
		{name: "UpdateUserRoles Standard demotes Campaign Manager to Viewer", as: adele, op: "UpdateUserRoles", xml: rolesXML("1600003", "100", "", "16", ""), json: rolesJSON("1600003", "100", "", "16", ""),
			check: func(t *testing.T, h *harness, a answer) {
				u, _ := h.srv.state.userByID(1600003)
				if len(u.Roles) != 1 || u.Roles[0].RoleID != 100 {
					t.Errorf("roles %+v", u.Roles)
				}
			}},
		{name: "UpdateUserRoles Standard cannot grant Super Admin", as: adele, op: "UpdateUserRoles", xml: rolesXML("1600003", "41", "", "", ""), json: rolesJSON("1600003", "41", "", "", ""), detail: "ApiFault", code: "1001"},
		{name: "UpdateUserRoles Standard cannot change a Super Admin", as: adele, op: "UpdateUserRoles", xml: rolesXML("1600021", "100", "", "41", ""), json: rolesJSON("1600021", "100", "", "41", ""), detail: "ApiFault", code: "1001"},
		{name: "UpdateUserRoles Standard cannot touch a Super Admin's other role", as: adele, op: "UpdateUserRoles", xml: rolesXML("1600001", "100", "", "", ""), json: rolesJSON("1600001", "100", "", "", ""), detail: "ApiFault", code: "1001"},
		{name: "UpdateUserRoles by Viewer", as: pradeep, op: "UpdateUserRoles", xml: rolesXML("1600003", "100", "", "16", ""), json: rolesJSON("1600003", "100", "", "16", ""), detail: "ApiFault", code: "1001"},
		{name: "UpdateUserRoles unknown role", op: "UpdateUserRoles", xml: rolesXML("1600003", "8", "", "", ""), json: rolesJSON("1600003", "8", "", "", ""), detail: "ApiFault", code: "201"},
		{name: "UpdateUserRoles nothing to do", op: "UpdateUserRoles", xml: rolesXML("1600003", "", "", "", ""), json: rolesJSON("1600003", "", "", "", ""), detail: "ApiFault", code: "201"},
		{name: "UpdateUserRoles foreign account", op: "UpdateUserRoles", xml: rolesXML("1600003", "16", "999", "", ""), json: rolesJSON("1600003", "16", "999", "", ""), detail: "ApiFault", code: "2108"},
		{name: "UpdateUserRoles unknown user", op: "UpdateUserRoles", xml: rolesXML("42", "16", "", "", ""), json: rolesJSON("42", "16", "", "", ""), detail: "ApiFault", code: "210"},
		{name: "UpdateUserRoles last role", op: "UpdateUserRoles", xml: rolesXML("1600005", "", "", "100", ""), json: rolesJSON("1600005", "", "", "100", ""), detail: "ApiFault", code: "201"},
		// DeleteUser
		{name: "DeleteUser", op: "DeleteUser", xml: `<UserId>1600003</UserId><TimeStamp>TS(1600003)</TimeStamp>`, json: `{"UserId":"1600003","TimeStamp":"TS(1600003)"}`,
			check: func(t *testing.T, h *harness, a answer) {
				if a.binding == restBinding && string(a.raw) != `{}` {
					t.Errorf("REST DeleteUser body %s, want {}", a.raw)
				}
				if a.soap != nil && len(a.soap.ChildElements()) != 0 {
					t.Error("DeleteUserResponse must be empty")
				}
				u, _ := h.srv.state.userByID(1600003)
				if u.Status != "Inactive" || u.LastModifiedByUserID != 1600001 {
					t.Errorf("row after delete %+v", u)
				}
			}},
		{name: "DeleteUser stale TimeStamp", op: "DeleteUser", xml: `<UserId>1600003</UserId><TimeStamp>AAAAAKUiw9s=</TimeStamp>`, json: `{"UserId":"1600003","TimeStamp":"AAAAAKUiw9s="}`, detail: "ApiFault", code: "209"},
		{name: "DeleteUser missing TimeStamp", op: "DeleteUser", xml: `<UserId>1600003</UserId>`, json: `{"UserId":"1600003"}`, detail: "ApiFault", code: "209"},
		{name: "DeleteUser nil TimeStamp", op: "DeleteUser", xml: `<UserId>1600003</UserId><TimeStamp i:nil="true" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>`, json: `{"UserId":"1600003","TimeStamp":null}`, detail: "ApiFault", code: "209"},
		{name: "DeleteUser by Standard", as: adele, op: "DeleteUser", xml: `<UserId>1600005</UserId><TimeStamp>TS(1600005)</TimeStamp>`, json: `{"UserId":"1600005","TimeStamp":"TS(1600005)"}`, detail: "ApiFault", code: "1001"},
		{name: "DeleteUser unknown", op: "DeleteUser", xml: `<UserId>42</UserId><TimeStamp>AAAAAKUiw9s=</TimeStamp>`, json: `{"UserId":"42","TimeStamp":"AAAAAKUiw9s="}`, detail: "ApiFault", code: "210"},
		{name: "DeleteUser already deactivated", op: "DeleteUser", xml: `<UserId>1600022</UserId><TimeStamp>TS(1600022)</TimeStamp>`, json: `{"UserId":"1600022","TimeStamp":"TS(1600022)"}`, detail: "ApiFault", code: "210"},
		// GetCustomerPilotFeatures
		{name: "GetCustomerPilotFeatures", op: "GetCustomerPilotFeatures", xml: `<CustomerId>` + cust + `</CustomerId>`, json: `{"CustomerId":"` + cust + `"}`,
			check: func(t *testing.T, h *harness, a answer) {
				wantSlice(t, a.texts("FeaturePilotFlags"), []string{"78", "268", "567", "793"})
			}},
		{name: "GetCustomerPilotFeatures other customer", op: "GetCustomerPilotFeatures", xml: `<CustomerId>789456</CustomerId>`, json: `{"CustomerId":"789456"}`, detail: "ApiFault", code: "1001"},
		{name: "GetCustomerPilotFeatures missing", op: "GetCustomerPilotFeatures", xml: ``, json: `{}`, detail: "ApiFault", code: "201"},
		// GetUserMFAStatus
		{name: "GetUserMFAStatus", op: "GetUserMFAStatus", xml: ``, json: `{}`,
			check: func(t *testing.T, h *harness, a answer) { wantEq(t, a.str("MFAStatus"), "true") }},
		// GetAccountsInfo
		{name: "GetAccountsInfo", op: "GetAccountsInfo", xml: `<CustomerId>` + cust + `</CustomerId><OnlyParentAccounts>false</OnlyParentAccounts>`, json: `{"CustomerId":"` + cust + `","OnlyParentAccounts":false}`,
			check: func(t *testing.T, h *harness, a answer) {
				infos := a.items("AccountsInfo")
				if len(infos) != 4 || infos[3].str("AccountLifeCycleStatus") != "Pause" || infos[0].str("Number") != "F1200A01" || !infos[0].isNull("PauseReason") {
					t.Fatalf("accounts %s", a.raw)
				}
			}},
		{name: "GetAccountsInfo nil customer, restricted user", as: johanna, op: "GetAccountsInfo", xml: ``, json: `{"CustomerId":null}`,
			check: func(t *testing.T, h *harness, a answer) {
				infos := a.items("AccountsInfo")
				if len(infos) != 1 || infos[0].str("Id") != acct3 {
					t.Fatalf("accounts %s", a.raw)
				}
			}},
		{name: "GetAccountsInfo other customer", op: "GetAccountsInfo", xml: `<CustomerId>789456</CustomerId>`, json: `{"CustomerId":"789456"}`, detail: "ApiFault", code: "1001"},
		// GetCustomersInfo
		{name: "GetCustomersInfo", op: "GetCustomersInfo", xml: `<CustomerNameFilter>contoso</CustomerNameFilter><TopN>10</TopN>`, json: `{"CustomerNameFilter":"contoso","TopN":10}`,
			check: func(t *testing.T, h *harness, a answer) {
				infos := a.items("CustomersInfo")
				if len(infos) != 1 || infos[0].str("Id") != cust || infos[0].str("Name") != "Contoso Marketing" {
					t.Fatalf("customers %s", a.raw)
				}
			}},
		{name: "GetCustomersInfo no match", op: "GetCustomersInfo", xml: `<CustomerNameFilter>Fabrikam</CustomerNameFilter><TopN>10</TopN>`, json: `{"CustomerNameFilter":"Fabrikam","TopN":10}`,
			check: func(t *testing.T, h *harness, a answer) {
				if n := len(a.items("CustomersInfo")); n != 0 {
					t.Fatalf("%d customers", n)
				}
			}},
		{name: "GetCustomersInfo TopN 0", op: "GetCustomersInfo", xml: `<CustomerNameFilter/><TopN>0</TopN>`, json: `{"CustomerNameFilter":"","TopN":0}`, detail: "ApiFault", code: "201"},
	}
	for _, tc := range cases {
		for _, b := range bindings {
			t.Run(string(b)+"/"+tc.name, func(t *testing.T) {
				if tc.code == "*" && b == soapBinding {
					t.Skip("REST-only decoding case")
				}
				h := newHarness(t)
				as := tc.as
				if as == "" {
					as = megan
				}
				a := h.call(t, b, h.mint(as, time.Hour), tc.op, h.withTimeStamps(t, tc.xml), h.withTimeStamps(t, tc.json))
				if tc.detail == "" {
					a.ok(t)
				} else if tc.code == "*" {
					if a.detail != tc.detail || a.status != http.StatusBadRequest {
						t.Fatalf("HTTP %d %s %s: %s", a.status, a.detail, a.code, a.raw)
					}
				} else {
					a.fault(t, tc.detail, tc.code)
				}
				if tc.check != nil {
					tc.check(t, h, a)
				}
				if got := h.srv.Calls(tc.op); got != 1 {
					t.Errorf("Calls(%s) = %d, want 1", tc.op, got)
				}
			})
		}
	}
}

// Credential faults are the same in both bindings (REST: HTTP 401).
func TestAuthFaultsBothBindings(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, tok, code string
	}{
		{"missing token", "", "116"},
		{"bad token", "x.y.z", "105"},
		{"expired token", h.mint(megan, -time.Minute), "109"},
		{"deactivated user", h.mint(intern, time.Hour), "105"},
	}
	for _, tc := range cases {
		for _, b := range bindings {
			t.Run(string(b)+"/"+tc.name, func(t *testing.T) {
				a := h.call(t, b, tc.tok, "GetUserMFAStatus", ``, `{}`)
				a.fault(t, "AdApiFaultDetail", tc.code)
				if b == restBinding && a.status != http.StatusUnauthorized {
					t.Errorf("HTTP %d, want 401", a.status)
				}
			})
		}
	}
}

// TimeStamp concurrency (NOTES §12.6): each successful write changes TimeStamp,
// LastModifiedTime and LastModifiedByUserId; the old time stamp then fails with 209.
func TestTimeStampLifecycle(t *testing.T) {
	for _, b := range bindings {
		t.Run(string(b), func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 3, 1, 9, 30, 0, 123_000_000, time.UTC)}
			h := newClockHarness(t, clock)
			tok := h.mint(megan, time.Hour)
			get := func() answer {
				return h.call(t, b, tok, "GetUser", `<UserId>1600007</UserId>`, `{"UserId":"1600007"}`).ok(t)
			}
			before := get()
			ts1 := before.str("User", "TimeStamp")
			clock.Add(time.Minute)
			upd := h.call(t, b, tok, "UpdateUser", updateXML("1600007", "Pat", "", "", ts1), updateJSON("1600007", "Pat", "", "", ts1)).ok(t)
			wantEq(t, upd.str("LastModifiedTime"), "2026-03-01T09:31:00.123")
			after := get()
			ts2 := after.str("User", "TimeStamp")
			if ts2 == ts1 || len(ts2) != 12 {
				t.Fatalf("TimeStamp %q after %q", ts2, ts1)
			}
			wantEq(t, after.str("User", "LastModifiedTime"), "2026-03-01T09:31:00.123")
			wantEq(t, after.str("User", "LastModifiedByUserId"), "1600001")
			wantEq(t, after.str("User", "Name", "FirstName"), "Pat")
			// Full replace: JobTitle was not sent and is now nil; UserName untouched.
			if !after.isNull("User", "JobTitle") {
				t.Errorf("JobTitle %q, want nil after a full update without it", after.str("User", "JobTitle"))
			}
			wantEq(t, after.str("User", "UserName"), patti)
			// The first time stamp is stale now, for both writes.
			h.call(t, b, tok, "UpdateUser", updateXML("1600007", "P", "", "", ts1), updateJSON("1600007", "P", "", "", ts1)).fault(t, "ApiFault", "209")
			h.call(t, b, tok, "DeleteUser", `<UserId>1600007</UserId><TimeStamp>`+ts1+`</TimeStamp>`, `{"UserId":"1600007","TimeStamp":"`+ts1+`"}`).fault(t, "ApiFault", "209")
			// UpdateUserRoles has no time stamp but changes it.
			h.call(t, b, tok, "UpdateUserRoles", rolesXML("1600007", "100", "", "203", ""), rolesJSON("1600007", "100", "", "203", "")).ok(t)
			ts3 := get().str("User", "TimeStamp")
			if ts3 == ts2 {
				t.Fatal("UpdateUserRoles did not change the TimeStamp")
			}
			h.call(t, b, tok, "DeleteUser", `<UserId>1600007</UserId><TimeStamp>`+ts2+`</TimeStamp>`, `{"UserId":"1600007","TimeStamp":"`+ts2+`"}`).fault(t, "ApiFault", "209")
			h.call(t, b, tok, "DeleteUser", `<UserId>1600007</UserId><TimeStamp>`+ts3+`</TimeStamp>`, `{"UserId":"1600007","TimeStamp":"`+ts3+`"}`).ok(t)
			// Deleted: no longer Active, listed as Inactive, cannot sign in.
			gone := get()
			wantEq(t, gone.str("User", "UserLifeCycleStatus"), "Inactive")
			inactive := h.call(t, b, tok, "GetUsersInfo", `<CustomerId>`+cust+`</CustomerId><StatusFilter>Inactive</StatusFilter>`, `{"CustomerId":"`+cust+`","StatusFilter":"Inactive"}`).ok(t)
			if !slices.Contains(ids(inactive), "1600007") {
				t.Error("deleted user not listed as Inactive")
			}
			active := h.call(t, b, tok, "GetUsersInfo", `<CustomerId>`+cust+`</CustomerId><StatusFilter>Active</StatusFilter>`, `{"CustomerId":"`+cust+`","StatusFilter":"Active"}`).ok(t)
			if slices.Contains(ids(active), "1600007") {
				t.Error("deleted user still Active")
			}
			h.call(t, b, h.mint(patti, time.Hour), "GetUserMFAStatus", ``, `{}`).fault(t, "AdApiFaultDetail", "105")
		})
	}
}

// ForwardCompatibilityMap is left untouched when UpdateUser does not send it (NOTES §3).
func TestUpdateUserForwardCompatibilityMap(t *testing.T) {
	for _, b := range bindings {
		t.Run(string(b), func(t *testing.T) {
			h := newHarness(t)
			tok := h.mint(megan, time.Hour)
			xml := updateXML("1600002", "A", "", "", "TS(1600002)")
			xml = xml[:len(xml)-len(`</User>`)] + `<a:ForwardCompatibilityMap xmlns:c="http://schemas.datacontract.org/2004/07/System.Collections.Generic"><c:KeyValuePairOfstringstring><c:key>k</c:key><c:value>v</c:value></c:KeyValuePairOfstringstring></a:ForwardCompatibilityMap></User>`
			js := updateJSON("1600002", "A", "", "", "TS(1600002)")
			js = js[:len(js)-2] + `,"ForwardCompatibilityMap":[{"key":"k","Value":"v"}]}}`
			h.call(t, b, tok, "UpdateUser", h.withTimeStamps(t, xml), h.withTimeStamps(t, js)).ok(t)
			h.call(t, b, tok, "UpdateUser", h.withTimeStamps(t, updateXML("1600002", "B", "", "", "TS(1600002)")), h.withTimeStamps(t, updateJSON("1600002", "B", "", "", "TS(1600002)"))).ok(t)
			u, _ := h.srv.state.userByID(1600002)
			if !slices.Equal(u.ForwardCompatibilityMap, []keyValue{{"k", "v"}}) || u.FirstName != "B" {
				t.Fatalf("row %+v", u)
			}
			a := h.call(t, b, tok, "GetUser", `<UserId>1600002</UserId>`, `{"UserId":"1600002"}`).ok(t)
			items := a.items("User", "ForwardCompatibilityMap")
			if len(items) != 1 {
				t.Fatalf("ForwardCompatibilityMap %s", a.raw)
			}
		})
	}
}

// Invitation lifecycle: send → search → accept → Active in GetUsersInfo → gone from search.
func TestInvitationLifecycle(t *testing.T) {
	for _, b := range bindings {
		t.Run(string(b), func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
			h := newClockHarness(t, clock)
			tok := h.mint(megan, time.Hour)
			send := func() string {
				a := h.call(t, b, tok, "SendUserInvitation", inviteXML("new.hire@contoso.example", "16", acct1), inviteJSON("new.hire@contoso.example", "16", acct1)).ok(t)
				return a.str("UserInvitationId")
			}
			first, dup := send(), send() // duplicates are allowed (NOTES §4.4)
			if first == dup {
				t.Fatalf("duplicate invitation reused id %s", first)
			}
			search := func() map[string]answer {
				a := h.call(t, b, tok, "SearchUserInvitations", searchXML("CustomerId", "Equals", cust), searchJSON("CustomerId", "Equals", cust)).ok(t)
				out := map[string]answer{}
				for _, it := range a.items("UserInvitations") {
					out[it.str("Id")] = it
				}
				return out
			}
			found := search()
			inv, ok := found[first]
			if !ok || len(found) != 5 {
				t.Fatalf("search after send: %v", found)
			}
			wantEq(t, inv.str("ExpirationDate"), "2026-12-20T12:00:00")
			wantEq(t, inv.str("Email"), "new.hire@contoso.example")
			id, _ := strconv.ParseInt(first, 10, 64)
			uid, err := h.srv.AcceptInvitation(id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.srv.AcceptInvitation(id); err != ErrInvitationNotFound {
				t.Errorf("second accept: %v", err)
			}
			active := h.call(t, b, tok, "GetUsersInfo", `<CustomerId>`+cust+`</CustomerId><StatusFilter>Active</StatusFilter>`, `{"CustomerId":"`+cust+`","StatusFilter":"Active"}`).ok(t)
			if !slices.Contains(ids(active), strconv.FormatInt(uid, 10)) {
				t.Fatalf("accepted user %d not Active", uid)
			}
			u := h.call(t, b, tok, "GetUser", fmt.Sprintf(`<UserId>%d</UserId>`, uid), fmt.Sprintf(`{"UserId":"%d"}`, uid)).ok(t)
			wantEq(t, u.str("User", "UserName"), "new.hire@contoso.example")
			wantEq(t, u.items("CustomerRoles")[0].str("RoleId"), "16")
			wantSlice(t, u.items("CustomerRoles")[0].texts("AccountIds"), []string{acct1})
			found = search()
			if _, ok := found[first]; ok || len(found) != 4 {
				t.Fatalf("accepted invitation still listed: %v", found)
			}
			if _, ok := found[dup]; !ok {
				t.Fatal("the duplicate must stay pending")
			}
			// The new user can sign in and act.
			h.call(t, b, h.mint("new.hire@contoso.example", time.Hour), "GetCurrentUser", ``, `{}`).ok(t)
			if got := h.srv.Calls("SendUserInvitation"); got != 2 {
				t.Errorf("Calls(SendUserInvitation) = %d", got)
			}
		})
	}
}

// Invitations expire after 30 days of the injected clock: still listed, no longer acceptable.
func TestInvitationExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)}
	h := newClockHarness(t, clock)
	tok := h.mint(megan, time.Hour)
	a := h.call(t, restBinding, tok, "SendUserInvitation", "", inviteJSON("late@contoso.example", "100", "")).ok(t)
	id, _ := strconv.ParseInt(a.str("UserInvitationId"), 10, 64)
	b := h.call(t, restBinding, tok, "SendUserInvitation", "", inviteJSON("later@contoso.example", "100", "")).ok(t)
	id2, _ := strconv.ParseInt(b.str("UserInvitationId"), 10, 64)

	clock.Add(30*24*time.Hour - time.Second)
	if err := h.srv.ExpireInvitation(id2); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.AcceptInvitation(id2); err != ErrInvitationExpired {
		t.Fatalf("accept after ExpireInvitation: %v", err)
	}
	clock.Add(time.Second)
	if _, err := h.srv.AcceptInvitation(id); err != ErrInvitationExpired {
		t.Fatalf("accept after 30 days: %v", err)
	}
	s := h.call(t, soapBinding, tok, "SearchUserInvitations", searchXML("CustomerId", "Equals", cust), "").ok(t)
	var listed []string
	for _, it := range s.items("UserInvitations") {
		listed = append(listed, it.str("Id"))
		if it.str("Id") == strconv.FormatInt(id, 10) {
			wantEq(t, it.str("ExpirationDate"), "2026-02-09T08:00:00")
		}
	}
	if !slices.Contains(listed, strconv.FormatInt(id, 10)) || !slices.Contains(listed, strconv.FormatInt(id2, 10)) {
		t.Errorf("expired invitations must still be listed: %v", listed)
	}
	if err := h.srv.ExpireInvitation(999); err != ErrInvitationNotFound {
		t.Errorf("ExpireInvitation(999): %v", err)
	}
	if _, err := h.srv.AcceptInvitation(999); err != ErrInvitationNotFound {
		t.Errorf("AcceptInvitation(999): %v", err)
	}
}

// Re-inviting a deleted user and accepting reactivates the same user with the new role.
func TestAcceptReactivates(t *testing.T) {
	h := newHarness(t)
	tok := h.mint(megan, time.Hour)
	h.call(t, soapBinding, tok, "DeleteUser", `<UserId>1600005</UserId><TimeStamp>`+h.withTimeStamps(t, "TS(1600005)")+`</TimeStamp>`, "").ok(t)
	a := h.call(t, soapBinding, tok, "SendUserInvitation", inviteXML(pradeep, "203", ""), "").ok(t)
	id, _ := strconv.ParseInt(a.str("UserInvitationId"), 10, 64)
	uid, err := h.srv.AcceptInvitation(id)
	if err != nil || uid != 1600005 {
		t.Fatalf("AcceptInvitation = %d, %v", uid, err)
	}
	u, _ := h.srv.state.userByID(uid)
	if u.Status != "Active" || len(u.Roles) != 1 || u.Roles[0].RoleID != 203 {
		t.Fatalf("row %+v", u)
	}
}

// Concurrent writers with the same time stamp: exactly one wins, the rest get 209.
func TestConcurrentUpdates(t *testing.T) {
	h := newHarness(t)
	tok := h.mint(megan, time.Hour)
	ts := h.withTimeStamps(t, "TS(1600002)")
	const n = 8
	results := make(chan string, n)
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				b := bindings[i%2]
				a := h.call(t, b, tok, "UpdateUser", updateXML("1600002", "N"+strconv.Itoa(i), "", "", ts), updateJSON("1600002", "N"+strconv.Itoa(i), "", "", ts))
				results <- a.code
				h.call(t, b, tok, "GetUsersInfo", `<CustomerId>`+cust+`</CustomerId>`, `{"CustomerId":"`+cust+`"}`).ok(t)
			})
		}
	})
	close(results)
	wins, stale := 0, 0
	for code := range results {
		switch code {
		case "":
			wins++
		case "209":
			stale++
		}
	}
	if wins != 1 || stale != n-1 {
		t.Fatalf("%d wins, %d stale", wins, stale)
	}
	if got := h.srv.Calls("UpdateUser"); got != n {
		t.Errorf("Calls(UpdateUser) = %d", got)
	}
}

func ids(a answer) []string {
	var out []string
	for _, it := range a.items("UsersInfo") {
		out = append(out, it.str("Id"))
	}
	return out
}

func wantEq(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func wantSlice(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
