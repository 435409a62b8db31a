package adsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// restSample reads a rest-samples file as JSON; the docs templates' bare IntValueHere
// placeholders become 0 so they parse (rest-samples/README.md).
func restSample(t *testing.T, rel string) any {
	t.Helper()
	s := strings.ReplaceAll(readRef(t, "rest-samples/"+rel), "IntValueHere", "0")
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return v
}

// compareJSONShape checks got against a sample: the same member names at every object
// (omittable, the EmitDefaultValue=false members, may be missing from got), and the
// sample's value kinds: "LongValueHere" a string, a bare int a number, derived samples'
// values their exact JSON type. null on either side matches anything; arrays compare each
// item of got with the sample's first.
func compareJSONShape(t *testing.T, where string, got, want any, omittable ...string) {
	t.Helper()
	if got == nil || want == nil {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", where, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				if !slices.Contains(omittable, k) {
					t.Errorf("%s: member %s missing", where, k)
				}
				continue
			}
			compareJSONShape(t, where+"."+k, gv, wv, omittable...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				t.Errorf("%s: member %s is not in the sample", where, k)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Errorf("%s: got %T, want an array", where, got)
			return
		}
		if len(w) > 0 {
			for i, item := range g {
				compareJSONShape(t, fmt.Sprintf("%s[%d]", where, i), item, w[0], omittable...)
			}
		}
	case string:
		if w == "ValueHere" { // the templates use it for strings, enums, bools, dates and bytes alike
			return
		}
		if _, ok := got.(string); !ok {
			t.Errorf("%s: got %T %v, want a string (sample %q)", where, got, got, w)
		}
	case float64:
		if _, ok := got.(float64); !ok {
			t.Errorf("%s: got %T %v, want a number", where, got, got)
		}
	case bool:
		if _, ok := got.(bool); !ok {
			t.Errorf("%s: got %T %v, want a boolean", where, got, got)
		}
	}
}

