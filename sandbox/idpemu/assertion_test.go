package idpemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

// keys is the registered certificate with its private key, plus an unregistered key.
type testKeyset struct {
	key, otherKey *rsa.PrivateKey
	cert          *x509.Certificate
}

var testKeys = sync.OnceValue(func() testKeyset {
	key := mustKey()
	return testKeyset{key: key, otherKey: mustKey(), cert: selfSigned(key, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))}
})

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func selfSigned(key *rsa.PrivateKey, notBefore, notAfter time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "msidm sandbox test"},
		NotBefore:    notBefore, NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}

func x5t(c *x509.Certificate) string {
	s := sha1.Sum(c.Raw)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func x5tS256(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// signJWT builds a compact JWS with alg RS256 or PS256 (anything else gets a dummy signature).
func signJWT(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch header["alg"] {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		sig = []byte("not a signature")
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// assertionClaimsFor are valid claims for testClient at the fixture's token endpoint.
func (f *fixture) assertionClaimsFor() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"aud": f.base + "/" + testTenant + "/oauth2/v2.0/token",
		"iss": testClient, "sub": testClient, "jti": token.NewGUID(),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

func psHeader() map[string]any {
	return map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": x5tS256(testKeys().cert)}
}

func rsHeader() map[string]any {
	return map[string]any{"alg": "RS256", "typ": "JWT", "x5t": x5t(testKeys().cert)}
}

func ccAssertion(assertion string) url.Values {
	return url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClient}, "scope": {graphScope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	}
}

func TestClientAssertionSuccess(t *testing.T) {
	f := newFixture(t)
	k := testKeys()
	stdX5t := func() map[string]any {
		s := sha1.Sum(k.cert.Raw)
		return map[string]any{"alg": "RS256", "x5t": base64.StdEncoding.EncodeToString(s[:])}
	}
	tests := []struct {
		name   string
		header map[string]any
		claims func(map[string]any)
		tenant string
	}{
		{"PS256 x5t#S256 (2025 doc)", psHeader(), nil, testTenant},
		{"RS256 x5t (older doc)", rsHeader(), nil, testTenant},
		{"both thumbprints", map[string]any{"alg": "PS256", "x5t": x5t(k.cert), "x5t#S256": x5tS256(k.cert)}, nil, testTenant},
		{"x5t in standard base64", stdX5t(), nil, testTenant},
		{"aud as array", psHeader(), func(c map[string]any) { c["aud"] = []string{c["aud"].(string)} }, testTenant},
		{"tenant in upper case", psHeader(), func(c map[string]any) {
			c["aud"] = f.base + "/" + strings.ToUpper(testTenant) + "/oauth2/v2.0/token"
		}, strings.ToUpper(testTenant)},
		{"expired within skew", psHeader(), func(c map[string]any) {
			c["exp"] = f.clock.Now().Add(-4 * time.Minute).Unix()
			c["nbf"] = f.clock.Now().Add(-10 * time.Minute).Unix()
		}, testTenant},
		{"no nbf", psHeader(), func(c map[string]any) { delete(c, "nbf") }, testTenant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims := f.assertionClaimsFor()
			if tc.claims != nil {
				tc.claims(claims)
			}
			r := f.call(t, "POST", tc.tenant, "application/x-www-form-urlencoded", ccAssertion(signJWT(t, k.key, tc.header, claims)), nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			c, err := f.signer.Verify(r.body["access_token"].(string), token.AudienceGraph)
			if err != nil {
				t.Fatal(err)
			}
			if c.AppID != testClient || len(c.Roles) != 2 {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestClientAssertionErrors(t *testing.T) {
	f := newFixture(t)
	k := testKeys()
	now := f.clock.Now()
	expiredCert := selfSigned(k.otherKey, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	f2 := newFixtureWith(t, func(o *Options) { o.Apps[0].Certificates = []*x509.Certificate{expiredCert} })

	type mod func(h, c map[string]any)
	tests := []struct {
		name   string
		f      *fixture
		key    *rsa.PrivateKey
		mod    mod
		form   func(url.Values) url.Values
		status int
		oauth  string
		code   float64
		text   string
	}{
		{"wrong key", f, k.otherKey, nil, nil, 401, "invalid_client", 700027, "did not match the expected signature"},
		{"wrong key RS256", f, k.otherKey, func(h, c map[string]any) { h["alg"], h["x5t"] = "RS256", x5t(k.cert); delete(h, "x5t#S256") },
			nil, 401, "invalid_client", 700027, "did not match"},
		{"unknown thumbprint", f, k.key, func(h, c map[string]any) { h["x5t#S256"] = x5tS256(expiredCert) }, nil, 401, "invalid_client", 700027, "The key was not found."},
		{"no thumbprint", f, k.key, func(h, c map[string]any) { delete(h, "x5t#S256") }, nil, 401, "invalid_client", 700027, "The key was not found."},
		{"sha1 thumbprint in x5t#S256", f, k.key, func(h, c map[string]any) { h["x5t#S256"] = x5t(k.cert) }, nil, 401, "invalid_client", 700027, "not found"},
		{"expired certificate", f2, k.otherKey, func(h, c map[string]any) { h["x5t#S256"] = x5tS256(expiredCert) }, nil, 401, "invalid_client", 700027, "The key used is expired."},
		{"alg HS256", f, k.key, func(h, c map[string]any) { h["alg"] = "HS256" }, nil, 401, "invalid_client", 700027, "HS256"},
		{"alg none", f, k.key, func(h, c map[string]any) { h["alg"] = "none" }, nil, 401, "invalid_client", 700027, "none"},
		{"wrong aud", f, k.key, func(h, c map[string]any) {
			c["aud"] = "https://login.microsoftonline.com/" + testTenant + "/oauth2/v2.0/token"
		},
			nil, 401, "invalid_client", 50027, "audience"},
		{"aud of another tenant", f, k.key, func(h, c map[string]any) {
			c["aud"] = f.base + "/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token"
		}, nil, 401, "invalid_client", 50027, "audience"},
		{"aud v1 endpoint", f, k.key, func(h, c map[string]any) { c["aud"] = f.base + "/" + testTenant + "/oauth2/token" }, nil, 401, "invalid_client", 50027, "audience"},
		{"expired", f, k.key, func(h, c map[string]any) {
			c["nbf"], c["exp"] = now.Add(-20*time.Minute).Unix(), now.Add(-6*time.Minute).Unix()
		}, nil, 401, "invalid_client", 700024, "not within its valid time range"},
		{"not yet valid", f, k.key, func(h, c map[string]any) {
			c["nbf"], c["exp"] = now.Add(6*time.Minute).Unix(), now.Add(16*time.Minute).Unix()
		}, nil, 401, "invalid_client", 700024, "not within its valid time range"},
		{"no exp", f, k.key, func(h, c map[string]any) { delete(c, "exp") }, nil, 401, "invalid_client", 50027, "'exp'"},
		{"no jti", f, k.key, func(h, c map[string]any) { delete(c, "jti") }, nil, 401, "invalid_client", 50027, "'jti'"},
		{"iss is another app", f, k.key, func(h, c map[string]any) { c["iss"], c["sub"] = otherClient, otherClient }, nil, 401, "invalid_client", 700021, "client_id"},
		{"sub differs from iss", f, k.key, func(h, c map[string]any) { c["sub"] = otherClient }, nil, 401, "invalid_client", 50048, "Subject"},
		{"malformed", f, k.key, nil, func(v url.Values) url.Values { return with(v, "client_assertion", "a.b") }, 401, "invalid_client", 50027, "JWT"},
		{"garbage segments", f, k.key, nil, func(v url.Values) url.Values { return with(v, "client_assertion", "!!.??.**") }, 401, "invalid_client", 50027, "decoded"},
		{"wrong assertion type", f, k.key, nil, func(v url.Values) url.Values { return with(v, "client_assertion_type", "jwt") }, 400, "invalid_request", 90100, "client_assertion_type"},
		{"type without assertion", f, k.key, nil, func(v url.Values) url.Values { return without(v, "client_assertion") }, 400, "invalid_request", 900144, "'client_assertion'"},
		{"assertion and secret", f, k.key, nil, func(v url.Values) url.Values { return with(v, "client_secret", testSecret) }, 400, "invalid_request", 90023, "not both"},
		{"app without certificates", f, k.key, func(h, c map[string]any) { c["iss"], c["sub"] = otherClient, otherClient },
			func(v url.Values) url.Values { return with(v, "client_id", otherClient) }, 401, "invalid_client", 700027, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, c := psHeader(), tc.f.assertionClaimsFor()
			if tc.mod != nil {
				tc.mod(h, c)
			}
			form := ccAssertion(signJWT(t, tc.key, h, c))
			if tc.form != nil {
				form = tc.form(form)
			}
			r := tc.f.post(t, form)
			checkError(t, r, tc.status, tc.oauth, tc.code)
			if d, _ := r.body["error_description"].(string); !strings.Contains(d, tc.text) {
				t.Errorf("description %q does not mention %q", d, tc.text)
			}
		})
	}
}

func TestClientAssertionReplay(t *testing.T) {
	f := newFixture(t)
	assertion := signJWT(t, testKeys().key, psHeader(), f.assertionClaimsFor())
	if r := f.post(t, ccAssertion(assertion)); r.status != 200 {
		t.Fatalf("first use: %d %s", r.status, r.raw)
	}
	checkError(t, f.post(t, ccAssertion(assertion)), 401, "invalid_client", 50013)
	// A fresh jti is fine.
	if r := f.post(t, ccAssertion(signJWT(t, testKeys().key, psHeader(), f.assertionClaimsFor()))); r.status != 200 {
		t.Fatalf("fresh jti: %d %s", r.status, r.raw)
	}
}

// A confidential client may authenticate a refresh with a certificate too.
func TestClientAssertionOnRefresh(t *testing.T) {
	f := newFixture(t)
	rt := f.srv.IssueRefreshToken(testClient, "u@contoso.example", "1")
	form := refreshForm(rt, adsScope)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", signJWT(t, testKeys().key, rsHeader(), f.assertionClaimsFor()))
	if r := f.post(t, form); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	form.Set("client_assertion", signJWT(t, testKeys().otherKey, rsHeader(), f.assertionClaimsFor()))
	checkError(t, f.post(t, form), 401, "invalid_client", 700027)
}
