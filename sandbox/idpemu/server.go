// Package idpemu emulates the Microsoft identity platform (v2.0) endpoints msidm uses:
//
//   - POST /{tenant}/oauth2/v2.0/token: client_credentials (client secret or certificate client
//     assertion), authorization_code with PKCE, device_code and refresh_token (rotating);
//   - GET|POST /{tenant}/oauth2/v2.0/authorize: auto-consents as the configured signed-in user
//     (the sandbox has no UI) and redirects to a loopback redirect_uri with a code;
//   - POST /{tenant}/oauth2/v2.0/devicecode: device authorization, approved through
//     ApproveDeviceCode / DenyDeviceCode or automatically (Options.AutoApproveDeviceCodes).
//
// It mints sandbox access tokens (package token) for Microsoft Graph and Microsoft Advertising
// and answers failures with the exact AADSTS error shape, so msidm's real OAuth code can be
// exercised end to end. Each grant type is one function in a dispatch table (grants.go).
// Behaviour follows /work/shared/reference/graph/NOTES.md §7 and the Entra protocol pages
// (v2-oauth2-auth-code-flow.md, v2-oauth2-device-code.md, reference-error-codes.md).
package idpemu

import (
	"crypto/x509"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

// App is a client registered in the tenant, with the application permissions (app roles) an
// administrator consented to.
type App struct {
	ClientID, ClientSecret string
	Roles                  []string
	// Certificates are the public certificates registered on the app (its key credentials). A
	// client assertion signed with the private key of one of them, and naming it by x5t or
	// x5t#S256, authenticates the app instead of ClientSecret (NOTES §7 [cert]).
	Certificates []*x509.Certificate
}

// User is the user the sandbox considers signed in: it consents at /authorize and approves
// device codes as this user. OID is the user's object id (the oid claim).
type User struct {
	UPN, OID string
}

// Options configures a Server.
type Options struct {
	Signer        *token.Signer
	TenantID      string
	Apps          []App
	TokenLifetime time.Duration // access-token lifetime; 0 means one hour, as the real service
	Logger        *slog.Logger  // may be nil
	// Now is the clock for codes, device codes and client assertions; nil means the Signer's
	// clock (time.Now unless the Signer was given one), so one fake clock moves everything.
	Now func() time.Time
	// SignInUser is the user /authorize consents as and ApproveDeviceCode approves as. When it
	// is zero, the first user given to IssueRefreshToken becomes the signed-in user.
	SignInUser User
	// AutoApproveDeviceCodes approves every device code as SignInUser when it is issued, so a
	// device-code login against the sandbox completes unattended.
	AutoApproveDeviceCodes bool
}

// Server is the token endpoint. It is an http.Handler.
type Server struct {
	// Strict revokes a refresh token once it has been redeemed, so a client that keeps using
	// the old token after rotation fails with invalid_grant. The real service keeps old refresh
	// tokens valid; Strict catches clients that forget to store the rotated one. Set it before
	// serving requests.
	Strict bool

	// Fault, when set, is asked before a token request is dispatched (grant is the grant_type)
	// and before a device authorization (grant is "devicecode"). If it answers inject, the
	// endpoint fails with error temporarily_unavailable in the AADSTS shape and the given HTTP
	// status: 429 reports AADSTS90055 (TenantThrottlingError), any other status AADSTS90006
	// (ExternalServerRetryableError); a status below 400 means 503. The fault layer adds
	// Retry-After or latency by wrapping the handler. Set it before serving requests.
	Fault func(grant string) (status int, inject bool)

	signer      *token.Signer
	clock       func() time.Time
	tenantID    string
	lifetime    atomic.Int64 // time.Duration of access tokens
	log         *slog.Logger
	apps        map[string]*app
	grants      map[string]grantFunc
	resources   []resource
	autoApprove bool

	mu        sync.Mutex
	refresh   map[string]*refreshGrant
	signIn    User
	codes     map[string]*authCode
	devices   map[string]*deviceAuth // by device_code
	userCodes map[string]*deviceAuth // by normalised user_code
	jtis      map[string]time.Time   // client assertion ids seen, until they expire
}

// app is a registered client plus the object id of its service principal (the oid of
// app-only tokens) and the thumbprints of its certificates.
type app struct {
	App
	objectID string
	keys     []appKey
}

// New returns a Server for one tenant and its registered apps.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = opts.Signer.Now
	}
	s := &Server{
		signer:      opts.Signer,
		clock:       opts.Now,
		tenantID:    opts.TenantID,
		log:         opts.Logger,
		apps:        make(map[string]*app, len(opts.Apps)),
		refresh:     make(map[string]*refreshGrant),
		resources:   knownResources(),
		autoApprove: opts.AutoApproveDeviceCodes,
		signIn:      opts.SignInUser,
		codes:       make(map[string]*authCode),
		devices:     make(map[string]*deviceAuth),
		userCodes:   make(map[string]*deviceAuth),
		jtis:        make(map[string]time.Time),
	}
	s.SetTokenLifetime(opts.TokenLifetime)
	for _, a := range opts.Apps {
		a.Roles = append([]string(nil), a.Roles...)
		a.Certificates = append([]*x509.Certificate(nil), a.Certificates...)
		s.apps[strings.ToLower(a.ClientID)] = &app{App: a, objectID: token.NewGUID(), keys: thumbprints(a.Certificates)}
	}
	s.grants = s.grantTable()
	return s
}

