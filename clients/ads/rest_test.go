package ads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// template reads a docs template (not valid JSON: bare IntValueHere) as a JSON value.
func template(t *testing.T, rel string) any {
	t.Helper()
	raw := strings.ReplaceAll(string(shared(t, "rest-samples/"+rel)), "IntValueHere", "1")
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return v
}

// emitDefaultValueFalse are the members the service and the SDKs leave out when null
// (REST.md §2.2), so a request may lack them although the docs templates list them.
var emitDefaultValueFalse = map[string]bool{"AuthenticationToken": true, "AccountMode": true}

// checkShape compares a request body with a docs template: the same keys at every level
// and the documented types ("LongValueHere": a string holding a long; IntValueHere: a
// number; "ValueHere": a string, boolean or null; any value may be null).
func checkShape(t *testing.T, path string, tmpl, got any) {
	t.Helper()
	if got == nil {
		return
	}
	switch tv := tmpl.(type) {
	case map[string]any:
		gv, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", path, got)
			return
		}
		for k, sub := range tv {
			g, present := gv[k]
			if !present {
				if !emitDefaultValueFalse[k] {
					t.Errorf("%s: missing key %s", path, k)
				}
				continue
			}
			checkShape(t, path+"."+k, sub, g)
		}
		for k := range gv {
			if _, ok := tv[k]; !ok {
				t.Errorf("%s: key %s is not in the docs template", path, k)
			}
		}
	case []any:
		gv, ok := got.([]any)
		if !ok {
			t.Errorf("%s: got %T, want an array", path, got)
			return
		}
		for i, g := range gv {
			checkShape(t, fmt.Sprintf("%s[%d]", path, i), tv[0], g)
		}
	case float64:
		if _, ok := got.(float64); !ok {
			t.Errorf("%s: got %#v, want a JSON number (int)", path, got)
		}
	case string:
		switch tv {
		case "LongValueHere":
			s, ok := got.(string)
			if _, err := strconv.ParseInt(s, 10, 64); !ok || err != nil {
				t.Errorf("%s: got %#v, want a long as a JSON string", path, got)
			}
		case "ValueHere":
			switch got.(type) {
			case string, bool:
			default:
				t.Errorf("%s: got %#v, want a string or boolean", path, got)
			}
		default:
			if got != tv {
				t.Errorf("%s: got %#v, want %q", path, got, tv)
			}
		}
	}
}

// typedValues replace the "ValueHere" placeholders of response templates with values of
// the documented types, so a template can be replayed as a response.
var typedValues = map[string]any{
	"MFAStatus": true, "ContactByPhone": false, "ContactByPostalMail": false, "OnlyParentAccounts": false,
	"LastModifiedTime": "2024-05-01T17:03:12.123", "ExpirationDate": "2024-07-01T10:00:00+00:00",
	"PauseReason": 3, "TimeStamp": "AAAAAKUiw9s=", "UserLifeCycleStatus": "Active",
}

func fillTemplate(v any, key string) any {
	switch tv := v.(type) {
	case map[string]any:
		for k, sub := range tv {
			tv[k] = fillTemplate(sub, k)
		}
	case []any:
		for i, sub := range tv {
			tv[i] = fillTemplate(sub, key)
		}
	case string:
		if tv == "LongValueHere" {
			return "180535609"
		}
		if tv == "ValueHere" {
			if r, ok := typedValues[key]; ok {
				return r
			}
		}
	}
	return v
}

type restRecorder struct {
	method, path string
	header       http.Header
	body         any
}

