package auth

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
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeIDP is a small Microsoft identity platform: /authorize, /token (client credentials
// with secret or assertion, refresh_token, authorization_code with PKCE, device_code),
// /devicecode and an IMDS-like /msi/token. Its error bodies echo the request form, so any
// client that puts a response body into an error or a log leaks, and the tests notice.
type fakeIDP struct {
	srv *httptest.Server

	clientID     string
	clientSecret string
	certKey      *rsa.PublicKey // verifies client assertions
	certDER      []byte

	mu            sync.Mutex
	refreshTokens map[string]bool // valid refresh tokens
	issued        int
	tokenCalls    map[string]int // by grant_type
	refreshDelay  time.Duration
	noRefresh     bool                 // omit refresh_token from code/device answers
	codes         map[string]codeGrant // authorization codes
	authorizeErr  string               // error to redirect with
	wrongState    bool                 // redirect with a different state
	device        []string             // device_code answers in order; then success
	devicePolls   int
	msiHeaders    []http.Header
	msiQueries    []url.Values
	assertions    []map[string]any // decoded headers of verified assertions
	forms         []url.Values     // token requests received
	throttle      bool             // answer every other POST (and IMDS call) with 429
	requests      int
}

type codeGrant struct {
	challenge, redirect, scope string
}

const (
	testTenant = "contoso-tenant"
	testClient = "11111111-aaaa-bbbb-cccc-000000000001"
)

func newFakeIDP(t *testing.T) *fakeIDP {
	t.Helper()
	f := &fakeIDP{clientID: testClient, clientSecret: "cs~SECRET-client-secret-value",
		refreshTokens: map[string]bool{}, tokenCalls: map[string]int{}, codes: map[string]codeGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", f.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", f.token)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", f.deviceCode)
	mux.HandleFunc("GET /msi/token", f.msi)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.URL.Path == "/msi/token" {
			f.mu.Lock()
			f.requests++
			throttle := f.throttle && f.requests%2 == 1
			f.mu.Unlock()
			if throttle { // every other call is throttled, with the request echoed back
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("Retry-After", "0.001")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write(body)
				return
			}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIDP) calls(grant string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls[grant]
}

// fail writes an AADSTS-shaped error that also echoes the request form (see fakeIDP).
func fail(w http.ResponseWriter, status int, code, aadsts string, form url.Values) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": aadsts + ": refused. Request was " + form.Encode(),
		"echo":              form,
	})
}

func (f *fakeIDP) issue(w http.ResponseWriter, withRefresh bool) {
	f.issued++
	resp := map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": fmt.Sprintf("eyJfake-access-%d-SECRET", f.issued)}
	if withRefresh {
		rt := fmt.Sprintf("rt-SECRET-rotated-%d", f.issued)
		f.refreshTokens[rt] = true
		resp["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeIDP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || (redirect.Hostname() != "localhost" && redirect.Hostname() != "127.0.0.1") {
		http.Error(w, "AADSTS50011: redirect URI mismatch", http.StatusBadRequest)
		return
	}
	if q.Get("client_id") != f.clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || q.Get("scope") == "" {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	f.mu.Lock()
	if f.wrongState {
		back.Set("state", "forged")
	}
	if f.authorizeErr != "" {
		back.Set("error", f.authorizeErr)
		back.Set("error_description", "AADSTS65004: User declined to consent to access the app.")
	} else {
		code := fmt.Sprintf("code-SECRET-%d", len(f.codes)+1)
		f.codes[code] = codeGrant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), scope: q.Get("scope")}
		back.Set("code", code)
	}
	f.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (f *fakeIDP) deviceCode(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if r.PostForm.Get("client_id") != f.clientID {
		fail(w, 400, "invalid_client", "AADSTS700016", r.PostForm)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"device_code": "devicecode-SECRET-1", "user_code": "FAKE-CODE", "verification_uri": "https://microsoft.com/devicelogin",
		"expires_in": 900, "interval": 1,
		"message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FAKE-CODE to authenticate.",
	})
}

func (f *fakeIDP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", 400)
		return
	}
	form := r.PostForm
	grant := form.Get("grant_type")
	f.mu.Lock()
	f.tokenCalls[grant]++
	f.forms = append(f.forms, form)
	delay := f.refreshDelay
	f.mu.Unlock()
	if form.Get("client_id") != f.clientID {
		fail(w, 400, "unauthorized_client", "AADSTS700016", form)
		return
	}
	switch grant {
	case "client_credentials":
		if !f.clientAuth(w, r, form) {
			return
		}
		if form.Get("scope") == "" || !strings.HasSuffix(form.Get("scope"), "/.default") {
			fail(w, 400, "invalid_scope", "AADSTS1002012", form)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.issue(w, false)
	case "refresh_token":
		time.Sleep(delay)
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.refreshTokens[form.Get("refresh_token")] {
			fail(w, 400, "invalid_grant", "AADSTS70000", form)
			return
		}
		if form.Get("scope") == "" {
			fail(w, 400, "invalid_request", "AADSTS90014", form)
			return
		}
		f.issue(w, true)
	case "authorization_code":
		f.mu.Lock()
		defer f.mu.Unlock()
		g, ok := f.codes[form.Get("code")]
		delete(f.codes, form.Get("code")) // single use
		v := form.Get("code_verifier")
		switch {
		case !ok:
			fail(w, 400, "invalid_grant", "AADSTS70008", form)
		case form.Get("redirect_uri") != g.redirect:
			fail(w, 400, "invalid_grant", "AADSTS50011", form)
		case len(v) < 43 || len(v) > 128 || s256(v) != g.challenge:
			fail(w, 400, "invalid_grant", "AADSTS501481", form) // "The Code_Verifier does not match"
		default:
			f.issue(w, !f.noRefresh && strings.Contains(g.scope, "offline_access"))
		}
	case "urn:ietf:params:oauth:grant-type:device_code":
		f.mu.Lock()
		defer f.mu.Unlock()
		f.devicePolls++
		if form.Get("device_code") != "devicecode-SECRET-1" {
			fail(w, 400, "invalid_grant", "AADSTS70019", form)
			return
		}
		if len(f.device) > 0 {
			code := f.device[0]
			f.device = f.device[1:]
			fail(w, 400, code, "AADSTS70016", form)
			return
		}
		f.issue(w, !f.noRefresh)
	default:
		fail(w, 400, "unsupported_grant_type", "AADSTS70003", form)
	}
}

