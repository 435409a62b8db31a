package adsemu

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

const dev = demo.AdsDevToken

func TestOperations(t *testing.T) {
	h := newHarness(t)
	megan := h.adsUser(t, demo.AdsSignedInUPN)
	adele := h.adsUser(t, "adele.vance@contoso.example")
	diego := h.adsUser(t, "diego.siciliani@contoso.example")
	countStatus := func(status string) int {
		n := 0
		for _, u := range h.tenant.Ads.Users {
			if status == "" || u.Status == status {
				n++
			}
		}
		return n
	}
	type want struct {
		userID      int64 // User/Id; 0: no User expected
		roles       int   // CustomerRoles items; -1: no CustomerRoles element
		roleID      string
		accountIDs  []string // nil: AccountIds must be i:nil
		usersInfo   int      // UsersInfo items; -1: no UsersInfo element
		firstInfoID int64
	}
	cases := []struct {
		name, op, body string
		want           want
	}{
		{"GetUser by id", "GetUser",
			fmt.Sprintf(`<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>%d</UserId></GetUserRequest>`, adele.ID),
			want{userID: adele.ID, roles: 1, roleID: "203", usersInfo: -1}},
		{"GetUser nil UserId is the signed-in user", "GetUser",
			`<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId i:nil="true"/></GetUserRequest>`,
			want{userID: megan.ID, roles: 1, roleID: "41", usersInfo: -1}},
		{"GetUser absent UserId is the signed-in user", "GetUser",
			`<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`,
			want{userID: megan.ID, roles: 1, roleID: "41", usersInfo: -1}},
		{"GetUser empty UserId is the signed-in user", "GetUser",
			`<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId/></GetUserRequest>`,
			want{userID: megan.ID, roles: 1, roleID: "41", usersInfo: -1}},
		{"GetUser account-level role lists AccountIds", "GetUser",
			fmt.Sprintf(`<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId> %d </UserId></GetUserRequest>`, diego.ID),
			want{userID: diego.ID, roles: 1, roleID: "16", accountIDs: []string{"180500001", "180500002"}, usersInfo: -1}},
		{"GetCurrentUser", "GetCurrentUser",
			`<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`,
			want{userID: megan.ID, roles: -1, usersInfo: -1}},
		{"GetUsersInfo without filter", "GetUsersInfo",
			fmt.Sprintf(`<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>%d</CustomerId></GetUsersInfoRequest>`, demo.AdsCustomerID),
			want{roles: -1, usersInfo: countStatus(""), firstInfoID: 1_600_001}},
		{"GetUsersInfo nil StatusFilter", "GetUsersInfo",
			fmt.Sprintf(`<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>%d</CustomerId><StatusFilter i:nil="true"/></GetUsersInfoRequest>`, demo.AdsCustomerID),
			want{roles: -1, usersInfo: countStatus(""), firstInfoID: 1_600_001}},
		{"GetUsersInfo StatusFilter Active", "GetUsersInfo",
			fmt.Sprintf(`<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>%d</CustomerId><StatusFilter>Active</StatusFilter></GetUsersInfoRequest>`, demo.AdsCustomerID),
			want{roles: -1, usersInfo: countStatus("Active"), firstInfoID: 1_600_001}},
		{"GetUsersInfo StatusFilter Inactive", "GetUsersInfo",
			fmt.Sprintf(`<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>%d</CustomerId><StatusFilter>Inactive</StatusFilter></GetUsersInfoRequest>`, demo.AdsCustomerID),
			want{roles: -1, usersInfo: countStatus("Inactive")}},
		{"GetUsersInfo StatusFilter Deleted matches none", "GetUsersInfo",
			fmt.Sprintf(`<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>%d</CustomerId><StatusFilter>Deleted</StatusFilter></GetUsersInfoRequest>`, demo.AdsCustomerID),
			want{roles: -1, usersInfo: 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post(t, `"`+tc.op+`"`, env(creds(h.tok, dev), tc.body))
			if r.status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			tid := path(r.doc.Root(), "Header", "TrackingId")
			if tid == nil || tid.Text() != r.header.Get("TrackingId") || len(tid.Text()) != 36 {
				t.Errorf("TrackingId header element %v does not match HTTP header %q", tid, r.header.Get("TrackingId"))
			}
			resp := r.bodyChild(t)
			if resp.Tag != tc.op+"Response" || resp.NamespaceURI() != nsService {
				t.Fatalf("body child {%s}%s", resp.NamespaceURI(), resp.Tag)
			}
			if u := path(resp, "User"); (u != nil) != (tc.want.userID != 0) {
				t.Fatalf("User present = %v, want %v", u != nil, tc.want.userID != 0)
			} else if u != nil {
				if got := path(u, "Id").Text(); got != strconv.FormatInt(tc.want.userID, 10) {
					t.Errorf("User/Id = %s, want %d", got, tc.want.userID)
				}
				if path(u, "AuthenticationToken") != nil {
					t.Error("User/AuthenticationToken must be omitted (EmitDefaultValue=false)")
				}
			}
			roles := path(resp, "CustomerRoles")
			switch {
			case tc.want.roles < 0 && roles != nil:
				t.Error("unexpected CustomerRoles")
			case tc.want.roles >= 0:
				items := roles.SelectElements("CustomerRole")
				if len(items) != tc.want.roles {
					t.Fatalf("%d CustomerRole items, want %d", len(items), tc.want.roles)
				}
				cr := items[0]
				if got := path(cr, "RoleId").Text(); got != tc.want.roleID {
					t.Errorf("RoleId %s, want %s", got, tc.want.roleID)
				}
				ids := path(cr, "AccountIds")
				if tc.want.accountIDs == nil {
					if !isNil(ids) {
						t.Error("AccountIds of a customer-level role must be i:nil")
					}
				} else {
					var got []string
					for _, l := range ids.SelectElements("long") {
						if l.NamespaceURI() != nsArrays {
							t.Errorf("AccountIds item in %s", l.NamespaceURI())
						}
						got = append(got, l.Text())
					}
					if !slices.Equal(got, tc.want.accountIDs) {
						t.Errorf("AccountIds %v, want %v", got, tc.want.accountIDs)
					}
				}
			}
			ui := path(resp, "UsersInfo")
			switch {
			case tc.want.usersInfo < 0 && ui != nil:
				t.Error("unexpected UsersInfo")
			case tc.want.usersInfo >= 0:
				items := ui.SelectElements("UserInfo")
				if len(items) != tc.want.usersInfo {
					t.Fatalf("%d UserInfo items, want %d", len(items), tc.want.usersInfo)
				}
				var prev int64
				for _, it := range items {
					id, _ := strconv.ParseInt(path(it, "Id").Text(), 10, 64)
					if id <= prev {
						t.Fatalf("UserInfo not in user id order: %d after %d", id, prev)
					}
					prev = id
				}
				if tc.want.firstInfoID != 0 && path(items[0], "Id").Text() != strconv.FormatInt(tc.want.firstInfoID, 10) {
					t.Errorf("first UserInfo %s", path(items[0], "Id").Text())
				}
			}
		})
	}
}

