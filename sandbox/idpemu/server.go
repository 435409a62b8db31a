// Package idpemu emulates the token endpoint of the Microsoft identity platform (v2.0):
// POST /{tenant}/oauth2/v2.0/token. It mints sandbox access tokens (package token) for
// Microsoft Graph and Microsoft Advertising and answers failures with the exact AADSTS error
// shape, so msidm's real OAuth code can be exercised end to end.
//
// Each grant type is one function in a dispatch table (grants.go); adding client_assertion,
// authorization_code+PKCE or device_code means adding an entry, and fault injection can wrap
// the table's functions. Behaviour follows /work/shared/reference/graph/NOTES.md §7.
package idpemu

import (
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

// App is a confidential client registered in the tenant, with the application permissions
// (app roles) an administrator consented to.
type App struct {
	ClientID, ClientSecret string
	Roles                  []string
}

// Options configures a Server.
type Options struct {
	Signer        *token.Signer
	TenantID      string
	Apps          []App
	TokenLifetime time.Duration // access-token lifetime; 0 means one hour, as the real service
	Logger        *slog.Logger  // may be nil
}

// Server is the token endpoint. It is an http.Handler.
type Server struct {
	// Strict revokes a refresh token once it has been redeemed, so a client that keeps using
	// the old token after rotation fails with invalid_grant. The real service keeps old refresh
	// tokens valid; Strict catches clients that forget to store the rotated one. Set it before
	// serving requests.
	Strict bool

	signer    *token.Signer
	tenantID  string
	lifetime  time.Duration
	log       *slog.Logger
	apps      map[string]*app
	grants    map[string]grantFunc
	resources []resource

	mu      sync.Mutex
	refresh map[string]*refreshGrant
}

// app is a registered client plus the object id of its service principal (the oid of
// app-only tokens).
type app struct {
	App
	objectID string
}

// New returns a Server for one tenant and its registered apps.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	s := &Server{
		signer:    opts.Signer,
		tenantID:  opts.TenantID,
		lifetime:  opts.TokenLifetime,
		log:       opts.Logger,
		apps:      make(map[string]*app, len(opts.Apps)),
		refresh:   make(map[string]*refreshGrant),
		resources: knownResources(),
	}
	for _, a := range opts.Apps {
		a.Roles = append([]string(nil), a.Roles...)
		s.apps[strings.ToLower(a.ClientID)] = &app{App: a, objectID: token.NewGUID()}
	}
	s.grants = s.grantTable()
	return s
}

// tokenRequest is one parsed call of the token endpoint.
type tokenRequest struct {
	tenant       string // as written in the path, lower-cased
	form         map[string][]string
	clientID     string
	clientSecret string // "" when none was sent
	secretSent   bool
}

func (t *tokenRequest) get(name string) string {
	if v := t.form[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// tokenResponse is the success body (samples/token-response.json); scope and refresh_token
// appear only for delegated grants.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// ServeHTTP serves POST /{tenant}/oauth2/v2.0/token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	traceID := token.NewGUID()
	// The service reports the caller's client-request-id (MSAL sends one) as the correlation id.
	correlationID := r.Header.Get("client-request-id")
	if correlationID == "" {
		correlationID = token.NewGUID()
	}
	w.Header().Set("x-ms-request-id", traceID)
	w.Header().Set("client-request-id", correlationID)

	tenant, ok := tenantFromPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	resp, grant, oerr := s.handle(r, tenant)
	if oerr != nil {
		s.log.Info("token request failed", "grant_type", grant, "error", oerr.err, "code", oerr.code, "trace_id", traceID)
		writeError(w, oerr, traceID, correlationID, s.signer.Now())
		return
	}
	s.log.Info("token issued", "grant_type", grant, "trace_id", traceID)
	writeJSON(w, http.StatusOK, resp)
}

// handle validates the request envelope (method, tenant, body) and dispatches on grant_type.
func (s *Server) handle(r *http.Request, tenant string) (*tokenResponse, string, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, "", errMethod(r.Method)
	}
	alias := tenant == "common" || tenant == "organizations"
	if !alias && !strings.EqualFold(tenant, s.tenantID) {
		return nil, "", errTenantNotFound(tenant)
	}
	req, oerr := s.parse(r, tenant)
	if oerr != nil {
		return nil, "", oerr
	}
	grant := req.get("grant_type")
	if grant == "" {
		return nil, "", errMissingParam("grant_type")
	}
	fn, ok := s.grants[grant]
	if !ok {
		return nil, grant, errUnsupportedGrant(grant)
	}
	// The multi-tenant aliases work only where the service can infer the tenant from the
	// grant itself (a user's refresh token); an app-only request has no user to go by.
	if alias && grant != grantRefreshToken {
		return nil, grant, errNoTenantInfo()
	}
	resp, oerr := fn(req)
	return resp, grant, oerr
}

// tenantFromPath extracts {tenant} from /{tenant}/oauth2/v2.0/token.
func tenantFromPath(p string) (string, bool) {
	rest, ok := strings.CutSuffix(p, "/oauth2/v2.0/token")
	if !ok || !strings.HasPrefix(rest, "/") || strings.Count(rest, "/") != 1 || len(rest) < 2 {
		return "", false
	}
	return strings.ToLower(rest[1:]), true
}

// parse reads the form body and the client credentials (form fields or HTTP Basic, NOTES §7).
// A body that is not form-encoded is not parsed at all, so the service then reports the first
// parameter it misses, grant_type.
func (s *Server) parse(r *http.Request, tenant string) (*tokenRequest, *oauthError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, errMissingParam("grant_type")
	}
	if err := r.ParseForm(); err != nil {
		return nil, errMissingParam("grant_type")
	}
	req := &tokenRequest{tenant: tenant, form: r.PostForm}
	req.clientID = req.get("client_id")
	if v, ok := r.PostForm["client_secret"]; ok && len(v) > 0 {
		req.clientSecret, req.secretSent = v[0], true
	}
	if id, secret, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
		if v, err := urlUnescape(id); err == nil {
			id = v
		}
		if v, err := urlUnescape(secret); err == nil {
			secret = v
		}
		req.clientID, req.clientSecret, req.secretSent = id, secret, true
	}
	return req, nil
}

// client authenticates the caller. requireSecret is false for public-client style refresh
// (the app may omit its secret); a secret that is sent is always checked.
func (s *Server) client(req *tokenRequest, requireSecret bool) (*app, *oauthError) {
	if req.clientID == "" {
		return nil, errMissingParam("client_id")
	}
	a, ok := s.apps[strings.ToLower(req.clientID)]
	if !ok {
		return nil, errUnknownClient(req.clientID, s.tenantID)
	}
	switch {
	case !req.secretSent && requireSecret:
		return nil, errNoCredential()
	case req.secretSent && !secretEqual(req.clientSecret, a.ClientSecret):
		return nil, errInvalidSecret(a.ClientID)
	}
	return a, nil
}

// expiresIn is what the service reports for a token minted just now: one second under the
// lifetime (3599 for an hour, samples/token-response.json).
func (s *Server) expiresIn() int {
	n := int(s.lifetime/time.Second) - 1
	return max(n, 1)
}
