package adsemu

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