func restServer(t *testing.T, status int, body []byte, rec *restRecorder) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if rec != nil {
			rec.method, rec.path, rec.header = r.Method, r.URL.Path, r.Header.Clone()
			if err := json.Unmarshal(raw, &rec.body); err != nil {
				t.Errorf("request body is not JSON: %v: %s", err, raw)
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("TrackingId", "rest-tracking-1")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTestREST(t *testing.T, root string) *RESTClient {
	t.Helper()
	c, err := NewREST(root, http.DefaultClient, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ACCESS_TOKEN"}), "DEVELOPER_TOKEN", 789456, 180535609)
	if err != nil {
		t.Fatal(err)
	}
	c.setOptions(Options{RateLimitWait: time.Millisecond})
	return c
}

// TestRESTRequestsMatchDocs sends every operation, checks method, path, headers and the
// body's shape against the docs template, and replays the docs response template.
func TestRESTRequestsMatchDocs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		op, method, path string
		call             func(c *RESTClient) (any, error)
		check            func(t *testing.T, got any)
	}{
		{"GetUser", "POST", "User/Query", func(c *RESTClient) (any, error) {
			u, roles, err := c.GetUser(ctx, 123456)
			return []any{u, roles}, err
		}, func(t *testing.T, got any) {
			u := got.([]any)[0].(*User)
			roles := got.([]any)[1].([]CustomerRole)
			if u.ID != 180535609 || u.Status != "Active" || u.TimeStamp != "AAAAAKUiw9s=" || u.Address == nil || len(roles) != 1 || roles[0].RoleID != 1 {
				t.Errorf("decoded %+v %+v", u, roles)
			}
		}},
		{"GetUsersInfo", "POST", "UsersInfo/Query", func(c *RESTClient) (any, error) { return c.GetUsersInfo(ctx, 789456, "Active") },
			func(t *testing.T, got any) {
				if !reflect.DeepEqual(got, []UserInfo{{180535609, "ValueHere"}}) {
					t.Errorf("decoded %+v", got)
				}
			}},
		{"SendUserInvitation", "POST", "UserInvitation/Send", func(c *RESTClient) (any, error) {
			return c.SendUserInvitation(ctx, UserInvitation{FirstName: "John", LastName: "Roe", Email: "john@example.com",
				CustomerID: 789456, RoleID: 16, AccountIDs: []int64{180535609}, Lcid: "EnglishUS"})
		}, func(t *testing.T, got any) {
			if got != int64(180535609) {
				t.Errorf("invitation id %v", got)
			}
		}},
		{"SearchUserInvitations", "POST", "UserInvitations/Search", func(c *RESTClient) (any, error) {
			return c.SearchUserInvitations(ctx, 789456, "")
		}, func(t *testing.T, got any) {
			invs := got.([]UserInvitation)
			if len(invs) != 1 || invs[0].RoleID != 1 || !invs[0].ExpirationDate.Equal(time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("decoded %+v", invs)
			}
		}},
		{"UpdateUser", "PUT", "User", func(c *RESTClient) (any, error) { return c.UpdateUser(ctx, officialUser()) },
			func(t *testing.T, got any) {
				if !got.(time.Time).Equal(time.Date(2024, 5, 1, 17, 3, 12, 123e6, time.UTC)) {
					t.Errorf("LastModifiedTime %v", got)
				}
			}},
		{"UpdateUserRoles", "PUT", "UserRoles", func(c *RESTClient) (any, error) {
			return c.UpdateUserRoles(ctx, UserRoleUpdate{CustomerID: 789456, UserID: 123457, NewRoleID: 16,
				NewAccountIDs: []int64{123, 789}, DeleteRoleID: 16, DeleteAccountIDs: []int64{456}})
		}, nil},
		{"DeleteUser", "DELETE", "User", func(c *RESTClient) (any, error) { return nil, c.DeleteUser(ctx, 123457, "AAAAAKUiw9s=") }, nil},
		{"GetCustomerPilotFeatures", "POST", "CustomerPilotFeatures/Query", func(c *RESTClient) (any, error) {
			return c.GetCustomerPilotFeatures(ctx, 789456)
		}, func(t *testing.T, got any) {
			if !reflect.DeepEqual(got, []int{1}) {
				t.Errorf("decoded %v", got)
			}
		}},
		{"GetUserMFAStatus", "POST", "UserMFAStatus/Query", func(c *RESTClient) (any, error) { return c.GetUserMFAStatus(ctx) },
			func(t *testing.T, got any) {
				if got != true {
					t.Errorf("MFAStatus %v", got)
				}
			}},
		{"GetAccountsInfo", "POST", "AccountsInfo/Query", func(c *RESTClient) (any, error) { return c.GetAccountsInfo(ctx, 789456, false) },
			func(t *testing.T, got any) {
				accts := got.([]AccountInfo)
				if len(accts) != 1 || accts[0].PauseReason == nil || *accts[0].PauseReason != 3 {
					t.Errorf("decoded %+v", accts)
				}
			}},
		{"GetCustomersInfo", "POST", "CustomersInfo/Query", func(c *RESTClient) (any, error) { return c.GetCustomersInfo(ctx, "Cont", 100) },
			func(t *testing.T, got any) {
				if !reflect.DeepEqual(got, []CustomerInfo{{180535609, "ValueHere"}}) {
					t.Errorf("decoded %+v", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			name := strings.ToLower(tt.op)
			resp, err := json.Marshal(fillTemplate(template(t, "docs-templates/"+name+".response.json"), ""))
			if err != nil {
				t.Fatal(err)
			}
			var rec restRecorder
			srv := restServer(t, 200, resp, &rec)
			got, err := tt.call(newTestREST(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if rec.method != tt.method || rec.path != RESTPath+tt.path {
				t.Errorf("sent %s %s, want %s %s", rec.method, rec.path, tt.method, RESTPath+tt.path)
			}
			for h, want := range map[string]string{"Authorization": "Bearer ACCESS_TOKEN", "DeveloperToken": "DEVELOPER_TOKEN",
				"CustomerId": "789456", "CustomerAccountId": "180535609", "Content-Type": "application/json; charset=utf-8"} {
				if got := rec.header.Get(h); got != want {
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			checkShape(t, tt.op, template(t, "docs-templates/"+name+".request.json"), rec.body)
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// TestRESTEmptyBodies: GetCurrentUser and GetUserMFAStatus send {} (REST.md §2.3), and
// GetUser for the signed-in user sends "UserId": null.
func TestRESTEmptyBodies(t *testing.T) {
	derived := shared(t, "rest-samples/derived/getuser.response.DERIVED.json")
	tests := []struct {
		name, path, want string
		call             func(c *RESTClient) error
	}{
		{"GetCurrentUser", "CurrentUser/Query", `{}`, func(c *RESTClient) error { _, err := c.GetCurrentUser(context.Background()); return err }},
		{"GetUser.self", "User/Query", `{"UserId":null}`, func(c *RESTClient) error { _, _, err := c.GetUser(context.Background(), 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec restRecorder
			srv := restServer(t, 200, derived, &rec)
			if err := tt.call(newTestREST(t, srv.URL)); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(rec.body)
			if rec.path != RESTPath+tt.path || string(got) != tt.want {
				t.Errorf("sent %s %s, want %s %s", rec.path, got, RESTPath+tt.path, tt.want)
			}
		})
	}
}

func TestRESTDecodeDerivedGetUser(t *testing.T) {
	srv := restServer(t, 200, shared(t, "rest-samples/derived/getuser.response.DERIVED.json"), nil)
	u, roles, err := newTestREST(t, srv.URL).GetUser(context.Background(), 180000001)
	if err != nil {
		t.Fatal(err)
	}
	f := false
	want := &User{ID: 180000001, CustomerID: 170000001, UserName: "someone@contoso.com", FirstName: "Jane", LastName: "Doe",
		Email: "someone@contoso.com", Phone1: "4255550100", Lcid: "EnglishUS", Status: "Active", TimeStamp: "AAAAAAB6ymM=",
		LastModifiedByUserID: 180000001, LastModifiedTime: time.Date(2024, 5, 1, 17, 3, 12, 123e6, time.UTC),
		EmailFormat: "Html", ContactByPhone: &f, ContactByPostalMail: &f, ContactInfoID: 150000002, SecretQuestion: "None",
		Address: &Address{ID: 150000001, Line1: "1 Microsoft Way", City: "Redmond", StateOrProvince: "WA", PostalCode: "98052",
			CountryCode: "US", BusinessName: "Contoso"}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("user:\n got %+v\nwant %+v", u, want)
	}
	if !reflect.DeepEqual(roles, []CustomerRole{{RoleID: 41, CustomerID: 170000001}}) {
		t.Errorf("roles %+v", roles)
	}
}

// TestRESTUpdateUserBody pins the JSON of a full update: every member, nulls explicit,
// longs as strings, AuthenticationToken left out, ForwardCompatibilityMap null (untouched).
func TestRESTUpdateUserBody(t *testing.T) {
	var rec restRecorder
	srv := restServer(t, 200, []byte(`{"LastModifiedTime":"2024-06-01T12:34:56.789"}`), &rec)
	if _, err := newTestREST(t, srv.URL).UpdateUser(context.Background(), officialUser()); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(rec.body)
	want := `{"User":{"ContactInfo":{"Address":{"BusinessName":null,"City":"Redmond","CountryCode":"US","Id":"111","Line1":"1 Example Way","Line2":null,"Line3":null,"Line4":null,"PostalCode":"98052","StateOrProvince":"WA","TimeStamp":null},"ContactByPhone":false,"ContactByPostalMail":false,"Email":"jane@example.com","EmailFormat":null,"Fax":null,"HomePhone":null,"Id":"222","Mobile":null,"Phone1":"+15555550100","Phone2":null},"CustomerId":"789456","ForwardCompatibilityMap":null,"Id":"123456","JobTitle":null,"LastModifiedByUserId":"123456","LastModifiedTime":"2024-05-31T06:00:52.097","Lcid":"EnglishUS","Name":{"FirstName":"Jane","LastName":"Doe","MiddleInitial":null},"Password":null,"SecretAnswer":null,"SecretQuestion":"None","TimeStamp":"AAAAAKUiw9s=","UserLifeCycleStatus":"Active","UserName":"jane@example.com"}}`
	if string(got) != want {
		t.Errorf("body:\n got %s\nwant %s", got, want)
	}
}

func TestRESTErrors(t *testing.T) {
	docFault := func(rel string) []byte {
		raw, _ := json.Marshal(template(t, rel))
		return raw
	}
	tests := []struct {
		name       string
		status     int
		body       []byte
		wantDetail string
		wantCode   int
		wantError  string
		wantTrack  string
	}{
		{"ApiFault 400 (derived)", 400, shared(t, "rest-samples/derived/apifault.http400.DERIVED.json"), "ApiFault", 1001, "", "00000000-0000-0000-0000-000000000000"},
		{"AdApiFaultDetail 429 (derived)", 429, shared(t, "rest-samples/derived/adapifaultdetail.http429.callrateexceeded.DERIVED.json"), "AdApiFaultDetail", 117, "CallRateExceeded", "00000000-0000-0000-0000-000000000000"},
		{"ApiFault (docs object)", 400, docFault("docs-objects/apifault.json"), "ApiFault", 1, "", "ValueHere"},
		{"AdApiFaultDetail (docs object)", 401, docFault("docs-objects/adapifaultdetail.json"), "AdApiFaultDetail", 1, "ValueHere", "ValueHere"},
		{"fault with HTTP 200", 200, shared(t, "rest-samples/derived/apifault.http400.DERIVED.json"), "ApiFault", 1001, "", "00000000-0000-0000-0000-000000000000"},
		{"TrackingId from the header", 400, []byte(`{"Type":"ApiFault","TrackingId":null,"OperationErrors":[{"Code":"209","Details":null,"Message":"The time stamp does not match."}]}`), "ApiFault", 209, "", "rest-tracking-1"},
		{"PHP guide wrapper", 400, shared(t, "rest-samples/other/php-migration-guide-error-example.json"), "ApiFaultDetail", 1234, "", "abc123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := restServer(t, tt.status, tt.body, nil)
			_, _, err := newTestREST(t, srv.URL).GetUser(context.Background(), 1)
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("want *Fault, got %T %v", err, err)
			}
			if f.Detail != tt.wantDetail || !f.Has(tt.wantCode) || f.Errors[0].ErrorCode != tt.wantError ||
				f.TrackingID != tt.wantTrack || f.HTTPStatus != tt.status {
				t.Errorf("fault = %+v", f)
			}
		})
	}
}

func TestRESTNonFaultErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		contains string
	}{
		{"404 means no REST endpoint", 404, "", "MSIDM_ADS_PROTOCOL=soap"},
		{"html error page", 502, "<html>Bad Gateway</html>", "HTTP 502"},
		{"success that is not JSON", 200, "<xml/>", "not the documented JSON"},
		{"long as garbage", 200, `{"UsersInfo":[{"Id":"x1","UserName":"a"}]}`, "not the documented JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := restServer(t, tt.status, []byte(tt.body), nil)
			_, err := newTestREST(t, srv.URL).GetUsersInfo(context.Background(), 1, "")
			if err == nil || !strings.Contains(err.Error(), tt.contains) || !strings.Contains(err.Error(), "GetUsersInfo") ||
				!strings.Contains(err.Error(), "rest-tracking-1") {
				t.Fatalf("want an error naming the operation, %q and the TrackingId, got %v", tt.contains, err)
			}
		})
	}
}

func TestJSONLong(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`"123"`, 123, true}, {`123`, 123, true}, {`"-9223372036854775808"`, -9223372036854775808, true},
		{`null`, 0, true}, {`"1.5"`, 0, false}, {`"LongValueHere"`, 0, false}, {`true`, 0, false},
	}
	for _, tt := range tests {
		var l jlong
		err := json.Unmarshal([]byte(tt.in), &l)
		if (err == nil) != tt.ok || int64(l) != tt.want {
			t.Errorf("%s: got %d, %v", tt.in, l, err)
		}
	}
	out, _ := json.Marshal([]jlong{1, 9007199254740993})
	if string(out) != `["1","9007199254740993"]` {
		t.Errorf("marshal: %s", out)
	}
}

func FuzzDecodeRESTError(f *testing.F) {
	dir := filepath.Join("..", "..", "..", "shared", "reference", "ads", "rest-samples")
	for _, rel := range []string{"derived/apifault.http400.DERIVED.json", "derived/adapifaultdetail.http429.callrateexceeded.DERIVED.json",
		"docs-objects/apifault.json", "docs-objects/adapifaultdetail.json", "other/php-migration-guide-error-example.json",
		"derived/getuser.response.DERIVED.json"} {
		if raw, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fault, ok := decodeRESTError(400, "hdr", raw)
		if ok != (fault != nil) {
			t.Fatalf("ok %v with fault %v", ok, fault)
		}
		if ok {
			_ = fault.Error()
			if fault.TrackingID == "" {
				t.Fatal("fault without a TrackingId although the header had one")
			}
		}
	})
}
