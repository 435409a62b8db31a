package idpemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

const (
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
	testRedirect = "http://127.0.0.1:53117/callback"
	signedInUPN  = "megan.bowen@contoso.example"
	signedInOID  = "1600001"
)

func challengeOf(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func authorizeParams() url.Values {
	return url.Values{
		"client_id": {testClient}, "response_type": {"code"}, "redirect_uri": {testRedirect},
		"scope": {adsScope}, "state": {"st-42"}, "code_challenge": {challengeOf(testVerifier)}, "code_challenge_method": {"S256"},
	}
}

func signedIn(o *Options) { o.SignInUser = User{UPN: signedInUPN, OID: signedInOID} }

// authorizeReply is the answer of /authorize: a redirect (location set) or an error page.
type authorizeReply struct {
	status   int
	location *url.URL
	page     reply
}

func (f *fixture) authorize(t *testing.T, tenant string, q url.Values) authorizeReply {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.base + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := authorizeReply{status: resp.StatusCode}
	if resp.StatusCode == http.StatusFound {
		if out.location, err = url.Parse(resp.Header.Get("Location")); err != nil {
			t.Fatal(err)
		}
		return out
	}
	raw, _ := io.ReadAll(resp.Body)
	out.page = reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &out.page.body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, raw)
	}
	return out
}

// code runs /authorize and returns the code from the redirect.
func (f *fixture) code(t *testing.T, q url.Values) string {
	t.Helper()
	r := f.authorize(t, testTenant, q)
	if r.status != http.StatusFound {
		t.Fatalf("authorize: status %d: %s", r.status, r.page.raw)
	}
	code := r.location.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", r.location)
	}
	return code
}

func redeemForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {testClient}, "code": {code},
		"redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
}

func TestAuthorizationCodeFlow(t *testing.T) {
	f := newFixtureWith(t, signedIn)
	r := f.authorize(t, testTenant, authorizeParams())
	if r.status != http.StatusFound {
		t.Fatalf("status %d: %s", r.status, r.page.raw)
	}
	loc := r.location
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Errorf("redirected to %s", loc)
	}
	q := loc.Query()
	if q.Get("state") != "st-42" || q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("redirect query = %v", q)
	}

	tok := f.post(t, redeemForm(q.Get("code")))
	if tok.status != 200 {
		t.Fatalf("redeem: %d %s", tok.status, tok.raw)
	}
	want := []string{"access_token", "expires_in", "ext_expires_in", "refresh_token", "scope", "token_type"}
	if got := keys(tok.body); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	c, err := f.signer.Verify(tok.body["access_token"].(string), token.AudienceAds)
	if err != nil {
		t.Fatal(err)
	}
	if c.UPN != signedInUPN || c.ObjectID != signedInOID || c.Scope != "msads.manage" || c.AppID != testClient || c.TenantID != testTenant {
		t.Errorf("claims = %+v", c)
	}
	// The refresh token rotates like any other.
	rt := tok.body["refresh_token"].(string)
	next := f.post(t, refreshForm(rt, adsScope))
	if next.status != 200 || next.body["refresh_token"] == rt {
		t.Errorf("refresh: %d %s", next.status, next.raw)
	}
	// The code is single use.
	checkError(t, f.post(t, redeemForm(q.Get("code"))), 400, "invalid_grant", 54005)
}

