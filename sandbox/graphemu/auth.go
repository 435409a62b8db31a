package graphemu

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/msidm/msidm/sandbox/token"
)

// wwwAuthenticate is the challenge Microsoft Graph sends with 401 responses: the authority and
// Graph's own application id. (NOTES §6.3 only describes the CAE variant with claims="…"; this
// plain form is what the service returns otherwise.)
const wwwAuthenticate = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`

// authenticate verifies the bearer token for the Graph audience. Messages follow NOTES §3.1
// (empty, expired) and the service's observed texts for the other failures.
func (s *Server) authenticate(r *http.Request) (token.Claims, *graphError) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return token.Claims{}, errUnauthenticated("Access token is empty.")
	}
	c, err := s.verified.verify(s.signer, tok)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, token.ErrExpired):
		return c, errUnauthenticated("Access token has expired or is not yet valid.")
	case errors.Is(err, token.ErrAudience):
		return c, errUnauthenticated("Access token validation failure. Invalid audience.")
	case errors.Is(err, token.ErrSignature):
		return c, errUnauthenticated("Access token validation failure.")
	case !strings.Contains(tok, "."):
		return c, errUnauthenticated("IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE " +
			"Compact Serialization Format. (JWS): 'EncodedHeader.EncodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader." +
			"EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.")
	default:
		return c, errUnauthenticated("CompactToken parsing failed with error code: 80049217")
	}
}

func errUnauthenticated(message string) *graphError {
	e := newError(http.StatusUnauthorized, "InvalidAuthenticationToken", message)
	e.header = map[string]string{"WWW-Authenticate": wwwAuthenticate}
	return e
}

// tokenCache remembers tokens that verified, so the signature and JSON of a token a client
// reuses for an hour are checked once; the validity window is still checked on every use.
// Graph traffic is one token per client for many requests, and verification was about 40%
// of a single-user GET.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]token.Claims
}

// tokenCacheSize bounds the cache; when full it starts over (tokens are re-verified).
const tokenCacheSize = 4096

func (c *tokenCache) verify(signer *token.Signer, tok string) (token.Claims, error) {
	c.mu.RLock()
	claims, ok := c.m[tok]
	c.mu.RUnlock()
	if ok {
		now := signer.Now().Unix()
		if now < claims.Expiry && now >= claims.NotBefore {
			return claims, nil
		}
	}
	claims, err := signer.Verify(tok, token.AudienceGraph)
	if err != nil {
		return claims, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= tokenCacheSize {
		c.m = make(map[string]token.Claims)
	}
	c.m[tok] = claims
	c.mu.Unlock()
	return claims, nil
}
