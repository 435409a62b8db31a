package ads

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"golang.org/x/oauth2"

	"github.com/msidm/msidm/clients/ads/wsdlcheck"
)

var update = flag.Bool("update", false, "rewrite the golden request envelopes in testdata/golden")

func shared(t *testing.T, rel string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "ads", rel))
	if err != nil {
		t.Fatalf("reading ../shared/reference/ads/%s: %v", rel, err)
	}
	return raw
}

func TestDecodeOfficialGetUser(t *testing.T) {
	resp, err := parseResponse("GetUser", 200, "", shared(t, "examples/GetUser.response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := decodeUser(child(resp, nsService, "User"))
	if err != nil {
		t.Fatal(err)
	}
	want := &User{ID: 123456, CustomerID: 789456, UserName: "jane@example.com", FirstName: "Jane", LastName: "Doe",
		Email: "jane@example.com", Phone1: "+15555550100", Lcid: "EnglishUS", Status: "Active", TimeStamp: "AAAAAKUiw9s=",
		LastModifiedByUserID: 123456, LastModifiedTime: time.Date(2024, 5, 31, 6, 0, 52, 97e6, time.UTC)}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("user:\n got %+v\nwant %+v", u, want)
	}
	var roles []CustomerRole
	for _, re := range children(child(resp, nsService, "CustomerRoles"), nsEntities, "CustomerRole") {
		roles = append(roles, decodeRole(re))
	}
	wantRoles := []CustomerRole{
		{RoleID: 41, CustomerID: 789456},
		{RoleID: 16, CustomerID: 147258, AccountIDs: []int64{180535609, 180535610}},
	}
	if !reflect.DeepEqual(roles, wantRoles) {
		t.Errorf("roles:\n got %+v\nwant %+v", roles, wantRoles)
	}
}

func TestDecodeRecordedGetUser(t *testing.T) {
	// A real (anonymised) capture from a public SDK test suite: different indentation, real ids.
	resp, err := parseResponse("GetUser", 200, "", shared(t, "samples/digivizer_get_user_success_response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := decodeUser(child(resp, nsService, "User"))
	if err != nil || u.ID == 0 || u.UserName == "" || u.Status == "" {
		t.Fatalf("decoded %+v, %v", u, err)
	}
}

func TestDecodeOfficialGetUsersInfo(t *testing.T) {
	srv := soapServer(t, 200, string(shared(t, "examples/GetUsersInfo.response.xml")))
	got, err := newTestClient(t, srv.URL).GetUsersInfo(context.Background(), 789456, "Active")
	if err != nil {
		t.Fatal(err)
	}
	want := []UserInfo{{123456, "jane@example.com"}, {123457, "john@example.com"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v want %+v", got, want)
	}
}

func TestDecodeOfficialFaults(t *testing.T) {
	tests := []struct {
		file       string
		status     int
		wantDetail string
		wantCode   int
		wantError  string
	}{
		{"examples/Fault.AdApiFaultDetail.AuthenticationTokenExpired.xml", 500, "AdApiFaultDetail", 109, "AuthenticationTokenExpired"},
		{"examples/Fault.AdApiFaultDetail.CallRateExceeded.xml", 500, "AdApiFaultDetail", 117, "CallRateExceeded"},
		{"examples/Fault.ApiFault.TimestampNotMatch.xml", 500, "ApiFault", 209, ""},
		// The live service has been seen sending faults with HTTP 200 (NOTES §6.2).
		{"examples/Fault.ApiFault.TimestampNotMatch.xml", 200, "ApiFault", 209, ""},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			srv := soapServer(t, tt.status, string(shared(t, tt.file)))
			_, _, err := newTestClient(t, srv.URL).GetUser(context.Background(), 1)
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("want *Fault, got %T %v", err, err)
			}
			if f.Detail != tt.wantDetail || !f.Has(tt.wantCode) || f.Errors[0].ErrorCode != tt.wantError || f.HTTPStatus != tt.status {
				t.Errorf("fault = %+v", f)
			}
			if f.TrackingID == "" || strings.Contains(f.TrackingID, " ") {
				t.Errorf("TrackingId not read from the detail: %q", f.TrackingID)
			}
		})
	}
}

func TestNonSOAPResponses(t *testing.T) {
	for name, body := range map[string]string{
		"html error page": "<html><body>502 Bad Gateway</body></html>",
		"empty":           "",
		"not xml":         "{\"error\":1}",
	} {
		t.Run(name, func(t *testing.T) {
			srv := soapServer(t, 502, body)
			_, err := newTestClient(t, srv.URL).GetUsersInfo(context.Background(), 1, "")
			if err == nil || !strings.Contains(err.Error(), "GetUsersInfo") {
				t.Fatalf("want a clear error naming the operation, got %v", err)
			}
		})
	}
}

// TestGoldenRequests pins every request envelope byte for byte and validates its header
// elements and body against the WSDL schema.
func TestGoldenRequests(t *testing.T) {
	tests := []struct {
		name string
		call func(c *SOAPClient) error
	}{
		{"GetUsersInfo", func(c *SOAPClient) error { _, err := c.GetUsersInfo(context.Background(), 251000101, ""); return err }},
		{"GetUsersInfo.status", func(c *SOAPClient) error {
			_, err := c.GetUsersInfo(context.Background(), 251000101, "Active")
			return err
		}},
		{"GetUser", func(c *SOAPClient) error { _, _, err := c.GetUser(context.Background(), 1600001); return err }},
		{"GetUser.self", func(c *SOAPClient) error { _, _, err := c.GetUser(context.Background(), 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var action string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				action = r.Header.Get("SOAPAction")
				doc := etree.NewDocument()
				if _, err := doc.ReadFrom(r.Body); err != nil {
					t.Error(err)
				}
				doc.Indent(2)
				got, _ = doc.WriteToBytes()
				w.WriteHeader(500)
			}))
			defer srv.Close()
			_ = tt.call(newTestClient(t, srv.URL))
			op, _, _ := strings.Cut(tt.name, ".")
			if action != `"`+op+`"` {
				t.Errorf("SOAPAction = %s, want %q", action, op)
			}
			golden := filepath.Join("testdata", "golden", tt.name+".request.xml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./clients/ads -run TestGoldenRequests -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("request envelope changed:\n got:\n%s\nwant:\n%s", got, want)
			}
			doc := etree.NewDocument()
			_ = doc.ReadFromBytes(got)
			env := doc.Root()
			for _, h := range child(env, nsEnvelope, "Header").ChildElements() {
				wsdlcheck.Element(t, h)
			}
			wsdlcheck.Element(t, child(child(env, nsEnvelope, "Body"), nsService, op+"Request"))
		})
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, file := range []string{"examples/GetUser.response.xml", "examples/GetUsersInfo.response.xml",
		"examples/Fault.ApiFault.TimestampNotMatch.xml", "examples/Fault.AdApiFaultDetail.CallRateExceeded.xml"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "ads", file))
		if err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, err := parseResponse("GetUser", 200, "", raw)
		if err == nil && resp != nil {
			_, _ = decodeUser(child(resp, nsService, "User"))
			for _, re := range children(child(resp, nsService, "CustomerRoles"), nsEntities, "CustomerRole") {
				_ = decodeRole(re)
			}
		}
	})
}

func soapServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTestClient(t *testing.T, root string) *SOAPClient {
	t.Helper()
	c, err := NewSOAP(root, http.DefaultClient, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ACCESS_TOKEN"}), "DEVELOPER_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
