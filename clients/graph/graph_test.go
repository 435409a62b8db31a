package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func sample(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "graph", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// pagedServer serves n users in pages of top, linking pages with absolute nextLinks.
func pagedServer(t *testing.T, n int) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("client-request-id") == "" {
			t.Error("request without client-request-id")
		}
		if r.URL.Path != "/v1.0/users" {
			http.NotFound(w, r)
			return
		}
		top, _ := strconv.Atoi(r.URL.Query().Get("$top"))
		from, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		var b strings.Builder
		b.WriteString(`{"value":[`)
		for i := from; i < min(from+top, n); i++ {
			if i > from {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id":"u%d","userPrincipalName":"u%d@contoso.example","accountEnabled":true}`, i, i)
		}
		b.WriteString("]")
		if from+top < n {
			fmt.Fprintf(&b, `,"@odata.nextLink":"%s/v1.0/users?$top=%d&$skiptoken=%d"`, srv.URL, top, from+top)
		}
		b.WriteString("}")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUsersIteratesEveryPage(t *testing.T) {
	srv := pagedServer(t, 23)
	c, err := New(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for u, err := range c.Users(context.Background(), ListUsersOptions{Top: 5, Select: []string{"id"}}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[u.ID] {
			t.Fatalf("user %s twice", u.ID)
		}
		seen[u.ID] = true
	}
	if len(seen) != 23 {
		t.Fatalf("saw %d users, want 23", len(seen))
	}
}

func TestRefusesLinksOutsideServiceRoot(t *testing.T) {
	c, _ := New("https://graph.microsoft.com", http.DefaultClient)
	for _, link := range []string{
		"https://evil.example/v1.0/users",
		"https://graph.microsoft.com.evil.example/v1.0/users",
		"https://graph.microsoft.com/beta/users",
		"http://graph.microsoft.com/v1.0/users",
	} {
		if _, err := c.UsersPage(context.Background(), link, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: want refusal, got %v", link, err)
		}
	}
}

func TestNewValidatesServiceRoot(t *testing.T) {
	for _, root := range []string{"", "graph.microsoft.com", "ftp://x", "https://graph.microsoft.com/v1.0"} {
		if _, err := New(root, http.DefaultClient); err == nil {
			t.Errorf("New(%q) accepted", root)
		}
	}
}

func TestDecodeErrorSamples(t *testing.T) {
	tests := []struct {
		sample string
		status int
		code   string
		check  func(error) bool
	}{
		{"error-404-resource-not-found.json", 404, "Request_ResourceNotFound", NotFound},
		{"error-403-authorization-requestdenied.json", 403, "Authorization_RequestDenied", Forbidden},
		{"error-429.json", 429, "TooManyRequests", Throttled},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			body := sample(t, tt.sample)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "10")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			c, _ := New(srv.URL, srv.Client())
			_, err := c.GetUser(context.Background(), "someone@contoso.example")
			var ge *Error
			if !errors.As(err, &ge) || ge.Code != tt.code || !tt.check(err) || ge.RequestID == "" {
				t.Fatalf("got %#v", err)
			}
			if tt.status == 429 && ge.RetryAfter != "10" {
				t.Errorf("Retry-After not kept: %q", ge.RetryAfter)
			}
		})
	}
}
