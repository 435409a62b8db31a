package idpemu

import (
	"strings"
)

// Grant types the endpoint understands. Later grants (authorization_code with PKCE,
// urn:ietf:params:oauth:grant-type:device_code, client_assertion for client_credentials)
// are added to grantTable.
const (
	grantClientCredentials = "client_credentials"
	grantRefreshToken      = "refresh_token"
)

// grantFunc redeems one grant type. It gets a parsed request whose tenant has already been
// checked and returns the success body or the error to send.
type grantFunc func(*tokenRequest) (*tokenResponse, *oauthError)

func (s *Server) grantTable() map[string]grantFunc {
	return map[string]grantFunc{
		grantClientCredentials: s.clientCredentials,
		grantRefreshToken:      s.refreshToken,
	}
}

// clientCredentials is the app-only flow (NOTES §7 [cc-flow]): the app authenticates with its
// secret and asks for exactly one "<resource>/.default"; the token carries the app's roles.
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
	at := s.signer.Mint(s.appClaims(a, sr.res.audience), s.lifetime)
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
	res, scp, granted := sr.delegated(&s.resources[0])
	claims := s.userClaims(a, g, res.audience, scp)
	return &tokenResponse{
		TokenType:    "Bearer",
		Scope:        granted,
		ExpiresIn:    s.expiresIn(),
		ExtExpiresIn: s.expiresIn(),
		AccessToken:  s.signer.Mint(claims, s.lifetime),
		RefreshToken: s.storeRefresh(refreshGrant{clientID: g.clientID, upn: g.upn, oid: g.oid}),
	}, nil
}
