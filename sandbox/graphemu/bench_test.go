package graphemu

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// benchServer serves a 100,000-user tenant on loopback and returns its URL, a valid token,
// the tenant and a client that keeps connections alive.
func benchServer(b *testing.B) (string, string, *demo.Tenant, *http.Client) {
	b.Helper()
	tenant := demo.Large(100_000, 0, 1)
	signer := token.NewSigner(nil)
	ts := httptest.NewServer(New(Options{Signer: signer, Tenant: tenant}))
	b.Cleanup(ts.Close)
	tok := signer.Mint(token.Claims{Audience: token.AudienceGraph, TenantID: tenant.ID, Roles: []string{"User.Read.All"}}, time.Hour)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	return ts.URL, tok, tenant, client
}

func benchGet(b *testing.B, c *http.Client, url, tok string) []byte {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v %s", url, resp.StatusCode, err, body)
	}
	return body
}

// BenchmarkGetUser is one GET /v1.0/users/{id} per iteration over loopback HTTP
// (target: ≥10,000/s).
func BenchmarkGetUser(b *testing.B) {
	base, tok, tenant, client := benchServer(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		benchGet(b, client, base+"/v1.0/users/"+tenant.People[i%len(tenant.People)].ID, tok)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "gets/s")
}

// BenchmarkGetUserParallel is the same with concurrent clients.
func BenchmarkGetUserParallel(b *testing.B) {
	base, tok, tenant, client := benchServer(b)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			benchGet(b, client, base+"/v1.0/users/"+tenant.People[i%len(tenant.People)].ID, tok)
			i += 7919
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "gets/s")
}

// BenchmarkListAll100k pages through all 100,000 users with $top=999 per iteration, decoding
// each page as a client would (target: ≥50,000 users/s).
func BenchmarkListAll100k(b *testing.B) {
	base, tok, tenant, client := benchServer(b)
	b.ResetTimer()
	start := time.Now()
	total := 0
	for i := 0; i < b.N; i++ {
		n := 0
		for link := base + "/v1.0/users?$top=999"; link != ""; {
			var page struct {
				NextLink string            `json:"@odata.nextLink"`
				Value    []json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(benchGet(b, client, link, tok), &page); err != nil {
				b.Fatal(err)
			}
			n += len(page.Value)
			link = page.NextLink
		}
		if n != len(tenant.People) {
			b.Fatalf("listed %d users, want %d", n, len(tenant.People))
		}
		total += n
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "users/s")
}

// BenchmarkHandlerGetUser measures the handler alone, without the network.
func BenchmarkHandlerGetUser(b *testing.B) {
	tenant := demo.Large(100_000, 0, 1)
	signer := token.NewSigner(nil)
	srv := New(Options{Signer: signer, Tenant: tenant})
	tok := "Bearer " + signer.Mint(token.Claims{Audience: token.AudienceGraph, TenantID: tenant.ID}, time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodGet, "/v1.0/users/"+tenant.People[i%len(tenant.People)].ID, nil)
		req.Header.Set("Authorization", tok)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
