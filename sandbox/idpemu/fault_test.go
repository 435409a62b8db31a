package idpemu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

func TestFaultHook(t *testing.T) {
	f := newFixtureWith(t, signedIn)
	var seen atomic.Value
	f.srv.Fault = func(grant string) (int, bool) {
		seen.Store(grant)
		switch grant {
		case "client_credentials":
			return 503, true
		case "refresh_token":
			return 429, true
		case "devicecode":
			return 0, true // below 400: 503
		}
		return 0, false
	}
	checkError(t, f.post(t, cc(graphScope)), 503, "temporarily_unavailable", 90006)
	if seen.Load() != "client_credentials" {
		t.Errorf("Fault saw %v", seen.Load())
	}
	rt := f.srv.IssueRefreshToken(testClient, "u@contoso.example", "1")
	checkError(t, f.post(t, refreshForm(rt, adsScope)), 429, "temporarily_unavailable", 90055)
	checkError(t, f.deviceAuthorize(t, "POST", testTenant, deviceForm(adsScope)), 503, "temporarily_unavailable", 90006)
	// Grants the hook lets through are served.
	if r := f.post(t, redeemForm(f.code(t, authorizeParams()))); r.status != 200 {
		t.Errorf("authorization_code: %d %s", r.status, r.raw)
	}
	// The refresh token was not consumed by the injected fault.
	f.srv.Fault = nil
	if r := f.post(t, refreshForm(rt, adsScope)); r.status != 200 {
		t.Errorf("refresh after fault: %d %s", r.status, r.raw)
	}
}

func TestSetTokenLifetime(t *testing.T) {
	f := newFixture(t)
	f.srv.SetTokenLifetime(2 * time.Minute)
	r := f.post(t, cc(graphScope))
	if r.status != 200 || r.body["expires_in"] != 119.0 || r.body["ext_expires_in"] != 119.0 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	at := r.body["access_token"].(string)
	if _, err := f.signer.Verify(at, token.AudienceGraph); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	if _, err := f.signer.Verify(at, token.AudienceGraph); err != token.ErrExpired {
		t.Errorf("after lifetime: %v", err)
	}
	f.srv.SetTokenLifetime(0)
	if r := f.post(t, cc(graphScope)); r.body["expires_in"] != 3599.0 {
		t.Errorf("reset lifetime: %v", r.body["expires_in"])
	}
}