// SetTokenLifetime changes the lifetime of access tokens minted from now on; d <= 0 means one
// hour. Tests use it to mint short-lived tokens at run time. Safe for concurrent use.
func (s *Server) SetTokenLifetime(d time.Duration) {
	if d <= 0 {
		d = time.Hour
	}
	s.lifetime.Store(int64(d))
}

func (s *Server) tokenLifetime() time.Duration { return time.Duration(s.lifetime.Load()) }

// SetSignInUser changes the user /authorize consents as and ApproveDeviceCode approves as.
// Safe for concurrent use.
func (s *Server) SetSignInUser(u User) {
	s.mu.Lock()
	s.signIn = u
	s.mu.Unlock()
}

func (s *Server) now() time.Time { return s.clock() }

// tokenRequest is one parsed call of the token endpoint.
type tokenRequest struct {
	tenant        string // as written in the path, lower-cased
	form          map[string][]string
	clientID      string
	clientSecret  string // "" when none was sent
	secretSent    bool
	assertionType string // client_assertion_type, "" when none was sent
	assertion     string // client_assertion, "" when none was sent
	// endpoints are the URLs of this token endpoint a client assertion may name as aud: the
	// request's own URL, and the same with the tenant id in place of the tenant as written.
	endpoints []string
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

// requestIDs are the ids one request reports: the trace id is the service's own, the
// correlation id is the caller's client-request-id (MSAL sends one) or a fresh one.
type requestIDs struct{ trace, correlation string }

// ServeHTTP serves the token, authorize and devicecode endpoints below /{tenant}/oauth2/v2.0/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ids := requestIDs{trace: token.NewGUID(), correlation: r.Header.Get("client-request-id")}
	if ids.correlation == "" {
		ids.correlation = token.NewGUID()
	}
	w.Header().Set("x-ms-request-id", ids.trace)
	w.Header().Set("client-request-id", ids.correlation)

	rawTenant, endpoint, ok := splitPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	tenant := strings.ToLower(rawTenant)
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	switch endpoint {
	case "token":
		resp, grant, oerr := s.handle(r, tenant, rawTenant)
		if oerr != nil {
			s.fail(w, oerr, ids, "token request failed", "grant_type", grant)
			return
		}
		s.log.Info("token issued", "grant_type", grant, "trace_id", ids.trace)
		writeJSON(w, http.StatusOK, resp)
	case "devicecode":
		resp, oerr := s.deviceAuthorization(r, tenant)
		if oerr != nil {
			s.fail(w, oerr, ids, "device authorization failed")
			return
		}
		s.log.Info("device code issued", "client_id", resp.clientID, "trace_id", ids.trace)
		writeJSON(w, http.StatusOK, resp)
	case "authorize":
		s.serveAuthorize(w, r, tenant, ids)
	}
}

// fail logs and writes an error in the AADSTS shape.
func (s *Server) fail(w http.ResponseWriter, oerr *oauthError, ids requestIDs, msg string, attrs ...any) {
	attrs = append(attrs, "error", oerr.err, "code", oerr.code, "trace_id", ids.trace)
	s.log.Info(msg, attrs...)
	writeError(w, oerr, ids.trace, ids.correlation, s.now())
}