// Contract: every REST response has the shape of the docs' Response JSON template
// (rest-samples/docs-templates) and of the derived samples.
func TestRESTShapesMatchSamples(t *testing.T) {
	cases := []struct {
		sample, op, body string
	}{
		{"docs-templates/getuser.response.json", "GetUser", `{"UserId":"1600003"}`},
		{"derived/getuser.response.DERIVED.json", "GetUser", `{"UserId":null}`},
		{"docs-templates/getusersinfo.response.json", "GetUsersInfo", `{"CustomerId":"` + cust + `"}`},
		{"docs-templates/senduserinvitation.response.json", "SendUserInvitation", inviteJSON("s@contoso.example", "16", acct1)},
		{"docs-templates/searchuserinvitations.response.json", "SearchUserInvitations", searchJSON("CustomerId", "Equals", cust)},
		{"docs-templates/updateuser.response.json", "UpdateUser", updateJSON("1600002", "A", "", "", "TS(1600002)")},
		{"docs-templates/updateuserroles.response.json", "UpdateUserRoles", rolesJSON("1600004", "16", acct3, "", "")},
		{"docs-templates/deleteuser.response.json", "DeleteUser", `{"UserId":"1600003","TimeStamp":"TS(1600003)"}`},
		{"derived/deleteuser.response.DERIVED.json", "DeleteUser", `{"UserId":"1600003","TimeStamp":"TS(1600003)"}`},
		{"docs-templates/getcustomerpilotfeatures.response.json", "GetCustomerPilotFeatures", `{"CustomerId":"` + cust + `"}`},
		{"docs-templates/getusermfastatus.response.json", "GetUserMFAStatus", `{}`},
		{"docs-templates/getaccountsinfo.response.json", "GetAccountsInfo", `{"CustomerId":"` + cust + `","OnlyParentAccounts":false}`},
		{"docs-templates/getcustomersinfo.response.json", "GetCustomersInfo", `{"CustomerNameFilter":"","TopN":5}`},
		{"derived/apifault.http400.DERIVED.json", "GetUser", `{"UserId":"1"}`},
		{"derived/adapifaultdetail.http429.callrateexceeded.DERIVED.json", "GetCurrentUser", `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.sample, func(t *testing.T) {
			h := newHarness(t)
			tok := h.tok
			if strings.Contains(tc.sample, "adapifaultdetail") {
				tok = h.mint(megan, -time.Minute) // any AdApiFaultDetail: 109
			}
			a := h.call(t, restBinding, tok, tc.op, "", h.withTimeStamps(t, tc.body))
			want := restSample(t, tc.sample)
			compareJSONShape(t, tc.op, a.json, want, "AuthenticationToken")
			if strings.HasPrefix(tc.sample, "docs-templates") || strings.Contains(tc.sample, "response") {
				a.ok(t)
				if _, ok := a.json.(map[string]any)["TrackingId"]; ok {
					t.Error("success bodies carry no TrackingId (REST.md §2.2)")
				}
			} else if m := a.json.(map[string]any); m["TrackingId"] != a.header.Get("TrackingId") {
				t.Errorf("fault TrackingId %v, header %q", m["TrackingId"], a.header.Get("TrackingId"))
			}
		})
	}
	// The docs-object samples of the nested types match too.
	h := newHarness(t)
	a := h.call(t, restBinding, h.tok, "UpdateUser", "", h.withTimeStamps(t, updateJSON("1600002", "A", "", "", "TS(1600002)")))
	a.ok(t)
	g := h.call(t, restBinding, h.tok, "GetUser", "", `{"UserId":"1600002"}`).ok(t)
	user := g.json.(map[string]any)["User"]
	compareJSONShape(t, "User", user, restSample(t, "docs-objects/user.json"), "AuthenticationToken")
	compareJSONShape(t, "ContactInfo", user.(map[string]any)["ContactInfo"], restSample(t, "docs-objects/contactinfo.json"))
	compareJSONShape(t, "Address", user.(map[string]any)["ContactInfo"].(map[string]any)["Address"], restSample(t, "docs-objects/address.json"))
	compareJSONShape(t, "Name", user.(map[string]any)["Name"], restSample(t, "docs-objects/personname.json"))
	compareJSONShape(t, "CustomerRole", g.json.(map[string]any)["CustomerRoles"].([]any)[0], restSample(t, "docs-objects/customerrole.json"))
	if user.(map[string]any)["ContactInfo"].(map[string]any)["Address"] == nil {
		t.Fatal("Address not stored")
	}
}

// Value encodings REST.md §2.3 spells out, on the raw bytes.
func TestRESTWireFormat(t *testing.T) {
	h := newHarness(t)
	r := h.restReq(t, http.MethodPost, "User/Query", h.tok, dev, `{"UserId":"1600003"}`)
	s := string(r.body)
	for _, want := range []string{
		`"Id":"1600003"`, `"CustomerId":"251000101"`, `"RoleId":16,`, `"AccountIds":["180500001","180500002"]`,
		`"LinkedAccountIds":null`, `"ContactByPhone":false`, `"SecretQuestion":"None"`, `"UserLifeCycleStatus":"Active"`,
		`"Lcid":"EnglishUS"`, `"ForwardCompatibilityMap":null`, `"TimeStamp":"AAAAAKUi`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("response lacks %s\n%s", want, s)
		}
	}
	if strings.Contains(s, "AuthenticationToken") {
		t.Error("null User.AuthenticationToken must be omitted")
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if len(r.header.Get("TrackingId")) != 36 {
		t.Errorf("TrackingId header %q", r.header.Get("TrackingId"))
	}
}

// HTTP-level behaviour of the REST binding.
func TestRESTHTTP(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, method, rel, auth, devTok, contentType, body string
		status                                             int
		code                                               string // fault code, "" for none
	}{
		{"ok", "POST", "UserMFAStatus/Query", "Bearer " + h.tok, dev, "application/json", `{}`, 200, ""},
		{"lower-case bearer scheme", "POST", "UserMFAStatus/Query", "bearer " + h.tok, dev, "application/json", `{}`, 200, ""},
		{"no Content-Type", "POST", "UserMFAStatus/Query", "Bearer " + h.tok, dev, "", `{}`, 200, ""},
		{"no Authorization", "POST", "UserMFAStatus/Query", "", dev, "application/json", `{}`, 401, "116"},
		{"no DeveloperToken", "POST", "UserMFAStatus/Query", "Bearer " + h.tok, "", "application/json", `{}`, 401, "116"},
		{"token without Bearer", "POST", "UserMFAStatus/Query", h.tok, dev, "application/json", `{}`, 401, "105"},
		{"wrong developer token", "POST", "UserMFAStatus/Query", "Bearer " + h.tok, "WRONG", "application/json", `{}`, 401, "105"},
		{"expired token", "POST", "UserMFAStatus/Query", "Bearer " + h.mint(megan, -time.Minute), dev, "application/json", `{}`, 401, "109"},
		{"not authorized", "POST", "UsersInfo/Query", "Bearer " + h.tok, dev, "application/json", `{"CustomerId":"1"}`, 403, "1001"},
		{"malformed JSON", "POST", "User/Query", "Bearer " + h.tok, dev, "application/json", `{"UserId":`, 400, "201"},
		{"quoted int", "PUT", "UserRoles", "Bearer " + h.tok, dev, "application/json", `{"CustomerId":"251000101","UserId":"1600004","NewRoleId":"16"}`, 400, "201"},
		{"trailing data", "POST", "User/Query", "Bearer " + h.tok, dev, "application/json", `{} {}`, 400, "201"},
		{"entity not found is 400, never 404", "POST", "User/Query", "Bearer " + h.tok, dev, "application/json", `{"UserId":"5"}`, 400, "210"},
		{"unknown route", "POST", "Users/Query", "Bearer " + h.tok, dev, "application/json", `{}`, 404, ""},
		{"GetUserInvitations does not exist", "POST", "UserInvitations/Query", "Bearer " + h.tok, dev, "application/json", `{}`, 404, ""},
		{"wrong method", "GET", "User/Query", "Bearer " + h.tok, dev, "", ``, 405, ""},
		{"DELETE on the PUT route's sibling", "POST", "User", "Bearer " + h.tok, dev, "application/json", `{}`, 405, ""},
		{"XML content type", "POST", "User/Query", "Bearer " + h.tok, dev, "text/xml", `{}`, 415, ""},
		{"too large", "POST", "User/Query", "Bearer " + h.tok, dev, "application/json", `{"UserId":null}` + strings.Repeat(" ", maxRequestBytes), 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.ts.URL+RESTPrefix+tc.rel, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.devTok != "" {
				req.Header.Set("DeveloperToken", tc.devTok)
			}
			r := h.do(t, req)
			if r.status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code == "" {
				return
			}
			var f map[string]any
			if err := json.Unmarshal(r.body, &f); err != nil {
				t.Fatalf("fault body: %v: %s", err, r.body)
			}
			var code any
			switch f["Type"] {
			case "AdApiFaultDetail":
				code = f["Errors"].([]any)[0].(map[string]any)["Code"]
			case "ApiFault":
				code = f["OperationErrors"].([]any)[0].(map[string]any)["Code"]
			}
			if fmt.Sprint(code) != tc.code || f["TrackingId"] != r.header.Get("TrackingId") {
				t.Fatalf("fault %s, want code %s and TrackingId %s", r.body, tc.code, r.header.Get("TrackingId"))
			}
		})
	}
}