func TestFaults(t *testing.T) {
	h := newHarness(t)
	other := token.NewSigner(nil)
	getUser := `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`
	usersInfo := func(inner string) string {
		return `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13">` + inner + `</GetUsersInfoRequest>`
	}
	claims := func(aud, upn, scope string) token.Claims {
		return token.Claims{Audience: aud, TenantID: h.tenant.ID, UPN: upn, Scope: scope}
	}
	cases := []struct {
		name   string
		body   string // whole envelope
		status int
		code   string // AdApiError/OperationError Code; "" for plumbing faults
		detail string // AdApiFaultDetail, ApiFault or "" (no detail)
		fcode  string // faultcode text
	}{
		// 116 RequestMissingHeaders
		{"no AuthenticationToken", env(`<DeveloperToken>`+dev+`</DeveloperToken>`, getUser), 500, "116", "AdApiFaultDetail", "s:Server"},
		{"no DeveloperToken", env(`<AuthenticationToken>`+h.tok+`</AuthenticationToken>`, getUser), 500, "116", "AdApiFaultDetail", "s:Server"},
		{"nil AuthenticationToken", env(`<AuthenticationToken i:nil="true"/><DeveloperToken>`+dev+`</DeveloperToken>`, getUser), 500, "116", "AdApiFaultDetail", "s:Server"},
		{"empty DeveloperToken", env(creds(h.tok, ""), getUser), 500, "116", "AdApiFaultDetail", "s:Server"},
		{"no s:Header", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + getUser + `</s:Body></s:Envelope>`, 500, "116", "AdApiFaultDetail", "s:Server"},
		{"credentials in the wrong namespace", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><AuthenticationToken>` + h.tok + `</AuthenticationToken><DeveloperToken>` + dev + `</DeveloperToken></s:Header><s:Body>` + getUser + `</s:Body></s:Envelope>`, 500, "116", "AdApiFaultDetail", "s:Server"},
		// 105 InvalidCredentials
		{"malformed token", env(creds("not-a-jwt", dev), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		{"token of another signer", env(creds(other.Mint(claims(token.AudienceAds, demo.AdsSignedInUPN, "msads.manage"), time.Hour), dev), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		{"Graph token", env(creds(h.signer.Mint(claims(token.AudienceGraph, demo.AdsSignedInUPN, "msads.manage"), time.Hour), dev), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		{"no msads.manage scope", env(creds(h.signer.Mint(claims(token.AudienceAds, demo.AdsSignedInUPN, "openid"), time.Hour), dev), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		{"unknown user", env(creds(h.mint("nobody@contoso.example", time.Hour), dev), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		{"inactive user", env(creds(h.mint("old.intern@contoso.example", time.Hour), dev), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		{"wrong developer token", env(creds(h.tok, "WRONG"), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		{"white space around the token", env(creds(" "+h.tok+"\n", dev), getUser), 500, "105", "AdApiFaultDetail", "s:Server"},
		// 109 AuthenticationTokenExpired
		{"expired token", env(creds(h.mint(demo.AdsSignedInUPN, -time.Minute), dev), getUser), 500, "109", "AdApiFaultDetail", "s:Server"},
		{"expired token and wrong developer token", env(creds(h.mint(demo.AdsSignedInUPN, -time.Minute), "WRONG"), getUser), 500, "109", "AdApiFaultDetail", "s:Server"},
		// ApiFault
		{"unknown user id", env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>999</UserId></GetUserRequest>`), 500, "210", "ApiFault", "s:Server"},
		{"missing CustomerId", env(creds(h.tok, dev), usersInfo(``)), 500, "201", "ApiFault", "s:Server"},
		{"CustomerId 0", env(creds(h.tok, dev), usersInfo(`<CustomerId>0</CustomerId>`)), 500, "201", "ApiFault", "s:Server"},
		{"CustomerId after StatusFilter is ignored, as WCF does", env(creds(h.tok, dev), usersInfo(`<StatusFilter>Active</StatusFilter><CustomerId>251000101</CustomerId>`)), 500, "201", "ApiFault", "s:Server"},
		{"another customer", env(creds(h.tok, dev), usersInfo(`<CustomerId>789456</CustomerId>`)), 500, "1001", "ApiFault", "s:Server"},
		// WCF plumbing faults
		{"non-numeric UserId", env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>abc</UserId></GetUserRequest>`), 500, "", "", "a:DeserializationFailed"},
		{"unknown StatusFilter", env(creds(h.tok, dev), usersInfo(`<CustomerId>251000101</CustomerId><StatusFilter>active</StatusFilter>`)), 500, "", "", "a:DeserializationFailed"},
		{"unknown operation", env(creds(h.tok, dev), `<GetUserInvitationsRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`), 500, "", "", "a:ActionNotSupported"},
		{"unknown operation is checked before credentials", env(``, `<GetUserInvitationsRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`), 500, "", "", "a:ActionNotSupported"},
		{"WSDL operation not emulated yet", env(creds(h.tok, dev), `<GetAccountRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`), 500, "", "", "a:ActionNotSupported"},
		{"body element in another namespace", env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v12"/>`), 500, "", "", "a:ActionNotSupported"},
		{"empty body", env(creds(h.tok, dev), ``), 500, "", "", "a:ActionNotSupported"},
		{"malformed XML", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`, 400, "", "", "s:Client"},
		{"mismatched tags", `<a><b></a></b>`, 400, "", "", "s:Client"},
		{"not XML", `GetUser please`, 400, "", "", "s:Client"},
		{"empty request", ``, 400, "", "", "s:Client"},
		{"not an envelope", `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`, 400, "", "", "s:Client"},
		{"no Body", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>`, 400, "", "", "s:Client"},
		{"two roots", env(creds(h.tok, dev), getUser) + `<x/>`, 400, "", "", "s:Client"},
		{"DTD", `<!DOCTYPE s:Envelope [<!ENTITY x "y">]>` + env(creds(h.tok, dev), getUser), 400, "", "", "s:Client"},
		{"SOAP 1.2 envelope", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>` + getUser + `</s:Body></s:Envelope>`, 400, "", "", "s:VersionMismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post(t, "-", tc.body)
			if r.status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tc.status, r.body)
			}
			code, detail, fcode := r.fault(t)
			if code != tc.code || detail != tc.detail || fcode != tc.fcode {
				t.Fatalf("fault (%q, %q, %q), want (%q, %q, %q): %s", code, detail, fcode, tc.code, tc.detail, tc.fcode, r.body)
			}
			if path(r.doc.Root(), "Header") != nil {
				t.Error("faults carry no s:Header")
			}
			if tc.detail == "" {
				return
			}
			// One tracking id everywhere: HTTP header, faultstring and detail.
			tid := r.header.Get("TrackingId")
			f := r.bodyChild(t)
			want := "Invalid client data. Check the SOAP fault details for more information. TrackingId: " + tid + "."
			if fs := path(f, "faultstring"); fs.Text() != want || fs.SelectAttrValue("xml:lang", "") != "en-US" {
				t.Errorf("faultstring %q", fs.Text())
			}
			if got := path(f, "detail", tc.detail, "TrackingId").Text(); got != tid {
				t.Errorf("detail TrackingId %q, HTTP header %q", got, tid)
			}
		})
	}
}

// The messages are the documented ones (NOTES §7, examples/Fault.*.xml).
func TestFaultMessages(t *testing.T) {
	h := newHarness(t)
	cases := []struct{ header, body, want string }{
		{``, `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`,
			"One or more required header elements are missing from the request."},
		{creds("x.y.z", dev), `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`,
			"Authentication failed. Either supplied credentials are invalid or the account is inactive."},
		{creds(h.mint(demo.AdsSignedInUPN, -time.Second), dev), `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`,
			"Authentication token expired. Please renew it or obtain a new token."},
		{creds(h.tok, dev), `<GetUserRequest xmlns="https://bingad.microsoft.com/x"/>`, ""},
		{creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>1</UserId></GetUserRequest>`,
			"The entity does not exist."},
	}
	for _, tc := range cases {
		r := h.post(t, "-", env(tc.header, tc.body))
		var got string
		if m := path(r.bodyChild(t), "detail"); m != nil {
			if e := path(m, "AdApiFaultDetail", "Errors", "AdApiError", "Message"); e != nil {
				got = e.Text()
			} else {
				got = path(m, "ApiFault", "OperationErrors", "OperationError", "Message").Text()
			}
		}
		if got != tc.want {
			t.Errorf("message %q, want %q", got, tc.want)
		}
	}
}

