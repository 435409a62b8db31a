package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as the SHA-1 thumbprint (RFC 7515 §4.1.7)
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/oauth2"

	"github.com/msidm/msidm/clients/transport"
)

// Alg is the signature algorithm of a client assertion.
type Alg string

// Client assertion algorithms (../shared/reference/graph/NOTES.md §7): the current docs use
// PS256 with the x5t#S256 thumbprint; older docs RS256 with x5t (SHA-1). Entra accepts both.
const (
	PS256 Alg = "PS256"
	RS256 Alg = "RS256"
)

// assertionLifetime is exp − nbf; the docs recommend 5 to 10 minutes.
const assertionLifetime = 10 * time.Minute

// Certificate is an app's certificate and its RSA private key. Its String and GoString show
// the subject and thumbprint, never the key.
type Certificate struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// LoadCertificate reads a PEM file (MSIDM_CLIENT_CERT) holding the certificate and its
// unencrypted RSA private key (PKCS#1 or PKCS#8), in any order; extra chain certificates
// are allowed.
func LoadCertificate(path string) (*Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("MSIDM_CLIENT_CERT: %w", err)
	}
	c, err := ParseCertificatePEM(data)
	if err != nil {
		return nil, fmt.Errorf("MSIDM_CLIENT_CERT %s: %w", path, err)
	}
	return c, nil
}

// ParseCertificatePEM is LoadCertificate on the file's content. Its errors describe what is
// missing, never the content.
func ParseCertificatePEM(data []byte) (*Certificate, error) {
	var certs []*x509.Certificate
	var key *rsa.PrivateKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, errors.New("a CERTIFICATE block is not a valid X.509 certificate")
			}
			certs = append(certs, c)
		case "RSA PRIVATE KEY", "PRIVATE KEY":
			if _, encrypted := b.Headers["Proc-Type"]; encrypted {
				return nil, errors.New("the private key is encrypted; export it without a password (openssl pkey -in key.pem -out plain.pem)")
			}
			k, err := parseRSAKey(b)
			if err != nil {
				return nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; export it without a password (openssl pkey -in key.pem -out plain.pem)")
		case "EC PRIVATE KEY":
			return nil, errors.New("the private key is an EC key; Entra client assertions need an RSA key")
		}
	}
	switch {
	case len(certs) == 0 && key == nil:
		return nil, errors.New("no PEM CERTIFICATE or PRIVATE KEY block found; the file must hold both")
	case len(certs) == 0:
		return nil, errors.New("the file holds a private key but no CERTIFICATE block; append the certificate")
	case key == nil:
		return nil, errors.New("the file holds a certificate but no PRIVATE KEY block; append the RSA private key (PKCS#1 or PKCS#8)")
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			return &Certificate{cert: c, key: key}, nil
		}
	}
	return nil, errors.New("no certificate in the file matches its private key")
}

func parseRSAKey(b *pem.Block) (*rsa.PrivateKey, error) {
	if b.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, errors.New("the RSA PRIVATE KEY block is not a valid PKCS#1 key")
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, errors.New("the PRIVATE KEY block is not a valid PKCS#8 key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is %T; Entra client assertions need an RSA key", k)
	}
	return rk, nil
}

