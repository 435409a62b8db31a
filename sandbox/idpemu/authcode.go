package idpemu

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

// Authorization code flow with PKCE (v2-oauth2-auth-code-flow.md). The sandbox has no UI: a
// valid /authorize request is consented at once by the signed-in user and answered with a 302
// to redirect_uri?code=…&state=….

// authCodeLifetime: "Authorization codes are short lived. Typically, they expire after about
// 10 minutes." (v2-oauth2-auth-code-flow.md)
const authCodeLifetime = 10 * time.Minute

// authCode is an issued authorization code and what it was issued for.
type authCode struct {
	clientID    string
	tenant      string // path tenant of /authorize, lower-cased; the code is redeemed there only
	redirectURI string
	scope       string
	challenge   string // S256 code_challenge
	user        User
	expires     time.Time
	redeemed    bool
}

// serveAuthorize answers GET or POST /{tenant}/oauth2/v2.0/authorize. Errors that make the
// redirect target untrustworthy (tenant, client, redirect_uri) are answered here with 400 and
// the AADSTS JSON body (the service shows an error page); every other outcome is a 302 to the
// redirect URI with code or error, error_description, and state.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, tenant string, ids requestIDs) {
	a, redirect, oerr := s.authorizeTarget(r, tenant)
	if oerr != nil {
		s.fail(w, oerr, ids, "authorize request refused")
		return
	}
	q := url.Values{}
	code, oerr := s.authorize(r.Form, tenant, a)
	if oerr != nil {
		s.log.Info("authorize request failed", "error", oerr.err, "code", oerr.code, "trace_id", ids.trace)
		q.Set("error", oerr.err)
		q.Set("error_description", oerr.description(ids.trace, ids.correlation, s.now().UTC().Format(stsTimestamp)))
	} else {
		s.log.Info("authorization code issued", "client_id", a.ClientID, "trace_id", ids.trace)
		q.Set("code", code)
	}
	if st := r.Form.Get("state"); st != "" {
		q.Set("state", st)
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Location", withQuery(redirect, q))
	w.WriteHeader(http.StatusFound)
}

// authorizeTarget checks what must hold before the answer may be sent to redirect_uri.
func (s *Server) authorizeTarget(r *http.Request, tenant string) (*app, *url.URL, *oauthError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, nil, errMethod("GET, POST", r.Method)
	}
	if _, oerr := s.checkTenant(tenant); oerr != nil {
		return nil, nil, oerr
	}
	if err := r.ParseForm(); err != nil {
		return nil, nil, errMissingParam("client_id")
	}
	clientID := r.Form.Get("client_id")
	if clientID == "" {
		return nil, nil, errMissingParam("client_id")
	}
	a, ok := s.apps[strings.ToLower(clientID)]
	if !ok {
		return nil, nil, errUnknownClient(clientID, s.tenantID)
	}
	raw := r.Form.Get("redirect_uri")
	if raw == "" {
		return nil, nil, errMissingParam("redirect_uri")
	}
	u, ok := loopbackRedirect(raw)
	if !ok {
		return nil, nil, errRedirectURI(raw, a.ClientID)
	}
	return a, u, nil
}

// loopbackRedirect accepts http://localhost and http://127.0.0.1 with any port and path, the
// loopback redirect URIs Entra allows public clients to vary the port of.
func loopbackRedirect(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, false
	}
	h := u.Hostname()
	return u, h == "localhost" || h == "127.0.0.1"
}

// authorize validates the protocol parameters and issues a code for the signed-in user.
func (s *Server) authorize(form url.Values, tenant string, a *app) (string, *oauthError) {
	if rt := form.Get("response_type"); rt != "code" {
		if rt == "" {
			return "", errMissingParam("response_type")
		}
		return "", errResponseType(rt)
	}
	if m := form.Get("response_mode"); m != "" && m != "query" {
		return "", errResponseMode(m)
	}
	scope := form.Get("scope")
	if strings.TrimSpace(scope) == "" {
		return "", errMissingParam("scope")
	}
	if _, oerr := s.parseScope(scope); oerr != nil {
		return "", oerr
	}
	challenge := form.Get("code_challenge")
	if challenge == "" {
		return "", errMissingParam("code_challenge")
	}
	if m := form.Get("code_challenge_method"); m != "S256" {
		return "", errChallengeMethod(m)
	}
	// base64url of a SHA-256 digest is always 43 characters (RFC 7636 §4.2).
	if b, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(b) != sha256.Size {
		return "", errChallengeSize()
	}
	now := s.now()
	code := "1.A" + token.RandomID(96)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signIn == (User{}) {
		return "", errNotSignedIn()
	}
	for k, c := range s.codes {
		if now.After(c.expires.Add(time.Hour)) {
			delete(s.codes, k)
		}
	}
	s.codes[code] = &authCode{
		clientID: a.ClientID, tenant: tenant, redirectURI: form.Get("redirect_uri"), scope: scope,
		challenge: challenge, user: s.signIn, expires: now.Add(authCodeLifetime),
	}
	return code, nil
}

// authorizationCode redeems a code (grant_type=authorization_code). The code is single use;
// a failed attempt (wrong verifier, wrong redirect_uri) does not consume it.
func (s *Server) authorizationCode(req *tokenRequest) (*tokenResponse, *oauthError) {
	a, oerr := s.client(req, false)
	if oerr != nil {
		return nil, oerr
	}
	code, redirect, verifier := req.get("code"), req.get("redirect_uri"), req.get("code_verifier")
	switch {
	case code == "":
		return nil, errMissingParam("code")
	case redirect == "":
		return nil, errMissingParam("redirect_uri")
	}
	scope := req.get("scope")
	sr, oerr := s.parseScope(scope)
	if oerr != nil {
		return nil, oerr
	}
	c, oerr := s.takeCode(code, a.ClientID, req.tenant, redirect, verifier)
	if oerr != nil {
		return nil, oerr
	}
	if strings.TrimSpace(scope) == "" {
		// The token request may leave scope out; the code's scope then applies.
		sr, _ = s.parseScope(c.scope)
	}
	return s.userTokens(a, c.user, sr, wantsOfflineAccess(c.scope, scope)), nil
}

// takeCode checks a code against the redemption request and marks it redeemed, in one
// critical section so a code is redeemed at most once.
func (s *Server) takeCode(code, clientID, tenant, redirect, verifier string) (authCode, *oauthError) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	switch {
	case !ok || !strings.EqualFold(c.clientID, clientID):
		return authCode{}, errInvalidCode()
	case c.redeemed:
		return authCode{}, errCodeRedeemed()
	case now.After(c.expires):
		return authCode{}, errExpiredCode()
	case c.tenant != tenant:
		return authCode{}, errCodeTenant()
	case c.redirectURI != redirect:
		return authCode{}, errRedirectMismatch(redirect, c.redirectURI)
	case verifier == "":
		return authCode{}, errMissingParam("code_verifier")
	case !pkceMatches(verifier, c.challenge):
		return authCode{}, errVerifierMismatch()
	}
	c.redeemed = true
	return *c, nil
}

// pkceMatches reports whether BASE64URL(SHA256(verifier)) equals the S256 challenge
// (RFC 7636 §4.6).
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// withQuery appends q to u's query, keeping what the redirect URI already carries.
func withQuery(u *url.URL, q url.Values) string {
	out := *u
	if out.RawQuery != "" {
		out.RawQuery += "&" + q.Encode()
	} else {
		out.RawQuery = q.Encode()
	}
	return out.String()
}
