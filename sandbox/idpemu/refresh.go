package idpemu

import (
	"strings"

	"github.com/msidm/msidm/sandbox/token"
)

// refreshGrant is what a refresh token stands for: a user's delegated consent to one app.
type refreshGrant struct {
	clientID string
	upn, oid string
	revoked  bool
}

// IssueRefreshToken registers and returns a delegated refresh token for user upn (oid = object
// id string) of app clientID, as if the user had signed in interactively; used to bootstrap
// Microsoft Advertising (delegated) access. If no signed-in user is configured yet, this user
// becomes it (see Options.SignInUser).
func (s *Server) IssueRefreshToken(clientID, upn, oid string) string {
	s.mu.Lock()
	if s.signIn == (User{}) {
		s.signIn = User{UPN: upn, OID: oid}
	}
	s.mu.Unlock()
	return s.storeRefresh(refreshGrant{clientID: clientID, upn: upn, oid: oid})
}

// storeRefresh mints an opaque refresh token. Real ones start "0.A" or "1.A" followed by a long
// base64url string; clients must treat them as opaque, so only the prefix is imitated.
func (s *Server) storeRefresh(g refreshGrant) string {
	rt := "1.A" + token.RandomID(96)
	s.mu.Lock()
	s.refresh[rt] = &g
	s.mu.Unlock()
	return rt
}

// redeem checks a refresh token presented by clientID and returns its grant. With Strict the
// token is revoked in the same critical section, so it can be redeemed exactly once.
func (s *Server) redeem(rt, clientID string) (refreshGrant, *oauthError) {
	if !looksLikeRefreshToken(rt) {
		return refreshGrant{}, errMalformedGrant()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[rt]
	switch {
	case !ok || !strings.EqualFold(g.clientID, clientID):
		return refreshGrant{}, errInvalidRefreshToken()
	case g.revoked:
		return refreshGrant{}, errRevokedGrant()
	}
	if s.Strict {
		g.revoked = true
	}
	return *g, nil
}

func looksLikeRefreshToken(rt string) bool {
	if len(rt) < 16 || !(strings.HasPrefix(rt, "0.A") || strings.HasPrefix(rt, "1.A")) {
		return false
	}
	for _, c := range rt[3:] {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
