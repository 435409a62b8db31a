package idpemu

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

// deviceAuthorize posts to /{tenant}/oauth2/v2.0/devicecode.
func (f *fixture) deviceAuthorize(t *testing.T, method, tenant string, form url.Values) reply {
	t.Helper()
	return f.callPath(t, method, "/"+tenant+"/oauth2/v2.0/devicecode", form)
}

func (f *fixture) callPath(t *testing.T, method, path string, form url.Values) reply {
	t.Helper()
	req, err := http.NewRequest(method, f.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func deviceForm(scope string) url.Values {
	return url.Values{"client_id": {testClient}, "scope": {scope}}
}

func pollForm(deviceCode string) url.Values {
	return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {testClient}, "device_code": {deviceCode}}
}

var userCodeRE = regexp.MustCompile(`^[A-Z2-9]{9}$`)

// startDevice requests a device code and checks the response shape (v2-oauth2-device-code.md).
func (f *fixture) startDevice(t *testing.T, scope string) (deviceCode, userCode string) {
	t.Helper()
	r := f.deviceAuthorize(t, "POST", testTenant, deviceForm(scope))
	if r.status != 200 {
		t.Fatalf("devicecode: %d %s", r.status, r.raw)
	}
	want := []string{"device_code", "expires_in", "interval", "message", "user_code", "verification_uri"}
	if got := keys(r.body); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	userCode, _ = r.body["user_code"].(string)
	if !userCodeRE.MatchString(userCode) || r.body["expires_in"] != 900.0 || r.body["interval"] != 5.0 ||
		r.body["verification_uri"] != "https://microsoft.com/devicelogin" || !strings.Contains(r.body["message"].(string), userCode) {
		t.Errorf("body = %v", r.body)
	}
	return r.body["device_code"].(string), userCode
}

func TestDeviceCodeFlow(t *testing.T) {
	f := newFixtureWith(t, signedIn)
	dc, uc := f.startDevice(t, adsScope)
	checkError(t, f.post(t, pollForm(dc)), 400, "authorization_pending", 70016)
	checkError(t, f.post(t, pollForm(dc)), 400, "authorization_pending", 70016)
	if err := f.srv.ApproveDeviceCode(strings.ToLower(uc[:4]) + "-" + uc[4:]); err != nil {
		t.Fatal(err)
	}
	r := f.post(t, pollForm(dc))
	if r.status != 200 {
		t.Fatalf("after approval: %d %s", r.status, r.raw)
	}
	want := []string{"access_token", "expires_in", "ext_expires_in", "refresh_token", "scope", "token_type"}
	if got := keys(r.body); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	c, err := f.signer.Verify(r.body["access_token"].(string), token.AudienceAds)
	if err != nil || c.UPN != signedInUPN || c.ObjectID != signedInOID || c.Scope != "msads.manage" {
		t.Errorf("claims = %+v, %v", c, err)
	}
	if rr := f.post(t, refreshForm(r.body["refresh_token"].(string), adsScope)); rr.status != 200 {
		t.Errorf("refresh token from device code: %d %s", rr.status, rr.raw)
	}
	checkError(t, f.post(t, pollForm(dc)), 400, "invalid_grant", 90120)
	if err := f.srv.ApproveDeviceCode(uc); !errors.Is(err, ErrUserCodeDecided) {
		t.Errorf("approve twice: %v", err)
	}
}

func TestDeviceCodeDenied(t *testing.T) {
	f := newFixtureWith(t, signedIn)
	dc, uc := f.startDevice(t, adsScope)
	if err := f.srv.DenyDeviceCode(uc); err != nil {
		t.Fatal(err)
	}
	checkError(t, f.post(t, pollForm(dc)), 400, "authorization_declined", 65004)
	checkError(t, f.post(t, pollForm(dc)), 400, "authorization_declined", 65004)
	if err := f.srv.ApproveDeviceCode(uc); !errors.Is(err, ErrUserCodeDecided) {
		t.Errorf("approve after deny: %v", err)
	}
}

func TestDeviceCodeExpired(t *testing.T) {
	f := newFixtureWith(t, signedIn)
	dc, uc := f.startDevice(t, adsScope)
	f.clock.Advance(14 * time.Minute)
	checkError(t, f.post(t, pollForm(dc)), 400, "authorization_pending", 70016)
	f.clock.Advance(2 * time.Minute)
	checkError(t, f.post(t, pollForm(dc)), 400, "expired_token", 70019)
	if err := f.srv.ApproveDeviceCode(uc); !errors.Is(err, ErrUserCodeExpired) {
		t.Errorf("approve after expiry: %v", err)
	}
	// Approved but collected too late.
	dc2, uc2 := f.startDevice(t, adsScope)
	if err := f.srv.ApproveDeviceCode(uc2); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(16 * time.Minute)
	checkError(t, f.post(t, pollForm(dc2)), 400, "expired_token", 70019)
}

func TestDeviceCodeAutoApprove(t *testing.T) {
	tests := []struct {
		name string
		opts func(*Options)
		prep func(*Server)
	}{
		{"configured user", func(o *Options) { signedIn(o); o.AutoApproveDeviceCodes = true }, nil},
		{"user from IssueRefreshToken", func(o *Options) { o.AutoApproveDeviceCodes = true },
			func(s *Server) { s.IssueRefreshToken(testClient, signedInUPN, signedInOID) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, tc.opts)
			if tc.prep != nil {
				tc.prep(f.srv)
			}
			dc, _ := f.startDevice(t, "https://graph.microsoft.com/User.Read")
			r := f.post(t, pollForm(dc))
			if r.status != 200 {
				t.Fatalf("first poll: %d %s", r.status, r.raw)
			}
			if _, has := r.body["refresh_token"]; has {
				t.Error("refresh_token without offline_access")
			}
			c, err := f.signer.Verify(r.body["access_token"].(string), token.AudienceGraph)
			if err != nil || c.UPN != signedInUPN || c.Scope != "User.Read" {
				t.Errorf("claims = %+v, %v", c, err)
			}
		})
	}
}

