package idpemu

import (
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

const (
	testTenant  = "7c3b1a52-4e0f-4d8e-9a6b-2f1d5c8e9a01"
	testClient  = "5e0c8f3a-0000-4000-8000-000000000001"
	testSecret  = "s3cr3t~value.with+chars&="
	otherClient = "5e0c8f3a-0000-4000-8000-000000000002"
	graphScope  = "https://graph.microsoft.com/.default"
	adsScope    = "https://ads.microsoft.com/msads.manage offline_access"
)

// samplesDir is /work/shared/reference/graph/samples, seen from this package.
var samplesDir = filepath.Join("..", "..", "..", "shared", "reference", "graph", "samples")

type fixture struct {
	srv    *Server
	signer *token.Signer
	clock  *fakeClock
	base   string // http://127.0.0.1:port
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith serves a Server whose clock (and its signer's) is a fake clock; mod may
// change the options first. testClient has the test certificate registered.
func newFixtureWith(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	clock := &fakeClock{t: time.Now()}
	signer := token.NewSigner(clock.Now)
	opts := Options{
		Signer: signer, TenantID: testTenant, TokenLifetime: time.Hour,
		Apps: []App{
			{ClientID: testClient, ClientSecret: testSecret, Roles: []string{"User.ReadWrite.All", "Group.ReadWrite.All"},
				Certificates: []*x509.Certificate{testKeys().cert}},
			{ClientID: otherClient, ClientSecret: "other-secret"},
		},
	}
	if mod != nil {
		mod(&opts)
	}
	srv := New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &fixture{srv: srv, signer: signer, clock: clock, base: ts.URL}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type reply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// call posts form to /{tenant}/oauth2/v2.0/token; basic, if non-nil, is sent as HTTP Basic.
func (f *fixture) call(t *testing.T, method, tenant, contentType string, form url.Values, basic []string) reply {
	t.Helper()
	req, err := http.NewRequest(method, f.base+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return do(t, req)
}

// do sends req and decodes the JSON answer.
func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, raw)
	}
	return r
}

func (f *fixture) post(t *testing.T, form url.Values) reply {
	return f.call(t, http.MethodPost, testTenant, "application/x-www-form-urlencoded", form, nil)
}

func cc(scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_secret": {testSecret}, "scope": {scope}}
}

func without(v url.Values, keys ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if !slices.Contains(keys, k) {
			out[k] = vs
		}
	}
	return out
}

func with(v url.Values, k, val string) url.Values {
	out := without(v, k)
	out.Set(k, val)
	return out
}

var descRE = regexp.MustCompile(`^AADSTS(\d+): .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`)

func checkError(t *testing.T, r reply, status int, oauth string, code float64) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (%s)", r.status, status, r.raw)
	}
	if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	want := []string{"correlation_id", "error", "error_codes", "error_description", "error_uri", "timestamp", "trace_id"}
	if got := keys(r.body); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	if r.body["error"] != oauth {
		t.Errorf("error = %v, want %s", r.body["error"], oauth)
	}
	if codes, _ := r.body["error_codes"].([]any); len(codes) != 1 || codes[0] != code {
		t.Errorf("error_codes = %v, want [%v]", r.body["error_codes"], code)
	}
	desc, _ := r.body["error_description"].(string)
	if m := descRE.FindStringSubmatch(desc); m == nil {
		t.Errorf("error_description shape: %q", desc)
	}
	traceID, _ := r.body["trace_id"].(string)
	correlationID, _ := r.body["correlation_id"].(string)
	ts, _ := r.body["timestamp"].(string)
	if traceID == "" || correlationID == "" || ts == "" || !strings.Contains(desc, traceID) || !strings.Contains(desc, correlationID) ||
		!strings.HasSuffix(desc, ts) {
		t.Errorf("description does not repeat trace/correlation/timestamp: %q", desc)
	}
	if strings.Contains(r.raw, testSecret) || strings.Contains(r.raw, url.QueryEscape(testSecret)) || strings.Contains(r.raw, "wrong-secret") {
		t.Errorf("error echoes a secret: %s", r.raw)
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestClientCredentialsSuccess(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		form  url.Values
		basic []string
	}{
		{"form secret", cc(graphScope), nil},
		{"basic auth", without(cc(graphScope), "client_id", "client_secret"), []string{testClient, testSecret}},
		{"graph app id scope", cc("00000003-0000-0000-c000-000000000000/.default"), nil},
		{"double slash scope", cc("https://graph.microsoft.com//.default"), nil},
		{"client id case-insensitive", with(cc(graphScope), "client_id", strings.ToUpper(testClient)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(t, http.MethodPost, testTenant, "application/x-www-form-urlencoded", tc.form, tc.basic)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if got, want := keys(r.body), []string{"access_token", "expires_in", "ext_expires_in", "token_type"}; !slices.Equal(got, want) {
				t.Errorf("keys = %v, want %v", got, want)
			}
			if r.body["token_type"] != "Bearer" || r.body["expires_in"] != 3599.0 || r.body["ext_expires_in"] != 3599.0 {
				t.Errorf("body = %v", r.body)
			}
			c, err := f.signer.Verify(r.body["access_token"].(string), token.AudienceGraph)
			if err != nil {
				t.Fatal(err)
			}
			if c.TenantID != testTenant || c.AppID != testClient || !slices.Equal(c.Roles, []string{"User.ReadWrite.All", "Group.ReadWrite.All"}) || c.Scope != "" || c.UPN != "" {
				t.Errorf("claims = %+v", c)
			}
			if r.header.Get("Cache-Control") != "no-store, no-cache" {
				t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, tenant, ctype string
		form                        url.Values
		basic                       []string
		status                      int
		oauth                       string
		code                        float64
	}{
		{"wrong secret", "POST", testTenant, form, with(cc(graphScope), "client_secret", "wrong-secret"), nil, 401, "invalid_client", 7000215},
		{"wrong secret basic", "POST", testTenant, form, without(cc(graphScope), "client_id", "client_secret"), []string{testClient, "wrong-secret"}, 401, "invalid_client", 7000215},
		{"no secret", "POST", testTenant, form, without(cc(graphScope), "client_secret"), nil, 401, "invalid_client", 7000218},
		{"unknown client", "POST", testTenant, form, with(cc(graphScope), "client_id", "00000000-1111-2222-3333-444444444444"), nil, 400, "unauthorized_client", 700016},
		{"no client id", "POST", testTenant, form, without(cc(graphScope), "client_id"), nil, 400, "invalid_request", 900144},
		{"no scope", "POST", testTenant, form, without(cc(graphScope), "scope"), nil, 400, "invalid_request", 900144},
		{"delegated scope in cc", "POST", testTenant, form, cc("https://graph.microsoft.com/User.Read"), nil, 400, "invalid_scope", 1002012},
		{"bare scope in cc", "POST", testTenant, form, cc("User.Read"), nil, 400, "invalid_scope", 1002012},
		{"ads has no app roles", "POST", testTenant, form, cc("https://ads.microsoft.com/.default"), nil, 400, "invalid_scope", 70011},
		{"two default scopes", "POST", testTenant, form, cc(graphScope + " " + graphScope), nil, 400, "invalid_scope", 70011},
		{"openid in cc", "POST", testTenant, form, cc(graphScope + " openid"), nil, 400, "invalid_scope", 70011},
		{"two resources", "POST", testTenant, form, cc(graphScope + " https://ads.microsoft.com/.default"), nil, 400, "invalid_scope", 28000},
		{"unknown resource", "POST", testTenant, form, cc("https://example.contoso.com/.default"), nil, 400, "invalid_resource", 500011},
		{"missing grant_type", "POST", testTenant, form, without(cc(graphScope), "grant_type"), nil, 400, "invalid_request", 900144},
		{"unsupported grant", "POST", testTenant, form, with(cc(graphScope), "grant_type", "password"), nil, 400, "unsupported_grant_type", 70003},
		{"json body", "POST", testTenant, "application/json", cc(graphScope), nil, 400, "invalid_request", 900144},
		{"no content type", "POST", testTenant, "", cc(graphScope), nil, 400, "invalid_request", 900144},
		{"GET", "GET", testTenant, form, cc(graphScope), nil, 400, "invalid_request", 900561},
		{"unknown tenant", "POST", "11111111-2222-3333-4444-555555555555", form, cc(graphScope), nil, 400, "invalid_request", 90002},
		{"common for app-only", "POST", "common", form, cc(graphScope), nil, 400, "invalid_request", 50059},
		{"organizations for app-only", "POST", "organizations", form, cc(graphScope), nil, 400, "invalid_request", 50059},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(t, tc.method, tc.tenant, tc.ctype, tc.form, tc.basic)
			checkError(t, r, tc.status, tc.oauth, tc.code)
		})
	}
}

func TestErrorEchoesClientRequestID(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest("POST", f.base+"/"+testTenant+"/oauth2/v2.0/token", strings.NewReader(cc("nope/.default").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	const cid = "0a1b2c3d-0000-4000-8000-00000000abcd"
	req.Header.Set("client-request-id", cid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if body["correlation_id"] != cid || resp.Header.Get("client-request-id") != cid {
		t.Errorf("correlation_id = %v, header = %q", body["correlation_id"], resp.Header.Get("client-request-id"))
	}
}

func TestUnknownPathIs404(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/", "/" + testTenant + "/oauth2/token", "/a/b/oauth2/v2.0/token"} {
		resp, err := http.Post(f.base+p, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
	}
}

func refreshForm(rt, scope string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "refresh_token": {rt}, "scope": {scope}}
}

func TestRefreshTokenSuccess(t *testing.T) {
	f := newFixture(t)
	const upn, oid = "megan.bowen@contoso.example", "1600001"
	tests := []struct {
		name, tenant, scope string
		form                func(url.Values) url.Values
		aud, scp, granted   string
	}{
		{"ads", testTenant, adsScope, nil, token.AudienceAds, "msads.manage", "https://ads.microsoft.com/msads.manage offline_access"},
		{"ads via common", "common", adsScope, nil, token.AudienceAds, "msads.manage", "https://ads.microsoft.com/msads.manage offline_access"},
		{"ads via organizations", "organizations", adsScope, nil, token.AudienceAds, "msads.manage", "https://ads.microsoft.com/msads.manage offline_access"},
		{"ads default", testTenant, "https://ads.microsoft.com/.default", nil, token.AudienceAds, "msads.manage", "https://ads.microsoft.com/msads.manage"},
		{"graph full", testTenant, "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read offline_access", nil,
			token.AudienceGraph, "User.Read Mail.Read", "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read offline_access"},
		{"graph bare", testTenant, "User.Read openid", nil, token.AudienceGraph, "User.Read", "User.Read openid"},
		{"no scope", testTenant, "", nil, token.AudienceGraph, "User.Read", "User.Read"},
		{"with right secret", testTenant, adsScope, func(v url.Values) url.Values { return with(v, "client_secret", testSecret) },
			token.AudienceAds, "msads.manage", "https://ads.microsoft.com/msads.manage offline_access"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := f.srv.IssueRefreshToken(testClient, upn, oid)
			form := refreshForm(rt, tc.scope)
			if tc.form != nil {
				form = tc.form(form)
			}
			r := f.call(t, "POST", tc.tenant, "application/x-www-form-urlencoded", form, nil)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			want := []string{"access_token", "expires_in", "ext_expires_in", "refresh_token", "scope", "token_type"}
			if got := keys(r.body); !slices.Equal(got, want) {
				t.Errorf("keys = %v, want %v", got, want)
			}
			if r.body["scope"] != tc.granted {
				t.Errorf("scope = %q, want %q", r.body["scope"], tc.granted)
			}
			c, err := f.signer.Verify(r.body["access_token"].(string), tc.aud)
			if err != nil {
				t.Fatal(err)
			}
			if c.Scope != tc.scp || c.UPN != upn || c.ObjectID != oid || c.AppID != testClient || c.TenantID != testTenant || c.Roles != nil {
				t.Errorf("claims = %+v", c)
			}
			if next := r.body["refresh_token"].(string); next == rt || !strings.HasPrefix(next, "1.A") {
				t.Errorf("refresh token not rotated: %q", next)
			}
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(map[bool]string{false: "lenient", true: "strict"}[strict], func(t *testing.T) {
			f := newFixture(t)
			f.srv.Strict = strict
			old := f.srv.IssueRefreshToken(testClient, "u@contoso.example", "1")
			r := f.post(t, refreshForm(old, adsScope))
			if r.status != 200 {
				t.Fatalf("first use: %d %s", r.status, r.raw)
			}
			next := r.body["refresh_token"].(string)
			again := f.post(t, refreshForm(old, adsScope))
			if strict {
				checkError(t, again, 400, "invalid_grant", 50173)
			} else if again.status != 200 {
				t.Errorf("old token after rotation: %d %s", again.status, again.raw)
			}
			if r := f.post(t, refreshForm(next, adsScope)); r.status != 200 {
				t.Errorf("rotated token: %d %s", r.status, r.raw)
			}
		})
	}
}

func TestStrictRedeemsOnceUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	f.srv.Strict = true
	rt := f.srv.IssueRefreshToken(testClient, "u@contoso.example", "1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.PostForm(f.base+"/"+testTenant+"/oauth2/v2.0/token", refreshForm(rt, adsScope))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d successful redemptions, want 1", ok)
	}
}

func TestRefreshErrors(t *testing.T) {
	f := newFixture(t)
	rt := f.srv.IssueRefreshToken(testClient, "u@contoso.example", "1")
	otherRT := f.srv.IssueRefreshToken(otherClient, "u@contoso.example", "1")
	tests := []struct {
		name   string
		form   url.Values
		status int
		oauth  string
		code   float64
	}{
		{"unknown token", refreshForm("1.A"+strings.Repeat("x", 40), adsScope), 400, "invalid_grant", 70000},
		{"garbled token", refreshForm("not a refresh token", adsScope), 400, "invalid_grant", 9002313},
		{"other client's token", refreshForm(otherRT, adsScope), 400, "invalid_grant", 70000},
		{"no client id", without(refreshForm(rt, adsScope), "client_id"), 400, "invalid_request", 900144},
		{"unknown client", with(refreshForm(rt, adsScope), "client_id", "00000000-1111-2222-3333-444444444444"), 400, "unauthorized_client", 700016},
		{"wrong secret", with(refreshForm(rt, adsScope), "client_secret", "wrong-secret"), 401, "invalid_client", 7000215},
		{"no refresh token", without(refreshForm(rt, adsScope), "refresh_token"), 400, "invalid_request", 900144},
		{"two resources", refreshForm(rt, "https://ads.microsoft.com/msads.manage https://graph.microsoft.com/User.Read"), 400, "invalid_scope", 28000},
		{"unknown resource", refreshForm(rt, "https://example.contoso.com/x.read"), 400, "invalid_resource", 500011},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, f.post(t, tc.form), tc.status, tc.oauth, tc.code)
		})
	}
	if r := f.call(t, "POST", "11111111-2222-3333-4444-555555555555", "application/x-www-form-urlencoded", refreshForm(rt, adsScope), nil); r.status != 400 {
		t.Errorf("unknown tenant: %d", r.status)
	}
	// A failed request must not have consumed the token.
	if r := f.post(t, refreshForm(rt, adsScope)); r.status != 200 {
		t.Errorf("token unusable after failed attempts: %d %s", r.status, r.raw)
	}
}