// clientAuth checks a client secret or a client assertion (NOTES §7): PS256 with x5t#S256
// or RS256 with x5t, aud = token URL, iss = sub = client id, a 5-10 minute lifetime.
func (f *fakeIDP) clientAuth(w http.ResponseWriter, r *http.Request, form url.Values) bool {
	if s := form.Get("client_secret"); s != "" {
		if s != f.clientSecret {
			fail(w, 401, "invalid_client", "AADSTS7000215", form)
			return false
		}
		return true
	}
	if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		fail(w, 401, "invalid_client", "AADSTS7000218", form)
		return false
	}
	parts := strings.Split(form.Get("client_assertion"), ".")
	if len(parts) != 3 || f.certKey == nil {
		fail(w, 401, "invalid_client", "AADSTS50012", form)
		return false
	}
	var hdr, claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		fail(w, 401, "invalid_client", "AADSTS50012", form)
		return false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	s1, s256sum := sha1.Sum(f.certDER), sha256.Sum256(f.certDER)
	var err error
	switch {
	case hdr["alg"] == "PS256" && hdr["x5t#S256"] == base64.RawURLEncoding.EncodeToString(s256sum[:]):
		err = rsa.VerifyPSS(f.certKey, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case hdr["alg"] == "RS256" && hdr["x5t"] == base64.RawURLEncoding.EncodeToString(s1[:]):
		err = rsa.VerifyPKCS1v15(f.certKey, crypto.SHA256, digest[:], sig)
	default:
		fail(w, 401, "invalid_client", "AADSTS700027", form)
		return false
	}
	if err != nil {
		fail(w, 401, "invalid_client", "AADSTS700027", form)
		return false
	}
	aud := "http://" + r.Host + r.URL.Path
	nbf, _ := claims["nbf"].(float64)
	exp, _ := claims["exp"].(float64)
	iat, _ := claims["iat"].(float64)
	jti, _ := claims["jti"].(string)
	if claims["aud"] != aud || claims["iss"] != f.clientID || claims["sub"] != f.clientID || len(jti) != 36 ||
		exp-nbf < 300 || exp-nbf > 600 || iat != nbf || time.Since(time.Unix(int64(nbf), 0)) > time.Minute {
		fail(w, 401, "invalid_client", "AADSTS700024", form)
		return false
	}
	f.mu.Lock()
	f.assertions = append(f.assertions, hdr)
	f.mu.Unlock()
	return true
}

func (f *fakeIDP) msi(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.msiHeaders = append(f.msiHeaders, r.Header.Clone())
	f.msiQueries = append(f.msiQueries, q)
	f.issued++
	n := f.issued
	f.mu.Unlock()
	appService := r.Header.Get("X-IDENTITY-HEADER") != ""
	switch {
	case !appService && r.Header.Get("Metadata") != "true":
		http.Error(w, `{"error":"invalid_request","error_description":"Required metadata header not specified"}`, 400)
	case appService && r.Header.Get("X-IDENTITY-HEADER") != "idh-SECRET-header":
		http.Error(w, `{"statusCode":401,"message":"Unauthorized"}`, 401)
	case q.Get("client_id") == "unknown-identity":
		w.WriteHeader(400)
		_, _ = fmt.Fprint(w, `{"error":"invalid_request","error_description":"Identity not found"}`)
	case q.Get("resource") == "" || q.Get("api-version") == "":
		http.Error(w, `{"error":"invalid_request"}`, 400)
	default:
		// IMDS sends numbers as strings.
		_, _ = fmt.Fprintf(w, `{"access_token":"eyJfake-access-%d-SECRET","expires_in":"3599","expires_on":"%d","resource":%q,"token_type":"Bearer"}`,
			n, time.Now().Add(time.Hour).Unix(), q.Get("resource"))
	}
}

// testCert is one RSA key and self-signed certificate per test binary.
var testCert = sync.OnceValues(func() (*rsa.PrivateKey, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "msidm test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return key, der
})

var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func pemBlock(typ string, b []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}))
}

func certPEM() string {
	_, der := testCert()
	return pemBlock("CERTIFICATE", der)
}

func keyPKCS1PEM() string {
	k, _ := testCert()
	return pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
}

func keyPKCS8PEM() string {
	k, _ := testCert()
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return pemBlock("PRIVATE KEY", b)
}

// trustCert makes the fake accept assertions signed with the test certificate.
func (f *fakeIDP) trustCert() {
	k, der := testCert()
	f.certKey, f.certDER = &k.PublicKey, der
}