func TestFaultStatus200(t *testing.T) {
	h := newHarness(t)
	h.srv.SetFaultStatus(http.StatusOK)
	r := h.post(t, "GetUser", env(creds(h.tok, "WRONG"), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`))
	if code, _, _ := r.fault(t); r.status != http.StatusOK || code != "105" {
		t.Fatalf("HTTP %d code %s, want a 105 fault with HTTP 200", r.status, code)
	}
	// Plumbing faults keep their own status.
	if r := h.post(t, "-", `<x/>`); r.status != http.StatusBadRequest {
		t.Errorf("bad envelope: HTTP %d", r.status)
	}
	h.srv.SetFaultStatus(0)
	r = h.post(t, "GetUser", env(creds(h.tok, "WRONG"), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`))
	if r.status != http.StatusInternalServerError {
		t.Errorf("after reset: HTTP %d", r.status)
	}
}

// Every header but the two credentials is ignored, wherever it is and whatever its
// namespace (NOTES §2).
func TestUnknownHeadersIgnored(t *testing.T) {
	h := newHarness(t)
	headers := map[string]string{
		"SDK headers (Java/PHP), credentials last": `<ApplicationToken i:nil="true"/><CustomerAccountId>180500001</CustomerAccountId>` +
			`<CustomerId>251000101</CustomerId><UserName/><Password/>` + `<DeveloperToken>` + dev + `</DeveloperToken>` +
			`<AuthenticationToken>` + h.tok + `</AuthenticationToken>`,
		"docs Action mustUnderstand":            `<Action mustUnderstand="1">GetUser</Action>` + creds(h.tok, dev),
		"Effilab ids in the envelope namespace": `<s:CustomerId>1</s:CustomerId><s:CustomerAccountId>2</s:CustomerAccountId>` + creds(h.tok, dev),
		"foreign header with mustUnderstand":    `<x:Trace xmlns:x="urn:other" s:mustUnderstand="1">t</x:Trace>` + creds(h.tok, dev),
		"i:nil=false on credentials":            `<AuthenticationToken i:nil="false">` + h.tok + `</AuthenticationToken><DeveloperToken i:nil="false">` + dev + `</DeveloperToken>`,
	}
	for name, hdr := range headers {
		t.Run(name, func(t *testing.T) {
			r := h.post(t, `"GetCurrentUser"`, env(hdr, `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`))
			if r.status != http.StatusOK || r.bodyChild(t).Tag != "GetCurrentUserResponse" {
				t.Fatalf("HTTP %d: %s", r.status, r.body)
			}
		})
	}
}

