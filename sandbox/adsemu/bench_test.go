package adsemu

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// BenchmarkGetUser measures one GetUser call over loopback HTTP (keep-alive), end to end:
// request write, parse, token check, lookup, response build, response read.
func BenchmarkGetUser(b *testing.B) {
	h := newHarness(b)
	body := env(creds(h.tok, dev), `<GetUserRequest xmlns="https://bingads.microsoft.com/Customer/v13"><UserId>1600003</UserId></GetUserRequest>`)
	client := h.ts.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, h.ts.URL+ServicePath, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"GetUser"`)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
}

// BenchmarkGetUsersInfo5000 lists a 5,000-user customer (demo.Large) in one GetUsersInfo
// call, over loopback HTTP in each binding, and reports users listed per second.
func BenchmarkGetUsersInfo5000(b *testing.B) {
	signer := token.NewSigner(nil)
	tenant := demo.Large(5000, 5000, 1)
	srv := New(Options{Signer: signer, Tenant: tenant, DeveloperToken: dev})
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close)
	tok := signer.Mint(token.Claims{Audience: token.AudienceAds, TenantID: tenant.ID, UPN: tenant.AdsSignedIn, Scope: "msads.manage"}, time.Hour)
	soapBody := env(creds(tok, dev), `<GetUsersInfoRequest xmlns="https://bingads.microsoft.com/Customer/v13"><CustomerId>251000101</CustomerId></GetUsersInfoRequest>`)
	requests := map[string]func() *http.Request{
		"SOAP": func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+ServicePath, strings.NewReader(soapBody))
			req.Header.Set("Content-Type", "text/xml; charset=utf-8")
			req.Header.Set("SOAPAction", `"GetUsersInfo"`)
			return req
		},
		"REST": func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+RESTPrefix+"UsersInfo/Query", strings.NewReader(`{"CustomerId":"251000101"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("DeveloperToken", dev)
			return req
		},
	}
	for _, name := range []string{"SOAP", "REST"} {
		b.Run(name, func(b *testing.B) {
			client := ts.Client()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				resp, err := client.Do(requests[name]())
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("HTTP %d", resp.StatusCode)
				}
				n++
			}
			b.ReportMetric(float64(n*5000)/b.Elapsed().Seconds(), "users/s")
		})
	}
}
