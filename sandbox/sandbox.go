// Package sandbox runs in-process emulators of the Microsoft identity platform, Microsoft
// Graph v1.0 and the Customer Management service, each on its own loopback HTTP listener,
// seeded with a demo tenant. msidm's real clients talk to them over real HTTP exactly as
// they would talk to Microsoft; `msidm serve --sandbox` and every test stand on them.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/msidm/msidm/sandbox/adsemu"
	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/graphemu"
	"github.com/msidm/msidm/sandbox/idpemu"
	"github.com/msidm/msidm/sandbox/token"
)

// Options configures a sandbox. The zero value runs the demo tenant.
type Options struct {
	Tenant        *demo.Tenant  // nil: demo.Demo()
	TokenLifetime time.Duration // access-token lifetime; 0: one hour, as the real service
	Logger        *slog.Logger  // nil: discard
	// Addr is the host the listeners bind; "" means 127.0.0.1. Ports are always chosen by the OS.
	Addr string
}

// Sandbox is a running set of emulators and the credentials that work against them.
type Sandbox struct {
	AuthorityURL      string // service root of the identity platform (…/{tenant}/oauth2/v2.0/token below it)
	GraphURL          string // service root of Microsoft Graph (…/v1.0 below it)
	AdsURL            string // service root of Customer Management (SOAP and REST paths below it)
	TenantID          string
	ClientID          string
	ClientSecret      string
	AdsDeveloperToken string
	AdsCustomerID     int64
	AdsRefreshToken   string

	Tenant   *demo.Tenant
	IdP      *idpemu.Server
	Graph    *graphemu.Server
	Ads      *adsemu.Server
	servers  []*http.Server
	shutdown []func()
}

// Start seeds the emulators and starts their listeners. Close stops them.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Tenant == nil {
		opts.Tenant = demo.Demo()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1"
	}
	signer := token.NewSigner(nil)
	sb := &Sandbox{
		TenantID:          opts.Tenant.ID,
		ClientID:          "5e0c8f3a-sandbox-msidm-app",
		ClientSecret:      "sandbox-secret-" + token.RandomID(18),
		AdsDeveloperToken: demo.AdsDevToken,
		AdsCustomerID:     opts.Tenant.Ads.ID,
		Tenant:            opts.Tenant,
	}
	sb.IdP = idpemu.New(idpemu.Options{
		Signer:        signer,
		TenantID:      sb.TenantID,
		TokenLifetime: opts.TokenLifetime,
		Apps: []idpemu.App{{
			ClientID:     sb.ClientID,
			ClientSecret: sb.ClientSecret,
			Roles:        []string{"User.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All", "User.RevokeSessions.All"},
		}},
		Logger: opts.Logger.With("emulator", "identity"),
	})
	signedIn := findAdsUser(opts.Tenant, opts.Tenant.AdsSignedIn)
	sb.AdsRefreshToken = sb.IdP.IssueRefreshToken(sb.ClientID, opts.Tenant.AdsSignedIn, strconv.FormatInt(signedIn, 10))
	sb.Graph = graphemu.New(graphemu.Options{Signer: signer, Tenant: opts.Tenant, Logger: opts.Logger.With("emulator", "graph")})
	sb.Ads = adsemu.New(adsemu.Options{Signer: signer, Tenant: opts.Tenant, DeveloperToken: sb.AdsDeveloperToken,
		Logger: opts.Logger.With("emulator", "ads")})

	var err error
	if sb.AuthorityURL, err = sb.listen(opts.Addr, sb.IdP); err == nil {
		if sb.GraphURL, err = sb.listen(opts.Addr, sb.Graph); err == nil {
			sb.AdsURL, err = sb.listen(opts.Addr, sb.Ads)
		}
	}
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	go func() { <-ctx.Done(); sb.Close() }()
	return sb, nil
}

func (sb *Sandbox) listen(host string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	sb.servers = append(sb.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("sandbox listener stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops every listener. It is safe to call more than once.
func (sb *Sandbox) Close() error {
	for _, s := range sb.servers {
		_ = s.Close()
	}
	return nil
}

// Env returns the NAME=value assignments that point a normal `msidm serve` at this sandbox
// exactly as if it were a real tenant.
func (sb *Sandbox) Env() []string {
	return []string{
		"MSIDM_AUTHORITY_URL=" + sb.AuthorityURL,
		"MSIDM_GRAPH_URL=" + sb.GraphURL,
		"MSIDM_ADS_URL=" + sb.AdsURL,
		"MSIDM_TENANT_ID=" + sb.TenantID,
		"MSIDM_CLIENT_ID=" + sb.ClientID,
		"MSIDM_CLIENT_SECRET=" + sb.ClientSecret,
		"MSIDM_ADS_DEVELOPER_TOKEN=" + sb.AdsDeveloperToken,
		"MSIDM_ADS_CUSTOMER_ID=" + strconv.FormatInt(sb.AdsCustomerID, 10),
		"MSIDM_ADS_REFRESH_TOKEN=" + sb.AdsRefreshToken,
	}
}

func findAdsUser(t *demo.Tenant, userName string) int64 {
	for _, u := range t.Ads.Users {
		if u.UserName == userName {
			return u.ID
		}
	}
	return 0
}