// SOAPAction may be quoted, unquoted, absent or wrong: the body decides (NOTES §1).
func TestSOAPAction(t *testing.T) {
	h := newHarness(t)
	body := env(creds(h.tok, dev), `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`)
	for _, action := range []string{`"GetCurrentUser"`, `GetCurrentUser`, `-`, `""`, `"GetUser"`, `DeleteUser`} {
		t.Run(action, func(t *testing.T) {
			r := h.post(t, action, body)
			if r.status != http.StatusOK || r.bodyChild(t).Tag != "GetCurrentUserResponse" {
				t.Fatalf("HTTP %d: %s", r.status, r.body)
			}
		})
	}
}

// Parsing goes by namespace, never by prefix (NOTES §3).
func TestPrefixAgnostic(t *testing.T) {
	h := newHarness(t)
	adele := h.adsUser(t, "adele.vance@contoso.example")
	bodies := map[string]string{
		"suds-style prefixes": `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns0="https://bingads.microsoft.com/Customer/v13">` +
			`<SOAP-ENV:Header><ns0:DeveloperToken>` + dev + `</ns0:DeveloperToken><ns0:AuthenticationToken>` + h.tok + `</ns0:AuthenticationToken></SOAP-ENV:Header>` +
			`<SOAP-ENV:Body><ns0:GetUserRequest><ns0:UserId>` + strconv.FormatInt(adele.ID, 10) + `</ns0:UserId></ns0:GetUserRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
		"default namespace envelope": `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header>` +
			`<AuthenticationToken xmlns="https://bingads.microsoft.com/Customer/v13">` + h.tok + `</AuthenticationToken>` +
			`<v:DeveloperToken xmlns:v="https://bingads.microsoft.com/Customer/v13">` + dev + `</v:DeveloperToken></Header>` +
			`<Body><GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>` + strconv.FormatInt(adele.ID, 10) + `</UserId></GetUserRequest></Body></Envelope>`,
		"soapenv and xsi prefixes, nil UserId": `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cm="https://bingads.microsoft.com/Customer/v13">` +
			`<soapenv:Header><cm:AuthenticationToken>` + h.tok + `</cm:AuthenticationToken><cm:DeveloperToken>` + dev + `</cm:DeveloperToken></soapenv:Header>` +
			`<soapenv:Body><cm:GetUserRequest><cm:UserId xsi:nil="true"/></cm:GetUserRequest></soapenv:Body></soapenv:Envelope>`,
	}
	wantID := map[string]int64{"suds-style prefixes": adele.ID, "default namespace envelope": adele.ID,
		"soapenv and xsi prefixes, nil UserId": h.adsUser(t, demo.AdsSignedInUPN).ID}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := h.post(t, "GetUser", body)
			if r.status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", r.status, r.body)
			}
			if got := path(r.bodyChild(t), "User", "Id").Text(); got != strconv.FormatInt(wantID[name], 10) {
				t.Errorf("User/Id %s, want %d", got, wantID[name])
			}
		})
	}
	// A prefix bound to the wrong namespace does not match, whatever its name.
	wrong := strings.ReplaceAll(bodies["suds-style prefixes"], `xmlns:ns0="https://bingads.microsoft.com/Customer/v13"`, `xmlns:ns0="urn:other"`)
	if _, _, fc := h.post(t, "GetUser", wrong).fault(t); fc != "a:ActionNotSupported" {
		t.Errorf("faultcode %s", fc)
	}
}

func TestHTTP(t *testing.T) {
	h := newHarness(t)
	good := env(creds(h.tok, dev), `<GetCurrentUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"/>`)
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
	}{
		{"GET ?wsdl is not served yet", http.MethodGet, ServicePath + "?wsdl", "", "", 404},
		{"GET ?singleWsdl is not served yet", http.MethodGet, ServicePath + "?singleWsdl", "", "", 404},
		{"GET", http.MethodGet, ServicePath, "", "", 405},
		{"PUT", http.MethodPut, ServicePath, "text/xml; charset=utf-8", good, 405},
		{"other path", http.MethodPost, "/Api/CustomerManagement/v12/CustomerManagementService.svc", "text/xml; charset=utf-8", good, 404},
		{"SOAP 1.2 content type", http.MethodPost, ServicePath, "application/soap+xml; charset=utf-8", good, 415},
		{"no content type", http.MethodPost, ServicePath, "", good, 415},
		{"text/xml without charset", http.MethodPost, ServicePath, "text/xml", good, 200},
		{"charset in upper case", http.MethodPost, ServicePath, `text/xml; charset="UTF-8"`, good, 200},
		{"too large", http.MethodPost, ServicePath, "text/xml; charset=utf-8", good + strings.Repeat(" ", maxRequestBytes), 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.ts.URL+tc.path, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if r := h.do(t, req); r.status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
}

// The emulator deep-copies the tenant: later changes to it are not seen.
func TestTenantCopied(t *testing.T) {
	h := newHarness(t)
	for i := range h.tenant.Ads.Users {
		h.tenant.Ads.Users[i].UserName = "changed"
		for j := range h.tenant.Ads.Users[i].Roles {
			if ids := h.tenant.Ads.Users[i].Roles[j].AccountIDs; len(ids) > 0 {
				ids[0] = 1
			}
		}
	}
	r := h.post(t, "-", env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>1600003</UserId></GetUserRequest>`))
	u := path(r.bodyChild(t), "User")
	if u == nil || path(u, "UserName").Text() == "changed" {
		t.Fatalf("tenant not copied: %s", r.body)
	}
	if ids := path(r.bodyChild(t), "CustomerRoles", "CustomerRole", "AccountIds"); ids.ChildElements()[0].Text() == "1" {
		t.Fatal("role account ids shared with the tenant")
	}
}

// Wire details NOTES §3 spells out, checked on the raw bytes.
func TestWireFormat(t *testing.T) {
	h := newHarness(t)
	r := h.post(t, "-", env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>1600003</UserId></GetUserRequest>`))
	s := string(r.body)
	for _, want := range []string{
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:TrackingId xmlns:h="https://bingads.microsoft.com/Customer/v13">`,
		`<s:Body><GetUserResponse xmlns="https://bingads.microsoft.com/Customer/v13"><User xmlns:a="https://bingads.microsoft.com/Customer/v13/Entities" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><a:ContactInfo>`,
		`<a:ForwardCompatibilityMap i:nil="true" xmlns:b="http://schemas.datacontract.org/2004/07/System.Collections.Generic"/></User>`,
		`<a:AccountIds xmlns:b="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><b:long>180500001</b:long><b:long>180500002</b:long></a:AccountIds>`,
		`<a:LinkedAccountIds i:nil="true" xmlns:b="http://schemas.microsoft.com/2003/10/Serialization/Arrays"/>`,
		`<a:SecretQuestion>None</a:SecretQuestion><a:UserLifeCycleStatus>Active</a:UserLifeCycleStatus><a:TimeStamp>AAAAAKUi`,
		`<a:Lcid>EnglishUS</a:Lcid>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("response lacks %s\n%s", want, s)
		}
	}
	if strings.HasPrefix(s, "<?xml") {
		t.Error("WCF writes no XML declaration")
	}
	lm := path(r.bodyChild(t), "User", "LastModifiedTime").Text()
	if _, err := time.Parse("2006-01-02T15:04:05.9999999", lm); err != nil || strings.HasSuffix(lm, "Z") {
		t.Errorf("LastModifiedTime %q: %v", lm, err)
	}
}

func TestFormatDateTime(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2022, 5, 31, 6, 0, 52, 97_000_000, time.UTC):                  "2022-05-31T06:00:52.097",
		time.Date(2022, 5, 31, 6, 0, 52, 0, time.UTC):                           "2022-05-31T06:00:52",
		time.Date(2022, 5, 31, 8, 0, 52, 1234567, time.FixedZone("CEST", 7200)): "2022-05-31T06:00:52.0012345",
	} {
		if got := formatDateTime(in); got != want {
			t.Errorf("formatDateTime(%v) = %s, want %s", in, got, want)
		}
	}
	if got := rowVersion(0xA522C3DB).String(); got != "AAAAAKUiw9s=" {
		t.Errorf("rowVersion %s", got)
	}
}

// Concurrent callers under -race.
func TestConcurrent(t *testing.T) {
	h := newHarness(t)
	body := env(creds(h.tok, dev), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>251000101</CustomerId></GetUsersInfoRequest>`)
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				if i%2 == 0 {
					h.srv.SetFaultStatus(http.StatusOK)
				}
				for range 10 {
					if r := h.post(t, "-", body); r.status != http.StatusOK {
						t.Errorf("HTTP %d", r.status)
					}
				}
			})
		}
	})
}

// A large synthetic tenant: GetUsersInfo returns every user in one response (no paging).
func TestLargeTenant(t *testing.T) {
	signer := token.NewSigner(nil)
	tenant := demo.Large(3000, 2500, 7)
	srv := New(Options{Signer: signer, Tenant: tenant, DeveloperToken: dev})
	h := &harness{srv: srv, signer: signer, tenant: tenant}
	h.ts = httptest.NewServer(srv)
	t.Cleanup(h.ts.Close)
	h.tok = h.mint(tenant.AdsSignedIn, time.Hour)
	r := h.post(t, "-", env(creds(h.tok, dev), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>251000101</CustomerId></GetUsersInfoRequest>`))
	if n := len(path(r.bodyChild(t), "UsersInfo").ChildElements()); n != 2500 {
		t.Fatalf("%d users, want 2500", n)
	}
}
