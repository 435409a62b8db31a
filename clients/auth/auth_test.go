package auth

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// The serve command depends on these shapes; keep them compiling.
var (
	_ oauth2.TokenSource = GraphTokenSource(nil, AppCredentials{})
	_ oauth2.TokenSource = AdsTokenSource(nil, DelegatedCredentials{}, func(string) {})
)

func TestClouds(t *testing.T) {
	tests := []struct {
		cloud, authority, graph, scope string
	}{
		{"public", "https://login.microsoftonline.com", "https://graph.microsoft.com", "https://graph.microsoft.com/.default"},
		{"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us", "https://graph.microsoft.us/.default"},
		{"china", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"},
	}
	if len(Clouds) != len(tests) {
		t.Fatalf("%d clouds, want %d", len(Clouds), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.cloud, func(t *testing.T) {
			c, ok := Clouds[tt.cloud]
			if !ok || c.Name != tt.cloud || c.AuthorityURL != tt.authority || c.GraphURL != tt.graph {
				t.Fatalf("Clouds[%q] = %+v", tt.cloud, c)
			}
			if got := graphScope(c.GraphURL); got != tt.scope {
				t.Fatalf("scope %q, want %q", got, tt.scope)
			}
			if got := graphScope(c.GraphURL + "/"); got != tt.scope {
				t.Fatalf("scope with trailing slash %q", got)
			}
			if got, want := TokenURL(c.AuthorityURL+"/", "contoso.onmicrosoft.com"), tt.authority+"/contoso.onmicrosoft.com/oauth2/v2.0/token"; got != want {
				t.Fatalf("TokenURL %q, want %q", got, want)
			}
		})
	}
	// An overridden endpoint (sandbox, proxy) still asks for the public Graph resource.
	if got := graphScope("http://127.0.0.1:4321"); got != "https://graph.microsoft.com/.default" {
		t.Fatalf("override scope %q", got)
	}
}

func TestGraphTokenSourceSecret(t *testing.T) {
	f := newFakeIDP(t)
	tests := []struct {
		name, secret, wantAADSTS, wantHint string
	}{
		{"valid secret", f.clientSecret, "", ""},
		{"wrong secret", "cs~SECRET-wrong", "AADSTS7000215", "MSIDM_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := GraphTokenSource(nil, AppCredentials{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient,
				ClientSecret: tt.secret, GraphURL: Clouds["public"].GraphURL})
			tok, err := ts.Token()
			if tt.wantAADSTS == "" {
				if err != nil || !strings.HasPrefix(tok.AccessToken, "eyJfake-access-") {
					t.Fatalf("token %v, err %v", tok, err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.AADSTS != tt.wantAADSTS || !strings.Contains(ae.Hint, tt.wantHint) {
				t.Fatalf("err %v, want %s", err, tt.wantAADSTS)
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestParseCertificatePEM(t *testing.T) {
	k, _ := testCert()
	ecKey := pemBlock("EC PRIVATE KEY", []byte{1, 2, 3})
	otherKeyPEM := pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(otherKey()))
	tests := []struct {
		name    string
		pem     string
		wantErr string
	}{
		{"PKCS#1 key after cert", certPEM() + keyPKCS1PEM(), ""},
		{"PKCS#8 key before cert", keyPKCS8PEM() + certPEM(), ""},
		{"chain: leaf is not first", pemBlock("CERTIFICATE", mustSelfSigned(t)) + keyPKCS8PEM() + certPEM(), ""},
		{"no key", certPEM(), "no PRIVATE KEY block"},
		{"no cert", keyPKCS1PEM(), "no CERTIFICATE block"},
		{"nothing", "hello", "no PEM CERTIFICATE or PRIVATE KEY block"},
		{"encrypted PKCS#8", certPEM() + pemBlock("ENCRYPTED PRIVATE KEY", []byte{1}), "encrypted"},
		{"EC key", certPEM() + ecKey, "RSA key"},
		{"key of another certificate", certPEM() + otherKeyPEM, "matches its private key"},
		{"corrupt key", certPEM() + pemBlock("PRIVATE KEY", []byte("junk")), "not a valid PKCS#8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.pem")
			if err := os.WriteFile(path, []byte(tt.pem), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadCertificate(path)
			if tt.wantErr == "" {
				if err != nil || !c.key.Equal(k) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "MSIDM_CLIENT_CERT") {
				t.Fatalf("err %v, want one naming MSIDM_CLIENT_CERT and %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), "MII") {
				t.Fatalf("error quotes the file: %v", err)
			}
		})
	}
	if _, err := LoadCertificate(filepath.Join(t.TempDir(), "missing.pem")); err == nil || !strings.Contains(err.Error(), "MSIDM_CLIENT_CERT") {
		t.Fatalf("missing file: %v", err)
	}
}

func mustSelfSigned(t *testing.T) []byte {
	t.Helper()
	// A certificate of another key: a chain member, or a certificate the tenant knows.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &otherKey().PublicKey, otherKey())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCertificateStringHidesKey(t *testing.T) {
	c, err := ParseCertificatePEM([]byte(certPEM() + keyPKCS1PEM()))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := testCert()
	d := k.D.String()[:20]
	for _, s := range []string{c.String(), c.GoString(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c)} {
		if strings.Contains(s, d) || !strings.Contains(s, c.ThumbprintSHA256()) {
			t.Fatalf("%q", s)
		}
	}
}

func TestThumbprintEncoding(t *testing.T) {
	// NOTES §7: hex thumbprint 84E0…5534 is x5t hOBcHZi846VCHSJbFAs26Go9VTQ.
	b, _ := hex.DecodeString("84E05C1D98BCE3A5421D225B140B36E86A3D5534")
	if got := base64.RawURLEncoding.EncodeToString(b); got != "hOBcHZi846VCHSJbFAs26Go9VTQ" {
		t.Fatalf("x5t encoding %q", got)
	}
}

func TestGraphCertificateTokenSource(t *testing.T) {
	tests := []struct {
		alg       Alg
		wantThumb string
	}{
		{"", "x5t#S256"},
		{PS256, "x5t#S256"},
		{RS256, "x5t"},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			f := newFakeIDP(t)
			f.trustCert()
			path := filepath.Join(t.TempDir(), "app.pem")
			if err := os.WriteFile(path, []byte(certPEM()+keyPKCS8PEM()), 0o600); err != nil {
				t.Fatal(err)
			}
			ts, err := GraphCertificateTokenSource(nil, CertificateCredentials{AuthorityURL: f.srv.URL, TenantID: testTenant,
				ClientID: testClient, GraphURL: Clouds["usgov"].GraphURL, CertFile: path, Alg: tt.alg})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ts.Token()
			if err != nil || tok.AccessToken == "" {
				t.Fatalf("token %v err %v", tok, err)
			}
			want := string(tt.alg)
			if want == "" {
				want = "PS256"
			}
			if len(f.assertions) != 1 || f.assertions[0]["alg"] != want || f.assertions[0][tt.wantThumb] == nil || f.assertions[0]["typ"] != "JWT" {
				t.Fatalf("assertion headers %v", f.assertions)
			}
			if got := f.forms[0].Get("scope"); got != "https://graph.microsoft.us/.default" {
				t.Fatalf("scope %q", got)
			}
			if f.forms[0].Get("client_secret") != "" {
				t.Fatal("client_secret sent with an assertion")
			}
		})
	}
	t.Run("certificate unknown to the tenant", func(t *testing.T) {
		f := newFakeIDP(t)
		f.certKey, f.certDER = &otherKey().PublicKey, mustSelfSigned(t)
		c, err := ParseCertificatePEM([]byte(certPEM() + keyPKCS1PEM()))
		if err != nil {
			t.Fatal(err)
		}
		ts, err := GraphCertificateTokenSource(nil, CertificateCredentials{AuthorityURL: f.srv.URL, TenantID: testTenant,
			ClientID: testClient, Certificate: c})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ts.Token()
		var ae *Error
		if !errors.As(err, &ae) || ae.AADSTS != "AADSTS700027" || !strings.Contains(ae.Hint, "MSIDM_CLIENT_CERT") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad algorithm", func(t *testing.T) {
		c, _ := ParseCertificatePEM([]byte(certPEM() + keyPKCS1PEM()))
		if _, err := GraphCertificateTokenSource(nil, CertificateCredentials{Certificate: c, Alg: "HS256"}); err == nil {
			t.Fatal("HS256 accepted")
		}
	})
}

func TestManagedIdentity(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		clientID   string
		wantHeader string
		wantAPI    string
		wantErr    string
	}{
		{"IMDS system-assigned", nil, "", "Metadata", "2018-02-01", ""},
		{"IMDS user-assigned", nil, "22222222-0000-0000-0000-000000000002", "Metadata", "2018-02-01", ""},
		{"App Service", map[string]string{"IDENTITY_ENDPOINT": "{srv}/msi/token", "IDENTITY_HEADER": "idh-SECRET-header"}, "", "X-Identity-Header", "2019-08-01", ""},
		{"unknown identity", nil, "unknown-identity", "", "", "managed identity is assigned"},
		{"App Service with a wrong header", map[string]string{"IDENTITY_ENDPOINT": "{srv}/msi/token", "IDENTITY_HEADER": "idh-SECRET-wrong"}, "", "", "", "HTTP 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIDP(t)
			getenv := func(k string) string { return strings.ReplaceAll(tt.env[k], "{srv}", f.srv.URL) }
			m := ManagedIdentityFromEnv(getenv, GraphResource(Clouds["public"].GraphURL), tt.clientID)
			m.Endpoint = f.srv.URL + "/msi/token"
			tok, err := ManagedIdentityTokenSource(nil, m).Token()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Fatalf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil || !strings.HasPrefix(tok.AccessToken, "eyJfake-access-") || tok.Expiry.IsZero() {
				t.Fatalf("token %+v err %v", tok, err)
			}
			q, h := f.msiQueries[0], f.msiHeaders[0]
			if q.Get("resource") != "https://graph.microsoft.com" || q.Get("api-version") != tt.wantAPI || q.Get("client_id") != tt.clientID {
				t.Fatalf("query %v", q)
			}
			if h.Get(tt.wantHeader) == "" {
				t.Fatalf("header %s missing: %v", tt.wantHeader, h)
			}
		})
	}
}

// TestManagedIdentityUnreachable: no IMDS (not on Azure) is an explained error.
func TestManagedIdentityUnreachable(t *testing.T) {
	f := newFakeIDP(t)
	url := f.srv.URL
	f.srv.Close()
	_, err := ManagedIdentityTokenSource(&http.Client{}, ManagedIdentity{Resource: "https://graph.microsoft.com", Endpoint: url + "/msi/token"}).Token()
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("err %v", err)
	}
}