// TestContractWithSamples compares key sets with the reference samples (NOTES §7, §11).
func TestContractWithSamples(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		sample string
		got    reply
	}{
		{"token-response.json", f.post(t, cc(graphScope))},
		{"token-error-invalid-client-7000215.OBSERVED.json", f.post(t, with(cc(graphScope), "client_secret", "wrong-secret"))},
		{"token-error-invalid-scope.json", f.post(t, cc("https://ads.microsoft.com/.default"))},
		{"token-error-invalid-client-7000215.OBSERVED.json", f.post(t, ccAssertion(signJWT(t, testKeys().otherKey, psHeader(), f.assertionClaimsFor())))},
		{"token-error-invalid-scope.json", f.post(t, pollForm(deviceCodeOf(t, f)))},
		{"token-error-invalid-scope.json", f.post(t, redeemForm("1.A"+strings.Repeat("x", 40)))},
	}
	for _, c := range cases {
		t.Run(c.sample, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(samplesDir, c.sample))
			if err != nil {
				t.Skipf("reference samples not available: %v", err)
			}
			var want map[string]any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(c.got.body), keys(want)) {
				t.Errorf("keys = %v, sample has %v", keys(c.got.body), keys(want))
			}
			for k, v := range want {
				if g := c.got.body[k]; g != nil && v != nil && typeName(g) != typeName(v) {
					t.Errorf("%s: type %s, sample %s", k, typeName(g), typeName(v))
				}
			}
		})
	}
}

// deviceCodeOf starts a device authorization and returns its device code.
func deviceCodeOf(t *testing.T, f *fixture) string {
	dc, _ := f.startDevice(t, adsScope)
	return dc
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case bool:
		return "bool"
	}
	return "null"
}
