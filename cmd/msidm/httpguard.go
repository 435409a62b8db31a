package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRequestBody bounds one MCP HTTP request; tool arguments are small.
const maxRequestBody = 4 << 20

// guard is the security middleware in front of mcp-go's streamable HTTP handler, which
// checks neither Origin nor bearer tokens (../shared/reference/mcp/MCPGO.md §13, §14).
type guard struct {
	token   string          // required bearer token; "" disables the check (loopback only)
	origins map[string]bool // allowed browser origins besides localhost ones, "scheme://host[:port]"
}

func newGuard(token string, allowedOrigins []string) *guard {
	g := &guard{token: token, origins: map[string]bool{}}
	for _, o := range allowedOrigins {
		g.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return g
}

// wrap applies, in order: Origin validation (the MCP spec's MUST against DNS rebinding:
// a present, invalid Origin gets 403), the bearer token (401), and a body size limit.
func (g *guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !g.originAllowed(o) {
			http.Error(w, "Forbidden: origin not allowed; add it to MSIDM_HTTP_ALLOWED_ORIGINS", http.StatusForbidden)
			return
		}
		if g.token != "" && !g.tokenOK(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="msidm"`)
			http.Error(w, "Unauthorized: send Authorization: Bearer <MSIDM_HTTP_TOKEN>", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		next.ServeHTTP(w, r)
	})
}

func (g *guard) originAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if isLoopbackHost(u.Hostname()) {
		return true
	}
	return g.origins[strings.ToLower(u.Scheme+"://"+u.Host)]
}

// tokenOK compares in constant time; hashing first hides the token's length too.
func (g *guard) tokenOK(header string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(g.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// isLoopbackHost reports localhost names and loopback IPs.
func isLoopbackHost(h string) bool {
	h = strings.ToLower(strings.Trim(h, "[]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