func TestDeviceCodeErrors(t *testing.T) {
	f := newFixtureWith(t, signedIn)
	dc, _ := f.startDevice(t, adsScope)
	polls := []struct {
		name   string
		tenant string
		form   url.Values
		status int
		oauth  string
		code   float64
	}{
		{"unknown device code", testTenant, pollForm("DAQABAAEAAA" + strings.Repeat("x", 40)), 400, "bad_verification_code", 70018},
		{"other client", testTenant, with(pollForm(dc), "client_id", otherClient), 400, "bad_verification_code", 70018},
		{"other tenant spelling", "organizations", pollForm(dc), 400, "bad_verification_code", 70018},
		{"no device code", testTenant, without(pollForm(dc), "device_code"), 400, "invalid_request", 900144},
		{"wrong secret", testTenant, with(pollForm(dc), "client_secret", "wrong-secret"), 401, "invalid_client", 7000215},
	}
	for _, tc := range polls {
		t.Run("poll "+tc.name, func(t *testing.T) {
			checkError(t, f.call(t, "POST", tc.tenant, "application/x-www-form-urlencoded", tc.form, nil), tc.status, tc.oauth, tc.code)
		})
	}
	starts := []struct {
		name, method, tenant string
		form                 url.Values
		oauth                string
		code                 float64
	}{
		{"no scope", "POST", testTenant, without(deviceForm(adsScope), "scope"), "invalid_request", 900144},
		{"no client", "POST", testTenant, without(deviceForm(adsScope), "client_id"), "invalid_request", 900144},
		{"unknown client", "POST", testTenant, with(deviceForm(adsScope), "client_id", "00000000-1111-2222-3333-444444444444"), "unauthorized_client", 700016},
		{"unknown resource", "POST", testTenant, deviceForm("https://example.contoso.com/x.read"), "invalid_resource", 500011},
		{"GET", "GET", testTenant, deviceForm(adsScope), "invalid_request", 900561},
		{"unknown tenant", "POST", "11111111-2222-3333-4444-555555555555", deviceForm(adsScope), "invalid_request", 90002},
	}
	for _, tc := range starts {
		t.Run("devicecode "+tc.name, func(t *testing.T) {
			checkError(t, f.deviceAuthorize(t, tc.method, tc.tenant, tc.form), 400, tc.oauth, tc.code)
		})
	}
	if err := f.srv.ApproveDeviceCode("NOSUCHCOD"); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("unknown user code: %v", err)
	}
	if err := f.srv.DenyDeviceCode(""); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("empty user code: %v", err)
	}
	nobody := newFixture(t)
	_, uc := nobody.startDevice(t, adsScope)
	if err := nobody.srv.ApproveDeviceCode(uc); !errors.Is(err, ErrNoSignInUser) {
		t.Errorf("approve with nobody signed in: %v", err)
	}
}

// An approved device code yields tokens once even when polled concurrently.
func TestDeviceCodeRedeemsOnceUnderConcurrency(t *testing.T) {
	f := newFixtureWith(t, func(o *Options) { signedIn(o); o.AutoApproveDeviceCodes = true })
	dc, _ := f.startDevice(t, adsScope)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Go(func() {
			resp, err := http.PostForm(f.base+"/"+testTenant+"/oauth2/v2.0/token", pollForm(dc))
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
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d successful redemptions, want 1", ok)
	}
}