func TestAuthorizationCodeVariants(t *testing.T) {
	tests := []struct {
		name       string
		authorize  func(url.Values)
		redeem     func(url.Values)
		tenant     string
		aud, scp   string
		refresh    bool
		grantedHas string
	}{
		{"no offline_access: no refresh token", func(q url.Values) { q.Set("scope", "https://ads.microsoft.com/msads.manage") }, nil,
			testTenant, token.AudienceAds, "msads.manage", false, "msads.manage"},
		{"graph scope at redemption", func(q url.Values) { q.Set("scope", "User.Read offline_access openid") },
			func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/User.Read") }, testTenant, token.AudienceGraph, "User.Read", true, "User.Read"},
		{"localhost any port, redirect with query", func(q url.Values) { q.Set("redirect_uri", "http://localhost:8400/?x=1") },
			func(v url.Values) { v.Set("redirect_uri", "http://localhost:8400/?x=1") }, testTenant, token.AudienceAds, "msads.manage", true, "msads.manage"},
		{"via organizations", nil, nil, "organizations", token.AudienceAds, "msads.manage", true, "msads.manage"},
		{"confidential client with secret", nil, func(v url.Values) { v.Set("client_secret", testSecret) }, testTenant, token.AudienceAds, "msads.manage", true, "msads.manage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, signedIn)
			q := authorizeParams()
			if tc.authorize != nil {
				tc.authorize(q)
			}
			r := f.authorize(t, tc.tenant, q)
			if r.status != http.StatusFound || r.location.Query().Get("code") == "" {
				t.Fatalf("authorize: %d %v %s", r.status, r.location, r.page.raw)
			}
			if tc.name == "localhost any port, redirect with query" && r.location.Query().Get("x") != "1" {
				t.Errorf("redirect lost its own query: %s", r.location)
			}
			form := redeemForm(r.location.Query().Get("code"))
			if tc.redeem != nil {
				tc.redeem(form)
			}
			tok := f.call(t, "POST", tc.tenant, "application/x-www-form-urlencoded", form, nil)
			if tok.status != 200 {
				t.Fatalf("redeem: %d %s", tok.status, tok.raw)
			}
			if _, has := tok.body["refresh_token"]; has != tc.refresh {
				t.Errorf("refresh_token present = %v, want %v", has, tc.refresh)
			}
			if s, _ := tok.body["scope"].(string); !strings.Contains(s, tc.grantedHas) {
				t.Errorf("scope = %q", s)
			}
			c, err := f.signer.Verify(tok.body["access_token"].(string), tc.aud)
			if err != nil || c.Scope != tc.scp {
				t.Errorf("claims = %+v, %v", c, err)
			}
		})
	}
}

func TestAuthorizationCodeRedeemErrors(t *testing.T) {
	tests := []struct {
		name   string
		redeem func(f *fixture, v url.Values)
		tenant string
		status int
		oauth  string
		code   float64
	}{
		{"verifier mismatch", func(f *fixture, v url.Values) { v.Set("code_verifier", strings.Repeat("a", 43)) }, testTenant, 400, "invalid_grant", 501481},
		{"no verifier", func(f *fixture, v url.Values) { v.Del("code_verifier") }, testTenant, 400, "invalid_request", 900144},
		{"redirect_uri mismatch", func(f *fixture, v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:53118/callback") }, testTenant, 400, "invalid_grant", 500112},
		{"no redirect_uri", func(f *fixture, v url.Values) { v.Del("redirect_uri") }, testTenant, 400, "invalid_request", 900144},
		{"no code", func(f *fixture, v url.Values) { v.Del("code") }, testTenant, 400, "invalid_request", 900144},
		{"unknown code", func(f *fixture, v url.Values) { v.Set("code", "1.A"+strings.Repeat("x", 40)) }, testTenant, 400, "invalid_grant", 70000},
		{"other client", func(f *fixture, v url.Values) { v.Set("client_id", otherClient) }, testTenant, 400, "invalid_grant", 70000},
		{"expired", func(f *fixture, v url.Values) { f.clock.Advance(11 * time.Minute) }, testTenant, 400, "invalid_grant", 70008},
		{"other tenant spelling", nil, "common", 400, "invalid_grant", 700005},
		{"wrong secret", func(f *fixture, v url.Values) { v.Set("client_secret", "wrong-secret") }, testTenant, 401, "invalid_client", 7000215},
		{"unknown client", func(f *fixture, v url.Values) { v.Set("client_id", "00000000-1111-2222-3333-444444444444") }, testTenant, 400, "unauthorized_client", 700016},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, signedIn)
			code := f.code(t, authorizeParams())
			form := redeemForm(code)
			if tc.redeem != nil {
				tc.redeem(f, form)
			}
			checkError(t, f.call(t, "POST", tc.tenant, "application/x-www-form-urlencoded", form, nil), tc.status, tc.oauth, tc.code)
			if tc.name == "expired" {
				return
			}
			// A failed attempt does not consume the code.
			if r := f.post(t, redeemForm(code)); r.status != 200 {
				t.Errorf("code unusable after a failed attempt: %d %s", r.status, r.raw)
			}
		})
	}
}