// Thumbprint is the base64url SHA-1 hash of the DER certificate (JWS x5t).
func (c *Certificate) Thumbprint() string {
	h := sha1.Sum(c.cert.Raw) //nolint:gosec
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// ThumbprintSHA256 is the base64url SHA-256 hash of the DER certificate (JWS x5t#S256).
func (c *Certificate) ThumbprintSHA256() string {
	h := sha256.Sum256(c.cert.Raw)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// NotAfter is the end of the certificate's validity.
func (c *Certificate) NotAfter() time.Time { return c.cert.NotAfter }

func (c *Certificate) String() string {
	return fmt.Sprintf("certificate %q (x5t#S256 %s, valid until %s)", c.cert.Subject.String(), c.ThumbprintSHA256(), c.cert.NotAfter.UTC().Format(time.DateOnly))
}

// GoString keeps %#v from printing the key's fields.
func (c *Certificate) GoString() string { return c.String() }

// Assertion returns a signed client assertion JWT (RFC 7523) for clientID to present at
// audience (the token endpoint): iss = sub = clientID, a random jti, nbf = iat = now,
// exp = now + 10 minutes. PS256 (the default for "") uses RSA-PSS with a salt as long as the
// hash (RFC 7518 §3.5) and the x5t#S256 header; RS256 uses PKCS#1 v1.5 and x5t.
func (c *Certificate) Assertion(audience, clientID string, alg Alg, now time.Time) (string, error) {
	header := map[string]string{"typ": "JWT"}
	switch alg {
	case PS256, "":
		header["alg"], header["x5t#S256"] = string(PS256), c.ThumbprintSHA256()
	case RS256:
		header["alg"], header["x5t"] = string(RS256), c.Thumbprint()
	default:
		return "", fmt.Errorf("client assertion: unsupported algorithm %q (use PS256 or RS256)", alg)
	}
	claims := map[string]any{
		"aud": audience, "iss": clientID, "sub": clientID, "jti": newJTI(),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := sha256.Sum256([]byte(signing))
	var sig []byte
	if header["alg"] == string(RS256) {
		sig, err = rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, digest[:])
	} else {
		sig, err = rsa.SignPSS(rand.Reader, c.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		return "", errors.New("client assertion: signing failed")
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// newJTI is a random GUID-shaped id, as the docs show for jti.
func newJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// CertificateCredentials are the app-only settings for Microsoft Graph with a certificate
// instead of a client secret.
type CertificateCredentials struct {
	AuthorityURL string
	TenantID     string
	ClientID     string
	GraphURL     string
	CertFile     string       // MSIDM_CLIENT_CERT; ignored when Certificate is set
	Certificate  *Certificate // an already loaded certificate
	Alg          Alg          // PS256 (default) or RS256
}

// GraphCertificateTokenSource returns a caching token source for Microsoft Graph that
// authenticates with a fresh client assertion on every token request
// (client_credentials, RFC 7521 §4.2). The certificate is loaded now, so a bad file fails at
// start-up.
func GraphCertificateTokenSource(hc *http.Client, c CertificateCredentials) (oauth2.TokenSource, error) {
	cert := c.Certificate
	if cert == nil {
		if c.CertFile == "" {
			return nil, errors.New("MSIDM_CLIENT_CERT: no certificate file given")
		}
		var err error
		if cert, err = LoadCertificate(c.CertFile); err != nil {
			return nil, err
		}
	}
	if c.Alg != "" && c.Alg != PS256 && c.Alg != RS256 {
		return nil, fmt.Errorf("client assertion: unsupported algorithm %q (use PS256 or RS256)", c.Alg)
	}
	src := &assertionSource{hc: hc, tokenURL: TokenURL(c.AuthorityURL, c.TenantID), clientID: c.ClientID,
		scope: graphScope(c.GraphURL), cert: cert, alg: c.Alg, now: time.Now}
	return explainErrors(src, "Microsoft Graph"), nil
}

type assertionSource struct {
	hc       *http.Client
	tokenURL string
	clientID string
	scope    string
	cert     *Certificate
	alg      Alg
	now      func() time.Time
}

func (s *assertionSource) Token() (*oauth2.Token, error) {
	now := s.now()
	jwt, err := s.cert.Assertion(s.tokenURL, s.clientID, s.alg, now)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {s.clientID},
		"scope":                 {s.scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {jwt},
	}
	tr, err := postToken(transport.WithIdempotent(context.Background()), s.hc, s.tokenURL, form)
	if err != nil {
		return nil, err
	}
	return tr.token(now), nil
}
