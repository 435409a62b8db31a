// Package connect builds msidm's service clients from settings: the identity platform token
// sources, the Graph client and the Customer Management client, sharing one HTTP transport,
// with every secret registered for redaction. cmd/msidm uses it at start-up and tests use it
// against the sandbox, so both exercise the same wiring.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/auth"
	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/clients/transport"
)

// Settings are the resolved endpoints and credentials (see the README's configuration table).
type Settings struct {
	AuthorityURL string
	GraphURL     string
	AdsURL       string

	TenantID     string
	ClientID     string
	ClientSecret string
	ClientCert   string // PEM with certificate and key: certificate sign-in instead of the secret
	// ManagedIdentity uses the Azure managed identity (IMDS or App Service) for Graph.
	ManagedIdentity bool

	AdsTenant         string // "" means TenantID, or "common" without one
	AdsClientID       string
	AdsClientSecret   string
	AdsDeveloperToken string
	AdsRefreshToken   string
	AdsProtocol       string // soap (default) or rest
	AdsCustomerID     int64
	AdsAccountID      int64
	// StateDir holds the rotating Ads refresh token; "" keeps rotations in memory only.
	StateDir string
	// Getenv reads App Service managed-identity variables; nil means no App Service.
	Getenv func(string) string
}

// Clients are the built clients; a nil client means that system was not asked for.
type Clients struct {
	Graph *graph.Client
	Ads   ads.Service
}

// Build returns clients for the systems asked for. It makes no network call.
func Build(s Settings, entra, adsToo bool, red *redact.Redactor, logger *slog.Logger) (*Clients, error) {
	if red == nil {
		red = &redact.Redactor{}
	}
	red.Add(s.ClientSecret, s.AdsClientSecret, s.AdsDeveloperToken, s.AdsRefreshToken)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pool := http.DefaultTransport.(*http.Transport).Clone()
	pool.MaxIdleConns, pool.MaxIdleConnsPerHost = 256, 64
	// One retrying transport for every Microsoft call: throttling and transient failures are
	// handled once, the same way, for Graph, Customer Management and the identity platform.
	base := transport.New(pool, transport.Options{Logger: logger.With("component", "transport")})
	plain := &http.Client{Transport: base, Timeout: 60 * time.Second}
	out := &Clients{}
	if entra {
		src, err := graphTokens(plain, s)
		if err != nil {
			return nil, err
		}
		ts := &recordingSource{src: src, red: red}
		gc, err := graph.New(s.GraphURL, &http.Client{Transport: &oauth2.Transport{Source: ts, Base: base}, Timeout: 60 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("MSIDM_GRAPH_URL: %w", err)
		}
		out.Graph = gc
	}
	if adsToo {
		tenant := s.AdsTenant
		if tenant == "" {
			tenant = s.TenantID
		}
		if tenant == "" {
			tenant = "common"
		}
		creds := auth.DelegatedCredentials{
			AuthorityURL: s.AuthorityURL, TenantID: tenant, ClientID: s.AdsClientID,
			ClientSecret: s.AdsClientSecret, RefreshToken: s.AdsRefreshToken, Scope: auth.AdsScope, Logger: logger,
		}
		if s.StateDir != "" {
			store, err := auth.NewTokenStore(s.StateDir)
			if err != nil {
				return nil, fmt.Errorf("MSIDM_STATE_DIR: %w", err)
			}
			creds.Store = store
		}
		ts := &recordingSource{src: auth.AdsTokenSource(plain, creds, func(rt string) { red.Add(rt) }), red: red}
		ac, err := ads.New(ads.Config{Protocol: s.AdsProtocol, Root: s.AdsURL, HTTPClient: plain, Tokens: ts,
			DeveloperToken: s.AdsDeveloperToken, CustomerID: s.AdsCustomerID, AccountID: s.AdsAccountID,
			Options: ads.Options{Logger: logger.With("component", "ads")}})
		if err != nil {
			return nil, fmt.Errorf("MSIDM_ADS_URL: %w", err)
		}
		out.Ads = ac
	}
	return out, nil
}

// Check proves, with one token and one cheap read per system, that credentials and endpoints
// work, so a misconfiguration is reported at start-up rather than on the first call.
func (c *Clients) Check(ctx context.Context, s Settings, red *redact.Redactor) error {
	var checks []func(context.Context) error
	if c.Graph != nil {
		checks = append(checks, func(ctx context.Context) error {
			_, err := c.Graph.UsersPage(ctx, c.Graph.UsersURL(graph.ListUsersOptions{Top: 1, Select: []string{"id"}}), nil)
			if err != nil {
				return fmt.Errorf("Microsoft Graph check failed at %s: %w", s.GraphURL, err)
			}
			return nil
		})
	}
	if c.Ads != nil {
		checks = append(checks, func(ctx context.Context) error {
			if _, _, err := c.Ads.GetUser(ctx, 0); err != nil {
				return fmt.Errorf("Microsoft Advertising check failed at %s: %w", s.AdsURL, err)
			}
			return nil
		})
	}
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() { errs[i] = check(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return errors.New(red.String(err.Error()))
	}
	return nil
}

// graphTokens picks the app-only credential: managed identity, certificate, or secret.
func graphTokens(hc *http.Client, s Settings) (oauth2.TokenSource, error) {
	switch {
	case s.ManagedIdentity:
		getenv := s.Getenv
		if getenv == nil {
			getenv = func(string) string { return "" }
		}
		return auth.ManagedIdentityTokenSource(hc, auth.ManagedIdentityFromEnv(getenv, auth.GraphResource(s.GraphURL), s.ClientID)), nil
	case s.ClientCert != "":
		return auth.GraphCertificateTokenSource(hc, auth.CertificateCredentials{AuthorityURL: s.AuthorityURL,
			TenantID: s.TenantID, ClientID: s.ClientID, GraphURL: s.GraphURL, CertFile: s.ClientCert})
	}
	return auth.GraphTokenSource(hc, auth.AppCredentials{AuthorityURL: s.AuthorityURL, TenantID: s.TenantID,
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, GraphURL: s.GraphURL}), nil
}

// recordingSource registers every token with the redactor before it is used.
type recordingSource struct {
	src oauth2.TokenSource
	red *redact.Redactor
}

func (r *recordingSource) Token() (*oauth2.Token, error) {
	t, err := r.src.Token()
	if err == nil {
		r.red.Add(t.AccessToken, t.RefreshToken)
	}
	return t, err
}

// Invalidate forwards to the wrapped source, so the Ads client's refresh after fault 109
// (AuthenticationTokenExpired) reaches the real token source through this wrapper.
func (r *recordingSource) Invalidate() {
	if inv, ok := r.src.(interface{ Invalidate() }); ok {
		inv.Invalidate()
	}
}
