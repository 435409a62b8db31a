package idpemu

import (
	"strings"
)

// Grant types the endpoint understands.
const (
	grantClientCredentials = "client_credentials"
	grantRefreshToken      = "refresh_token"
	grantAuthorizationCode = "authorization_code"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// userGrants are the grants that carry a user, so the multi-tenant aliases (/common,
// /organizations) can infer the tenant from them.
var userGrants = map[string]bool{grantRefreshToken: true, grantAuthorizationCode: true, grantDeviceCode: true}

// grantFunc redeems one grant type. It gets a parsed request whose tenant has already been
// checked and returns the success body or the error to send.
type grantFunc func(*tokenRequest) (*tokenResponse, *oauthError)

func (s *Server) grantTable() map[string]grantFunc {
	return map[string]grantFunc{
		grantClientCredentials: s.clientCredentials,
		grantRefreshToken:      s.refreshToken,
		grantAuthorizationCode: s.authorizationCode,
		grantDeviceCode:        s.deviceCode,
	}
}

// clientCredentials is the app-only flow (NOTES §7 [cc-flow]): the app authenticates with its
// secret or a certificate client assertion and asks for exactly one "<resource>/.default"; the
// token carries the app's roles.
func (s *Server) clientCredentials(req *tokenRequest) (*tokenResponse, *oauthError) {
	a, oerr := s.client(req, true)
	if oerr != nil {
		return nil, oerr
	}
	raw := req.get("scope")
	if strings.TrimSpace(raw) == "" {
		return nil, errMissingParam("scope")
	}
	sr, oerr := s.parseScope(raw)
	if oerr != nil {
		return nil, oerr
	}
	for _, p := range sr.perms {
		if p != ".default" {
			return nil, errNotDefaultScope(raw)
		}
	}
	if sr.res == nil || len(sr.perms) != 1 || len(sr.oidc) > 0 || !sr.res.appOnly {
		return nil, errInvalidScope(raw)
	}
	at := s.signer.Mint(s.appClaims(a, sr.res.audience), s.tokenLifetime())
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: s.expiresIn(), ExtExpiresIn: s.expiresIn(), AccessToken: at}, nil
}

// refreshToken redeems a delegated refresh token for any resource the user consented to and
// rotates it: every success returns a new refresh token. The old one stays valid, as with the
// real service, unless Strict is set.
func (s *Server) refreshToken(req *tokenRequest) (*tokenResponse, *oauthError) {
	a, oerr := s.client(req, false)
	if oerr != nil {
		return nil, oerr
	}
	rt := req.get("refresh_token")
	if rt == "" {
		return nil, errMissingParam("refresh_token")
	}
	sr, oerr := s.parseScope(req.get("scope"))
	if oerr != nil {
		return nil, oerr
	}
	g, oerr := s.redeem(rt, a.ClientID)
	if oerr != nil {
		return nil, oerr
	}
	return s.userTokens(a, User{UPN: g.upn, OID: g.oid}, sr, true), nil
}

// userTokens mints the delegated answer for user u: an access token for the requested resource
// and, with withRefresh, a new refresh token for the same user and app.
func (s *Server) userTokens(a *app, u User, sr *scopeRequest, withRefresh bool) *tokenResponse {
	res, scp, granted := sr.delegated(&s.resources[0])
	g := refreshGrant{clientID: a.ClientID, upn: u.UPN, oid: u.OID}
	resp := &tokenResponse{
		TokenType:    "Bearer",
		Scope:        granted,
		ExpiresIn:    s.expiresIn(),
		ExtExpiresIn: s.expiresIn(),
		AccessToken:  s.signer.Mint(s.userClaims(a, g, res.audience, scp), s.tokenLifetime()),
	}
	if withRefresh {
		resp.RefreshToken = s.storeRefresh(g)
	}
	return resp
}

// wantsOfflineAccess reports whether any of the scope parameters asks for offline_access: the
// v2 endpoint returns a refresh token from a code or device code only then
// (v2-oauth2-auth-code-flow.md, v2-oauth2-device-code.md).
func wantsOfflineAccess(scopes ...string) bool {
	for _, raw := range scopes {
		for _, f := range strings.Fields(raw) {
			if strings.EqualFold(f, "offline_access") {
				return true
			}
		}
	}
	return false
}