// WriteFault writes the fault in the binding of the request, under a new TrackingId, and
// counts no call.
func TestWriteFault(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		code              int
		restStatus        int
		detail, errorCode string
	}{
		{117, 429, "AdApiFaultDetail", "CallRateExceeded"},
		{109, 401, "AdApiFaultDetail", "AuthenticationTokenExpired"},
		{105, 401, "AdApiFaultDetail", "InvalidCredentials"},
		{116, 401, "AdApiFaultDetail", "RequestMissingHeaders"},
		{106, 403, "AdApiFaultDetail", "UserIsNotAuthorized"},
		{0, 500, "AdApiFaultDetail", "InternalError"},
		{1001, 403, "ApiFault", ""},
		{209, 400, "ApiFault", ""},
		{210, 400, "ApiFault", ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			// REST
			w := httptest.NewRecorder()
			h.srv.WriteFault(w, httptest.NewRequest(http.MethodPut, RESTPrefix+"User", nil), tc.code)
			if w.Code != tc.restStatus || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("REST HTTP %d %q", w.Code, w.Header().Get("Content-Type"))
			}
			var f map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &f); err != nil {
				t.Fatal(err)
			}
			if f["Type"] != tc.detail || f["TrackingId"] != w.Header().Get("TrackingId") || len(w.Header().Get("TrackingId")) != 36 {
				t.Fatalf("REST fault %s", w.Body)
			}
			if tc.detail == "AdApiFaultDetail" {
				e := f["Errors"].([]any)[0].(map[string]any)
				if e["ErrorCode"] != tc.errorCode || e["Code"] != float64(tc.code) {
					t.Errorf("REST error %v", e)
				}
				compareJSONShape(t, "fault", f, restSample(t, "derived/adapifaultdetail.http429.callrateexceeded.DERIVED.json"))
			} else {
				compareJSONShape(t, "fault", f, restSample(t, "derived/apifault.http400.DERIVED.json"))
			}
			// SOAP
			w = httptest.NewRecorder()
			h.srv.WriteFault(w, httptest.NewRequest(http.MethodPost, ServicePath, nil), tc.code)
			r := reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
			r.doc = etreeDoc(t, r.body)
			code, detail, fc := r.fault(t)
			if w.Code != 500 || code != fmt.Sprint(tc.code) || detail != tc.detail || fc != "s:Server" {
				t.Fatalf("SOAP HTTP %d fault %s %s %s", w.Code, code, detail, fc)
			}
			if !strings.Contains(string(r.body), "TrackingId: "+w.Header().Get("TrackingId")+".") {
				t.Error("faultstring does not carry the TrackingId")
			}
		})
	}
	// SetFaultStatus applies to injected SOAP faults too.
	h.srv.SetFaultStatus(http.StatusOK)
	w := httptest.NewRecorder()
	h.srv.WriteFault(w, httptest.NewRequest(http.MethodPost, ServicePath, nil), 117)
	if w.Code != http.StatusOK {
		t.Errorf("SOAP fault with SetFaultStatus(200): HTTP %d", w.Code)
	}
	for op := range h.srv.ops {
		if n := h.srv.Calls(op); n != 0 {
			t.Errorf("Calls(%s) = %d after WriteFault", op, n)
		}
	}
	if h.srv.Calls("NoSuchOperation") != 0 {
		t.Error("unknown operation counted")
	}
}

func etreeDoc(t *testing.T, b []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("not XML: %v: %s", err, b)
	}
	return doc
}
