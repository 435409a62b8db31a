package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/msidm/msidm/clients/transport"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a slog handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretHygiene runs every flow, successful and failing, through the shared transport
// against a fake that throttles every other call and echoes request forms in its error
// bodies, with debug logging on; no error and no log line may contain a secret.
func TestSecretHygiene(t *testing.T) {
	f := newFakeIDP(t)
	f.trustCert()
	f.throttle = true
	f.refreshTokens["rt-SECRET-bootstrap"] = true

	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := transport.New(nil, transport.Options{Logger: log, BaseDelay: time.Millisecond})
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	dir := t.TempDir()
	store, err := NewTokenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(certFile, []byte(certPEM()+keyPKCS1PEM()), 0o600); err != nil {
		t.Fatal(err)
	}

	var errs []error
	var tokens []string
	record := func(name string, wantErr bool, tok string, err error) {
		t.Helper()
		if (err != nil) != wantErr {
			t.Errorf("%s: err %v, want error %v", name, err, wantErr)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if tok != "" {
			tokens = append(tokens, tok)
		}
	}
	app := AppCredentials{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient, GraphURL: Clouds["public"].GraphURL}

	// Graph, client secret.
	for _, secret := range []string{f.clientSecret, "cs~SECRET-wrong"} {
		c := app
		c.ClientSecret = secret
		tok, err := GraphTokenSource(hc, c).Token()
		record("secret "+secret[:6], secret != f.clientSecret, accessOf(tok), err)
	}
	// Graph, certificate: trusted, then one the tenant does not know.
	for _, trusted := range []bool{true, false} {
		if !trusted {
			f.certDER = mustSelfSigned(t)
		}
		ts, err := GraphCertificateTokenSource(hc, CertificateCredentials{AuthorityURL: f.srv.URL, TenantID: testTenant,
			ClientID: testClient, CertFile: certFile})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.Token()
		record(fmt.Sprint("certificate trusted=", trusted), !trusted, accessOf(tok), err)
	}
	// Managed identity: IMDS, then App Service with a wrong secret header.
	tok, err := ManagedIdentityTokenSource(hc, ManagedIdentity{Resource: "https://graph.microsoft.com", Endpoint: f.srv.URL + "/msi/token"}).Token()
	record("imds", false, accessOf(tok), err)
	tok, err = ManagedIdentityTokenSource(hc, ManagedIdentity{Resource: "https://graph.microsoft.com",
		AppServiceEndpoint: f.srv.URL + "/msi/token", AppServiceHeader: "idh-SECRET-wrong"}).Token()
	record("app service", true, accessOf(tok), err)

	// Ads: rotation with a store, a refused token, a store that cannot be written.
	ads := DelegatedCredentials{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient,
		ClientSecret: f.clientSecret, RefreshToken: "rt-SECRET-bootstrap", Scope: AdsScope, Store: store, Logger: log}
	src := AdsTokenSource(hc, ads, nil)
	for range 2 {
		tok, err := src.Token()
		record("ads", false, accessOf(tok), err)
		src.Invalidate()
	}
	bad := ads
	bad.Store, bad.RefreshToken = nil, "rt-SECRET-revoked"
	tok, err = AdsTokenSource(hc, bad, nil).Token()
	record("ads refused", true, accessOf(tok), err)
	gone, _ := NewTokenStore(filepath.Join(dir, "gone"))
	_ = os.RemoveAll(filepath.Dir(gone.Path()))
	unsaved := ads
	unsaved.Store = gone
	unsaved.RefreshToken, _ = store.Load()
	tok, err = AdsTokenSource(hc, unsaved, nil).Token()
	record("ads unsaved", true, accessOf(tok), err)

	// Login flows, successful and declined.
	login := LoginOptions{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient, HTTPClient: hc,
		Out: &bytes.Buffer{}, OpenBrowser: browser(t), Timeout: 10 * time.Second, Logger: log,
		sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
	rt, err := LoginAuthCode(context.Background(), login)
	record("auth code", false, rt, err)
	f.authorizeErr = "access_denied"
	_, err = LoginAuthCode(context.Background(), login)
	record("auth code declined", true, "", err)
	f.device = []string{"authorization_pending", "slow_down"}
	rt, err = LoginDeviceCode(context.Background(), login)
	record("device", false, rt, err)
	f.device = []string{"authorization_declined"}
	_, err = LoginDeviceCode(context.Background(), login)
	record("device declined", true, "", err)

	if tr.Stats().Retries == 0 || !strings.Contains(logs.String(), `"http retry"`) || !strings.Contains(logs.String(), "refresh token rotated") {
		t.Fatalf("the flows did not exercise retries and debug logging:\n%s", logs.String())
	}
	if len(errs) < 6 {
		t.Fatalf("only %d errors collected", len(errs))
	}

	secrets := append([]string{f.clientSecret, "cs~SECRET-wrong", "idh-SECRET", "rt-SECRET", "eyJfake-access", "code-SECRET",
		"devicecode-SECRET", "client_assertion", "SECRET-"}, tokens...)
	for _, key := range []string{keyPKCS1PEM(), keyPKCS8PEM()} {
		lines := strings.Split(key, "\n")
		secrets = append(secrets, lines[1], lines[5], lines[len(lines)-3])
	}
	k, _ := testCert()
	secrets = append(secrets, k.D.String()[:24])
	var texts []string
	for _, err := range errs {
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}
	texts = append(texts, strings.Split(logs.String(), "\n")...)
	for _, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("secret %.16q… leaked in: %s", s, text)
			}
		}
	}
}

func accessOf(t *oauth2.Token) string {
	if t == nil {
		return ""
	}
	return t.AccessToken
}
