package adsemu

import (
	"io"
	"net/http"
	"strings"
	"testing"
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
