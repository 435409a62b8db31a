package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name    string
		token   string
		allowed []string
		origin  string
		auth    string
		want    int
	}{
		{"no origin, no token configured", "", nil, "", "", 204},
		{"localhost origin", "", nil, "http://localhost:6274", "", 204},
		{"loopback ip origin", "", nil, "http://127.0.0.1:3000", "", 204},
		{"ipv6 loopback origin", "", nil, "http://[::1]:3000", "", 204},
		{"foreign origin (DNS rebinding)", "", nil, "https://evil.example", "", 403},
		{"localhost lookalike", "", nil, "http://localhost.evil.example", "", 403},
		{"garbage origin", "", nil, "::::", "", 403},
		{"allow-listed origin", "", []string{"https://chat.example.com/"}, "https://chat.example.com", "", 204},
		{"allow-list is exact", "", []string{"https://chat.example.com"}, "https://chat.example.com:8443", "", 403},
		{"token required, missing", "s3cret-token-value", nil, "", "", 401},
		{"token required, wrong", "s3cret-token-value", nil, "", "Bearer nope", 401},
		{"token required, not bearer", "s3cret-token-value", nil, "", "Basic czNjcmV0", 401},
		{"token required, right", "s3cret-token-value", nil, "", "Bearer s3cret-token-value", 204},
		{"origin checked before token", "s3cret-token-value", nil, "https://evil.example", "Bearer s3cret-token-value", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGuard(tt.token, tt.allowed).wrap(ok)
			req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("{}"))
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if strings.Contains(rec.Body.String(), "s3cret-token-value") {
				t.Error("response echoes the token")
			}
		})
	}
}

func TestCheckListenAddr(t *testing.T) {
	tests := []struct {
		addr, token string
		wantErr     string
	}{
		{"127.0.0.1:8080", "", ""},
		{"localhost:8080", "", ""},
		{"[::1]:8080", "", ""},
		{"0.0.0.0:8080", "", "MSIDM_HTTP_TOKEN"},
		{":8080", "", "MSIDM_HTTP_TOKEN"},
		{"192.168.1.5:8080", "", "MSIDM_HTTP_TOKEN"},
		{"0.0.0.0:8080", "long-random-token", ""},
		{"8080", "", "host:port"},
	}
	for _, tt := range tests {
		err := checkListenAddr(tt.addr, tt.token)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("checkListenAddr(%q, %q) = %v, want error containing %q", tt.addr, tt.token, err, tt.wantErr)
		}
	}
}