// handle validates the request envelope (method, tenant, body) and dispatches on grant_type.
func (s *Server) handle(r *http.Request, tenant, rawTenant string) (*tokenResponse, string, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, "", errMethod("POST, OPTIONS", r.Method)
	}
	alias, oerr := s.checkTenant(tenant)
	if oerr != nil {
		return nil, "", oerr
	}
	req, oerr := s.parse(r, tenant, rawTenant)
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
	// grant itself (a user's code or refresh token); an app-only request has no user to go by.
	if alias && !userGrants[grant] {
		return nil, grant, errNoTenantInfo()
	}
	if oerr := s.injectedFault(grant); oerr != nil {
		return nil, grant, oerr
	}
	resp, oerr := fn(req)
	return resp, grant, oerr
}

// checkTenant accepts this tenant's id and the multi-tenant aliases (alias reports which).
func (s *Server) checkTenant(tenant string) (alias bool, oerr *oauthError) {
	alias = tenant == "common" || tenant == "organizations"
	if !alias && !strings.EqualFold(tenant, s.tenantID) {
		return false, errTenantNotFound(tenant)
	}
	return alias, nil
}

// injectedFault asks the Fault hook whether this request should fail as unavailable.
func (s *Server) injectedFault(grant string) *oauthError {
	if s.Fault == nil {
		return nil
	}
	status, inject := s.Fault(grant)
	if !inject {
		return nil
	}
	return errUnavailable(status)
}

// splitPath extracts {tenant} (as written) and the endpoint name from
// /{tenant}/oauth2/v2.0/{token|authorize|devicecode}.
func splitPath(p string) (tenant, endpoint string, ok bool) {
	for _, ep := range []string{"token", "authorize", "devicecode"} {
		rest, found := strings.CutSuffix(p, "/oauth2/v2.0/"+ep)
		if found && strings.HasPrefix(rest, "/") && strings.Count(rest, "/") == 1 && len(rest) >= 2 {
			return rest[1:], ep, true
		}
	}
	return "", "", false
}

// parse reads the form body and the client credentials (form fields or HTTP Basic, NOTES §7).
// A body that is not form-encoded is not parsed at all, so the service then reports the first
// parameter it misses, grant_type.
func (s *Server) parse(r *http.Request, tenant, rawTenant string) (*tokenRequest, *oauthError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, errMissingParam("grant_type")
	}
	if err := r.ParseForm(); err != nil {
		return nil, errMissingParam("grant_type")
	}
	req := &tokenRequest{tenant: tenant, form: r.PostForm, endpoints: s.endpointURLs(r, rawTenant)}
	req.clientID = req.get("client_id")
	req.assertionType, req.assertion = req.get("client_assertion_type"), req.get("client_assertion")
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

// endpointURLs are the two spellings of this token endpoint's URL a client assertion's aud may
// use: the URL the request was sent to, and the same with the tenant id as the tenant.
func (s *Server) endpointURLs(r *http.Request, rawTenant string) []string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + "/"
	return []string{base + rawTenant + "/oauth2/v2.0/token", base + s.tenantID + "/oauth2/v2.0/token"}
}

// client authenticates the caller with its secret or a client assertion (NOTES §7).
// requireCredential is false for the delegated grants, where a public client sends neither;
// a credential that is sent is always checked.
func (s *Server) client(req *tokenRequest, requireCredential bool) (*app, *oauthError) {
	if req.clientID == "" {
		return nil, errMissingParam("client_id")
	}
	a, ok := s.apps[strings.ToLower(req.clientID)]
	if !ok {
		return nil, errUnknownClient(req.clientID, s.tenantID)
	}
	assertionSent := req.assertionType != "" || req.assertion != ""
	switch {
	case assertionSent && req.secretSent:
		return nil, errTwoCredentials()
	case assertionSent:
		if oerr := s.verifyAssertion(req, a); oerr != nil {
			return nil, oerr
		}
	case !req.secretSent && requireCredential:
		return nil, errNoCredential()
	case req.secretSent && !secretEqual(req.clientSecret, a.ClientSecret):
		return nil, errInvalidSecret(a.ClientID)
	}
	return a, nil
}

// expiresIn is what the service reports for a token minted just now: one second under the
// lifetime (3599 for an hour, samples/token-response.json).
func (s *Server) expiresIn() int {
	n := int(s.tokenLifetime()/time.Second) - 1
	return max(n, 1)
}
