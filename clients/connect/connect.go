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
)

// Settings are the resolved endpoints and credentials (see the README's configuration table).
type Settings struct {
	AuthorityURL string
	GraphURL     string
	AdsURL       string

	TenantID     string
	ClientID     string
	ClientSecret string

	AdsTenant         string // "" means TenantID, or "common" without one
	AdsClientID       string
	AdsClientSecret   string
	AdsDeveloperToken string
	AdsRefreshToken   string
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
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConns, base.MaxIdleConnsPerHost = 256, 64
	plain := &http.Client{Transport: base, Timeout: 60 * time.Second}
	out := &Clients{}
	if entra {
		ts := &recordingSource{src: auth.GraphTokenSource(plain, auth.AppCredentials{
			AuthorityURL: s.AuthorityURL, TenantID: s.TenantID, ClientID: s.ClientID,
			ClientSecret: s.ClientSecret, GraphURL: s.GraphURL,
		}), red: red}
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
		ts := &recordingSource{src: auth.AdsTokenSource(plain, auth.DelegatedCredentials{
			AuthorityURL: s.AuthorityURL, TenantID: tenant, ClientID: s.AdsClientID,
			ClientSecret: s.AdsClientSecret, RefreshToken: s.AdsRefreshToken, Scope: auth.AdsScope,
		}, func(rt string) { red.Add(rt) }), red: red}
		ac, err := ads.NewSOAP(s.AdsURL, plain, ts, s.AdsDeveloperToken)
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
