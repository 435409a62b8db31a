// Package token mints and verifies the JWT-shaped access tokens of the sandbox.
//
// The sandbox identity platform (sandbox/idpemu) mints them; the resource emulators
// (sandbox/graphemu, sandbox/adsemu) verify them, exactly as Microsoft Graph and the
// Customer Management service verify tokens issued by login.microsoftonline.com:
// signature, audience and expiry. Tokens are HS256-signed with a key that lives only
// in the sandbox process; clients must treat them as opaque, as they must real ones.
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audiences the sandbox issues tokens for. They are the real resource identifiers.
const (
	AudienceGraph = "https://graph.microsoft.com"
	AudienceAds   = "https://ads.microsoft.com"
)

// Verification failures. Resource emulators map them to their service's real error shape
// (Graph 401 InvalidAuthenticationToken, Customer Management fault 105 or 109).
var (
	ErrMalformed = errors.New("access token is malformed")
	ErrSignature = errors.New("access token signature is invalid")
	ErrExpired   = errors.New("access token has expired or is not yet valid")
	ErrAudience  = errors.New("access token audience is invalid")
)

// Claims is the subset of Microsoft identity platform access-token claims the sandbox uses.
type Claims struct {
	Audience  string   `json:"aud"`
	Issuer    string   `json:"iss"`
	TenantID  string   `json:"tid"`
	AppID     string   `json:"appid,omitempty"`
	ObjectID  string   `json:"oid,omitempty"`
	UPN       string   `json:"upn,omitempty"`
	Roles     []string `json:"roles,omitempty"` // application permissions (app-only tokens)
	Scope     string   `json:"scp,omitempty"`   // delegated permissions, space separated
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expiry    int64    `json:"exp"`
	TokenID   string   `json:"uti"`
}

// Signer mints and verifies tokens with one process-local key.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner returns a Signer with a fresh random key. now may be nil (time.Now).
func NewSigner(now func() time.Time) *Signer {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(fmt.Sprintf("token: no randomness: %v", err))
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, now: now}
}

// Now is the signer's clock, shared with the emulators so tests can move time.
func (s *Signer) Now() time.Time { return s.now() }

var header = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

// Mint signs c after filling in iat/nbf/exp from lifetime and a unique token id.
func (s *Signer) Mint(c Claims, lifetime time.Duration) string {
	now := s.now()
	c.IssuedAt = now.Unix()
	c.NotBefore = now.Add(-5 * time.Minute).Unix() // the real service back-dates nbf by five minutes
	c.Expiry = now.Add(lifetime).Unix()
	c.TokenID = RandomID(16)
	body, _ := json.Marshal(c)
	signingInput := header + "." + base64.RawURLEncoding.EncodeToString(body)
	return signingInput + "." + s.sign(signingInput)
}

func (s *Signer) sign(input string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(input))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks signature, validity window and audience, and returns the claims.
func (s *Signer) Verify(tok, audience string) (Claims, error) {
	var c Claims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, ErrMalformed
	}
	want := s.sign(parts[0] + "." + parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return c, ErrSignature
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, ErrMalformed
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, ErrMalformed
	}
	now := s.now().Unix()
	if now >= c.Expiry || now < c.NotBefore {
		return c, ErrExpired
	}
	if c.Audience != audience {
		return c, ErrAudience
	}
	return c, nil
}

// RandomID returns n random bytes, base64url encoded: request ids, token ids, codes.
func RandomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("token: no randomness: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewGUID returns a random RFC 4122 version-4 GUID in the 8-4-4-4-12 form Microsoft uses
// for request-id, TrackingId, trace_id and correlation_id.
func NewGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("token: no randomness: %v", err))
	}
	return FormatGUID(b)
}

// FormatGUID formats 16 bytes as a version-4 GUID.
func FormatGUID(b [16]byte) string {
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