func TestAuthorizeErrors(t *testing.T) {
	// Errors answered on the page itself (400 + AADSTS JSON): the redirect target is not trusted.
	pageErrors := []struct {
		name   string
		tenant string
		mod    func(url.Values)
		oauth  string
		code   float64
	}{
		{"unknown client", testTenant, func(q url.Values) { q.Set("client_id", "00000000-1111-2222-3333-444444444444") }, "unauthorized_client", 700016},
		{"no client", testTenant, func(q url.Values) { q.Del("client_id") }, "invalid_request", 900144},
		{"https redirect", testTenant, func(q url.Values) { q.Set("redirect_uri", "https://app.example/callback") }, "invalid_request", 50011},
		{"non-loopback http", testTenant, func(q url.Values) { q.Set("redirect_uri", "http://evil.example:8080/") }, "invalid_request", 50011},
		{"relative redirect", testTenant, func(q url.Values) { q.Set("redirect_uri", "/callback") }, "invalid_request", 50011},
		{"no redirect", testTenant, func(q url.Values) { q.Del("redirect_uri") }, "invalid_request", 900144},
		{"unknown tenant", "11111111-2222-3333-4444-555555555555", nil, "invalid_request", 90002},
	}
	for _, tc := range pageErrors {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, signedIn)
			q := authorizeParams()
			if tc.mod != nil {
				tc.mod(q)
			}
			r := f.authorize(t, tc.tenant, q)
			if r.status == http.StatusFound {
				t.Fatalf("redirected to %s", r.location)
			}
			checkError(t, r.page, 400, tc.oauth, tc.code)
		})
	}

	// Errors sent to the redirect URI with state.
	redirectErrors := []struct {
		name  string
		opts  func(*Options)
		mod   func(url.Values)
		oauth string
		code  string
	}{
		{"plain challenge method", signedIn, func(q url.Values) { q.Set("code_challenge_method", "plain"); q.Set("code_challenge", testVerifier) }, "invalid_request", "AADSTS90100"},
		{"no challenge method", signedIn, func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request", "AADSTS90100"},
		{"no challenge", signedIn, func(q url.Values) { q.Del("code_challenge") }, "invalid_request", "AADSTS900144"},
		{"challenge of wrong size", signedIn, func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request", "AADSTS501491"},
		{"response_type token", signedIn, func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type", "AADSTS70005"},
		{"response_mode fragment", signedIn, func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request", "AADSTS70007"},
		{"no scope", signedIn, func(q url.Values) { q.Del("scope") }, "invalid_request", "AADSTS900144"},
		{"unknown resource", signedIn, func(q url.Values) { q.Set("scope", "https://example.contoso.com/x.read") }, "invalid_resource", "AADSTS500011"},
		{"nobody signed in", nil, nil, "interaction_required", "AADSTS50058"},
	}
	for _, tc := range redirectErrors {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, tc.opts)
			q := authorizeParams()
			if tc.mod != nil {
				tc.mod(q)
			}
			r := f.authorize(t, testTenant, q)
			if r.status != http.StatusFound {
				t.Fatalf("status %d: %s", r.status, r.page.raw)
			}
			got := r.location.Query()
			if got.Get("error") != tc.oauth || got.Get("state") != "st-42" || got.Get("code") != "" {
				t.Errorf("redirect query = %v", got)
			}
			if d := got.Get("error_description"); !strings.HasPrefix(d, tc.code+": ") || !descRE.MatchString(d) {
				t.Errorf("error_description = %q, want %s", d, tc.code)
			}
		})
	}
}

func TestSetSignInUser(t *testing.T) {
	f := newFixture(t)
	f.srv.SetSignInUser(User{UPN: "adele.vance@contoso.example", OID: "1600002"})
	tok := f.post(t, redeemForm(f.code(t, authorizeParams())))
	c, err := f.signer.Verify(tok.body["access_token"].(string), token.AudienceAds)
	if err != nil || c.UPN != "adele.vance@contoso.example" || c.ObjectID != "1600002" {
		t.Errorf("claims = %+v, %v", c, err)
	}
}
