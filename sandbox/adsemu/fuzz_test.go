package adsemu

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// FuzzParseRequest feeds arbitrary bodies to the envelope parser and, with the examples'
// token placeholder swapped for a valid token, through the whole handler: neither may
// panic, and the handler must always answer with a known status.
func FuzzParseRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(refDir, "examples", "*.request*.xml"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		``, `<`, `<a/>`, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>`,
		env(creds("OAUTH_ACCESS_TOKEN", "DEVELOPER_TOKEN"), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>1600002</UserId></GetUserRequest>`),
		env(creds("OAUTH_ACCESS_TOKEN", "DEVELOPER_TOKEN"), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>251000101</CustomerId><StatusFilter>Active</StatusFilter></GetUsersInfoRequest>`),
		`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`,
	} {
		f.Add([]byte(s))
	}
	signer := token.NewSigner(nil)
	tenant := demo.Demo()
	srv := New(Options{Signer: signer, Tenant: tenant, DeveloperToken: "DEVELOPER_TOKEN"})
	tok := signer.Mint(token.Claims{Audience: token.AudienceAds, UPN: tenant.AdsSignedIn, Scope: "msads.manage"}, 24*time.Hour)
	f.Fuzz(func(t *testing.T, data []byte) {
		if req, err := parseRequest(data); err == nil && req == nil {
			t.Fatal("nil request without error")
		}
		body := bytes.ReplaceAll(data, []byte("OAUTH_ACCESS_TOKEN"), []byte(tok))
		r := httptest.NewRequest(http.MethodPost, ServicePath, bytes.NewReader(body))
		r.Header.Set("Content-Type", "text/xml; charset=utf-8")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 413, 500:
		default:
			t.Fatalf("HTTP %d", w.Code)
		}
	})
}

// FuzzRESTRequest feeds arbitrary JSON bodies to every REST route, signed in as the Super
// Admin: decoding must never panic, and every answer is a known status with a JSON body
// (a success or an ApplicationFault).
func FuzzRESTRequest(f *testing.F) {
	signer := token.NewSigner(nil)
	tenant := demo.Demo()
	srv := New(Options{Signer: signer, Tenant: tenant, DeveloperToken: demo.AdsDevToken})
	tok := signer.Mint(token.Claims{Audience: token.AudienceAds, UPN: tenant.AdsSignedIn, Scope: "msads.manage"}, 24*time.Hour)
	var routes []*operation
	for _, op := range srv.ops {
		routes = append(routes, op)
	}
	slices.SortFunc(routes, func(a, b *operation) int { return strings.Compare(a.name, b.name) })
	files, _ := filepath.Glob(filepath.Join(refDir, "rest-samples", "*", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			for i := range routes {
				f.Add(uint8(i), bytes.ReplaceAll(b, []byte("IntValueHere"), []byte("16")))
			}
		}
	}
	for i, s := range []string{``, `{}`, `null`, `[]`, `"x"`, `{"UserId":"1600002"}`, `{"UserId":1600002}`, `{"UserId":"x"}`,
		`{"CustomerId":"251000101","StatusFilter":"Active"}`, `{"User":{"Id":"1600002","TimeStamp":"!!"}}`,
		`{"Predicates":[null,{"Field":"CustomerId","Operator":"Equals","Value":"251000101"}]}`,
		`{"UserInvitation":{"FirstName":"a","LastName":"b","Email":"a@b.c","CustomerId":"251000101","RoleId":16,"AccountIds":["180500001"],"Lcid":"EnglishUS"}}`,
		`{"CustomerId":"251000101","UserId":"1600004","NewRoleId":16,"NewAccountIds":[null,"1"],"DeleteRoleId":2147483648}`,
		`{"UserId":"1600003","TimeStamp":"AAAAAKUiw9s="}`, `{"TopN":-1}`, `{"UserId":"9223372036854775808"}`} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		op := routes[int(route)%len(routes)]
		r := httptest.NewRequest(op.method, RESTPrefix+op.path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("DeveloperToken", demo.AdsDevToken)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 403, 413:
		default:
			t.Fatalf("%s: HTTP %d: %s", op.name, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s: body is not JSON: %s", op.name, w.Body)
		}
	})
}
