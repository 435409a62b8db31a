package idpemu

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// Certificate client assertions (NOTES §7 [cert], both generations of the doc):
//   - 2025: alg PS256, header x5t#S256 = base64url SHA-256 thumbprint of the DER certificate;
//   - older: alg RS256, header x5t = base64url SHA-1 thumbprint.
//
// Claims: aud = this token endpoint, iss = sub = client id, exp, nbf, jti, iat.

const (
	assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// assertionSkew is the clock skew allowed on exp and nbf.
	assertionSkew = 5 * time.Minute
)

// appKey is a registered certificate and its two thumbprints.
type appKey struct {
	cert   *x509.Certificate
	sha1   [sha1.Size]byte
	sha256 [sha256.Size]byte
}

func thumbprints(certs []*x509.Certificate) []appKey {
	keys := make([]appKey, 0, len(certs))
	for _, c := range certs {
		keys = append(keys, appKey{cert: c, sha1: sha1.Sum(c.Raw), sha256: sha256.Sum256(c.Raw)})
	}
	return keys
}

type assertionHeader struct {
	Alg     string `json:"alg"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

type assertionClaims struct {
	Aud audience `json:"aud"`
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Jti string   `json:"jti"`
	Exp *float64 `json:"exp"`
	Nbf *float64 `json:"nbf"`
}

// audience is a JWT aud claim: one string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// verifyAssertion authenticates app a by the client assertion in req: header, registered key,
// signature, then the claims, and finally records the jti so the assertion cannot be replayed.
func (s *Server) verifyAssertion(req *tokenRequest, a *app) *oauthError {
	if req.assertionType != assertionTypeJWTBearer {
		return errAssertionType()
	}
	if req.assertion == "" {
		return errMissingParam("client_assertion")
	}
	parts := strings.Split(req.assertion, ".")
	if len(parts) != 3 {
		return errMalformedAssertion("The client assertion is not a signed JWT (JWS compact serialization).")
	}
	var h assertionHeader
	var c assertionClaims
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || decodeSegment(parts[0], &h) != nil || decodeSegment(parts[1], &c) != nil {
		return errMalformedAssertion("The client assertion could not be decoded.")
	}
	if h.Alg != "RS256" && h.Alg != "PS256" {
		return errAssertionSignature("The signing algorithm '" + h.Alg + "' is not supported; use PS256 or RS256.")
	}
	key, thumb := a.signingKey(h)
	if key == nil {
		return errAssertionKey("The key was not found.", thumb, a.ClientID)
	}
	now := s.now()
	if now.Before(key.cert.NotBefore) || now.After(key.cert.NotAfter) {
		return errAssertionKey("The key used is expired.", thumb, a.ClientID)
	}
	if !verifySignature(h.Alg, key.cert, parts[0]+"."+parts[1], sig) {
		return errAssertionSignature("The provided signature value did not match the expected signature value.")
	}
	if oerr := s.checkAssertionClaims(req, &c, now); oerr != nil {
		return oerr
	}
	return s.useJTI(a.ClientID, c.Jti, unixTime(*c.Exp).Add(assertionSkew), now)
}

func (s *Server) checkAssertionClaims(req *tokenRequest, c *assertionClaims, now time.Time) *oauthError {
	switch {
	case !strings.EqualFold(c.Iss, req.clientID):
		return errAssertionClientID()
	case c.Sub != c.Iss:
		return errAssertionSubject()
	case !audienceMatches(c.Aud, req.endpoints):
		return errAssertionAudience(strings.Join(c.Aud, " "))
	case c.Exp == nil || !finite(*c.Exp):
		return errMalformedAssertion("The client assertion does not contain an 'exp' claim.")
	case c.Nbf != nil && !finite(*c.Nbf):
		return errMalformedAssertion("The client assertion's 'nbf' claim is not a number of seconds.")
	case c.Jti == "":
		return errMalformedAssertion("The client assertion does not contain a 'jti' claim.")
	}
	exp := unixTime(*c.Exp)
	nbf, from := time.Time{}, "(not set)"
	if c.Nbf != nil {
		nbf = unixTime(*c.Nbf)
		from = nbf.UTC().Format(assertionTimeFormat)
	}
	if now.After(exp.Add(assertionSkew)) || (c.Nbf != nil && now.Before(nbf.Add(-assertionSkew))) {
		return errAssertionTime(now, from, exp.UTC().Format(assertionTimeFormat))
	}
	return nil
}

// useJTI records a client assertion id until it expires; a second use within that time fails.
func (s *Server) useJTI(clientID, jti string, until, now time.Time) *oauthError {
	k := strings.ToLower(clientID) + "\x00" + jti
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.jtis {
		if now.After(t) {
			delete(s.jtis, id)
		}
	}
	if _, seen := s.jtis[k]; seen {
		return errAssertionReplay(jti)
	}
	s.jtis[k] = until
	return nil
}

// signingKey finds the registered certificate the header names, by x5t#S256 first, then x5t.
// thumb is the thumbprint as the service reports it (upper-case hex), for error messages.
func (a *app) signingKey(h assertionHeader) (key *appKey, thumb string) {
	if h.X5tS256 != "" {
		b, ok := decodeThumbprint(h.X5tS256)
		thumb = reportThumbprint(h.X5tS256, b, ok)
		for i := range a.keys {
			if ok && bytes.Equal(b, a.keys[i].sha256[:]) {
				return &a.keys[i], thumb
			}
		}
	}
	if h.X5t != "" {
		b, ok := decodeThumbprint(h.X5t)
		if thumb == "" {
			thumb = reportThumbprint(h.X5t, b, ok)
		}
		for i := range a.keys {
			if ok && bytes.Equal(b, a.keys[i].sha1[:]) {
				return &a.keys[i], thumb
			}
		}
	}
	return nil, thumb
}

// decodeThumbprint accepts base64url as documented, and also padded or standard base64, which
// some client libraries send for x5t.
func decodeThumbprint(v string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b, true
		}
	}
	return nil, false
}

func reportThumbprint(raw string, b []byte, ok bool) string {
	if !ok {
		return raw
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// verifySignature checks an RS256 (PKCS #1 v1.5) or PS256 (PSS, salt length = hash length as
// RFC 7518 §3.5 requires) signature with the certificate's RSA public key.
func verifySignature(alg string, cert *x509.Certificate, input string, sig []byte) bool {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return false
	}
	digest := sha256.Sum256([]byte(input))
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	return false
}

func audienceMatches(aud audience, endpoints []string) bool {
	for _, a := range aud {
		for _, e := range endpoints {
			if strings.EqualFold(a, e) {
				return true
			}
		}
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e15 }

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
