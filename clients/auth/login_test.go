package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// browser follows the authorization URL like a user's browser that is already signed in:
// the fake /authorize redirects straight to the loopback listener.
func browser(t *testing.T) func(string) error {
	return func(u string) error {
		go func() {
			resp, err := http.Get(u)
			if err != nil {
				t.Errorf("browser: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
		return nil
	}
}

func TestLoginAuthCode(t *testing.T) {
	tests := []struct {
		name         string
		redirectHost string
		scope        string
		setup        func(f *fakeIDP)
		noBrowser    bool
		wantCode     string // OAuth code of the *Error; "" = success
		wantHint     string
	}{
		{"localhost redirect", "", "", nil, false, "", ""},
		{"127.0.0.1 redirect", "127.0.0.1", "", nil, false, "", ""},
		{"state mismatch", "", "", func(f *fakeIDP) { f.wrongState = true }, false, "state_mismatch", "again"},
		{"consent declined", "", "", func(f *fakeIDP) { f.authorizeErr = "access_denied" }, false, "access_denied", "declined"},
		{"no offline_access", "", "https://ads.microsoft.com/msads.manage", nil, false, "no_refresh_token", "offline_access"},
		{"no redirect in time", "", "", nil, true, "timeout", "--device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIDP(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			var out bytes.Buffer
			store, _ := NewTokenStore(t.TempDir())
			opts := LoginOptions{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient, Scope: tt.scope,
				Out: &out, OpenBrowser: browser(t), RedirectHost: tt.redirectHost, Timeout: 10 * time.Second, Store: store}
			if tt.noBrowser {
				opts.OpenBrowser, opts.Timeout = nil, 200*time.Millisecond
			}
			rt, err := LoginAuthCode(context.Background(), opts)
			if tt.wantCode == "" {
				if err != nil || !strings.HasPrefix(rt, "rt-SECRET-rotated-") {
					t.Fatalf("rt %q err %v", rt, err)
				}
				if saved, _ := store.Load(); saved != rt {
					t.Fatalf("stored %q", saved)
				}
				host := tt.redirectHost
				if host == "" {
					host = "localhost"
				}
				form := f.forms[0]
				if form.Get("grant_type") != "authorization_code" || len(form.Get("code_verifier")) < 43 ||
					!strings.HasPrefix(form.Get("redirect_uri"), "http://"+host+":") {
					t.Fatalf("token request %v", form)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.OAuthCode != tt.wantCode || !strings.Contains(ae.Hint, tt.wantHint) {
				t.Fatalf("err %#v, want %s", err, tt.wantCode)
			}
			if tt.noBrowser && !strings.Contains(out.String(), "/oauth2/v2.0/authorize?") {
				t.Fatalf("URL not printed: %q", out.String())
			}
			if saved, _ := store.Load(); saved != "" {
				t.Fatalf("stored %q after a failure", saved)
			}
		})
	}
}

func TestLoginAuthCodeURL(t *testing.T) {
	var got string
	ctx, cancel := context.WithCancel(context.Background())
	opts := LoginOptions{ClientID: testClient, Out: io.Discard, OpenBrowser: func(u string) error { got = u; cancel(); return nil }}
	if _, err := LoginAuthCode(ctx, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "login.microsoftonline.com" || u.Path != "/common/oauth2/v2.0/authorize" || q.Get("scope") != AdsScope ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 32 ||
		!strings.HasPrefix(q.Get("redirect_uri"), "http://localhost:") || q.Get("response_type") != "code" {
		t.Fatalf("authorize URL %s", got)
	}
}

func TestLoginDeviceCode(t *testing.T) {
	tests := []struct {
		name      string
		answers   []string
		wantWaits []time.Duration
		wantCode  string
	}{
		{"pending twice then success", []string{"authorization_pending", "authorization_pending"}, []time.Duration{time.Second, time.Second, time.Second}, ""},
		{"slow down", []string{"slow_down", "authorization_pending"}, []time.Duration{time.Second, 6 * time.Second, 6 * time.Second}, ""},
		{"expired", []string{"authorization_pending", "expired_token"}, []time.Duration{time.Second, time.Second}, "expired_token"},
		{"declined (Entra)", []string{"authorization_declined"}, []time.Duration{time.Second}, "authorization_declined"},
		{"denied (RFC 8628)", []string{"access_denied"}, []time.Duration{time.Second}, "access_denied"},
		{"bad code", []string{"bad_verification_code"}, []time.Duration{time.Second}, "bad_verification_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIDP(t)
			f.device = tt.answers
			var out bytes.Buffer
			var mu sync.Mutex
			var waits []time.Duration
			opts := LoginOptions{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient, Out: &out,
				sleep: func(ctx context.Context, d time.Duration) error {
					mu.Lock()
					defer mu.Unlock()
					waits = append(waits, d)
					return ctx.Err()
				}}
			rt, err := LoginDeviceCode(context.Background(), opts)
			if !strings.Contains(out.String(), "enter the code FAKE-CODE") || strings.Contains(out.String(), "devicecode-SECRET") {
				t.Fatalf("printed %q", out.String())
			}
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits %v, want %v", waits, tt.wantWaits)
			}
			for i := range waits {
				if waits[i] != tt.wantWaits[i] {
					t.Fatalf("waits %v, want %v", waits, tt.wantWaits)
				}
			}
			if tt.wantCode == "" {
				if err != nil || !strings.HasPrefix(rt, "rt-SECRET-rotated-") || f.devicePolls != len(tt.answers)+1 {
					t.Fatalf("rt %q err %v polls %d", rt, err, f.devicePolls)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.OAuthCode != tt.wantCode || ae.Hint == "" {
				t.Fatalf("err %v, want %s", err, tt.wantCode)
			}
		})
	}
}

func TestLoginDeviceCodeCancelled(t *testing.T) {
	f := newFakeIDP(t)
	f.device = []string{"authorization_pending", "authorization_pending", "authorization_pending"}
	ctx, cancel := context.WithCancel(context.Background())
	opts := LoginOptions{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient, Out: io.Discard,
		sleep: func(c context.Context, d time.Duration) error { cancel(); return c.Err() }}
	if _, err := LoginDeviceCode(ctx, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}
