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
	"sync/atomic"
	"time"

	"github.com/msidm/msidm/sandbox/adsemu"
	"github.com/msidm/msidm/sandbox/chaos"
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
	// Chaos is the latency, fault and throttling injected in front of all three emulators
	// (package chaos). The zero value injects nothing. It can be replaced at run time through
	// Sandbox.Chaos or the control API.
	Chaos chaos.Config
	// AdsFaultStatus is the HTTP status of Customer Management faults: 0 or 500 as documented,
	// 200 as the live service has also been seen answering (NOTES §6.2).
	AdsFaultStatus int
	// Control starts the control API (chaos.ControlHandler plus the emulator endpoints of
	// controlMux) on a loopback listener of its own; Sandbox.ControlURL is its root.
	Control bool
	// ControlAddr is where the control API listens ("host:port"); "" means 127.0.0.1 on a port
	// the OS chooses. It must be a loopback address: the API changes what every client sees.
	ControlAddr string
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

	Tenant *demo.Tenant
	IdP    *idpemu.Server
	Graph  *graphemu.Server
	Ads    *adsemu.Server
	// Chaos decides latency, faults and throttling for every listener, and is the sandbox
	// clock (every emulator's Now): Chaos.Advance expires tokens and invitations.
	Chaos *chaos.Controller
	// ControlURL is the root of the control API ("" unless Options.Control).
	ControlURL string

	servers []*http.Server
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
	ctl, err := chaos.NewController(opts.Chaos)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	controlAddr, err := loopbackAddr(opts.ControlAddr)
	if err != nil {
		return nil, err
	}
	signer := token.NewSigner(ctl.Now)
	sb := &Sandbox{
		Chaos:             ctl,
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
		// Nobody is there to type a device code: the sandbox's signed-in user approves it,
		// so 'msidm login ads --device' completes unattended.
		AutoApproveDeviceCodes: true,
		Logger:                 opts.Logger.With("emulator", "identity"),
	})
	signedIn := findAdsUser(opts.Tenant, opts.Tenant.AdsSignedIn)
	sb.AdsRefreshToken = sb.IdP.IssueRefreshToken(sb.ClientID, opts.Tenant.AdsSignedIn, strconv.FormatInt(signedIn, 10))
	sb.Graph = graphemu.New(graphemu.Options{Signer: signer, Tenant: opts.Tenant, Logger: opts.Logger.With("emulator", "graph")})
	sb.Ads = adsemu.New(adsemu.Options{Signer: signer, Tenant: opts.Tenant, DeveloperToken: sb.AdsDeveloperToken,
		Logger: opts.Logger.With("emulator", "ads"), Now: ctl.Now})
	if opts.AdsFaultStatus != 0 {
		sb.Ads.SetFaultStatus(opts.AdsFaultStatus)
	}

	graph := chaos.MeteredMiddleware(chaos.ServiceGraph, ctl, graphemu.ThrottleKey, graphemu.ResourceUnits, sb.Graph.WriteChaosFault)(sb.Graph)
	sb.Graph.BatchItemHook = batchItemHook(ctl)
	ads := chaos.Middleware(chaos.ServiceAds, ctl, adsemu.ThrottleKey, sb.Ads.WriteChaosFault)(sb.Ads)
	identity := identityChaos(ctl, sb.IdP)
	if sb.AuthorityURL, err = sb.listen(net.JoinHostPort(opts.Addr, "0"), identity); err == nil {
		if sb.GraphURL, err = sb.listen(net.JoinHostPort(opts.Addr, "0"), graph); err == nil {
			if sb.AdsURL, err = sb.listen(net.JoinHostPort(opts.Addr, "0"), ads); err == nil && opts.Control {
				sb.ControlURL, err = sb.listen(controlAddr, sb.controlMux())
			}
		}
	}
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	go func() { <-ctx.Done(); sb.Close() }()
	return sb, nil
}

func (sb *Sandbox) listen(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
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

// loopbackAddr checks the control API's address: "" is 127.0.0.1 on any port; anything else
// must name a loopback IP or localhost.
func loopbackAddr(addr string) (string, error) {
	if addr == "" {
		return "127.0.0.1:0", nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("sandbox: control address %q is not host:port", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("sandbox: control address %q is not a loopback address; the control API must not leave this machine", addr)
	}
	return addr, nil
}

// identityChaos applies Decide to the identity platform through its Fault hook, so injected
// failures have the real AADSTS shape (temporarily_unavailable; 429 as AADSTS90055
// TenantThrottlingError). The hook is asked only for well-formed token requests and sees no
// request, so the decision is made there with one budget for the tenant (the sandbox's only
// one, as TenantThrottlingError is per tenant), its latency is slept there, and the
// Retry-After of the latest injected decision is added to 429/503 answers here.
func identityChaos(ctl *chaos.Controller, idp *idpemu.Server) http.Handler {
	var retryAfter atomic.Int64
	idp.Fault = func(grant string) (int, bool) {
		d := ctl.Decide(chaos.ServiceIdentity, "tenant")
		if d.Delay > 0 {
			time.Sleep(d.Delay)
		}
		if d.Kind == chaos.Pass {
			return 0, false
		}
		retryAfter.Store(int64(d.RetryAfter))
		return d.Status, true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.ServeHTTP(&retryAfterWriter{ResponseWriter: w, retryAfter: &retryAfter}, r)
	})
}

// retryAfterWriter adds Retry-After to a 429 or 503 answer.
type retryAfterWriter struct {
	http.ResponseWriter
	retryAfter *atomic.Int64
}

func (w *retryAfterWriter) WriteHeader(status int) {
	if d := time.Duration(w.retryAfter.Load()); (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && d > 0 {
		w.Header().Set("Retry-After", chaos.RetryAfterSeconds(d))
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// batchItemHook decides each $batch item as a request of its own to "graph/batch" (its own
// random stream and counters; the Services filter for graph covers it). Items are throttled
// against one budget for all batches, as the hook does not say whose batch it is.
func batchItemHook(ctl *chaos.Controller) func(method, url string) (int, string, bool) {
	return func(method, url string) (int, string, bool) {
		d := ctl.Decide(chaos.ServiceGraph+"/batch", "batch")
		if d.Kind == chaos.Pass {
			return 0, "", false
		}
		retryAfter := ""
		if d.RetryAfter > 0 {
			retryAfter = chaos.RetryAfterSeconds(d.RetryAfter)
		}
		return d.Status, retryAfter, true
	}
}

// controlMux is the control API: chaos.ControlHandler plus what a person or Microsoft does
// outside the emulated APIs:
//
//	POST /ads/invitations/{id}/accept  the invited person accepts: {"user_id": n}; 404 unknown, 409 expired
//	POST /ads/invitations/{id}/expire  the invitation's 30 days pass now
//	GET  /calls                        the emulators' request counters:
//	                                   {"graph": {"METHOD pattern": n}, "ads": {"Op": n}}
func (sb *Sandbox) controlMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", chaos.ControlHandler(sb.Chaos))
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		chaos.WriteJSON(w, http.StatusOK, map[string]map[string]int{"graph": sb.Graph.CallCounts(), "ads": sb.Ads.CallCounts()})
	})
	invitation := func(w http.ResponseWriter, r *http.Request) (int64, bool) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			chaos.WriteError(w, http.StatusBadRequest, "the invitation id must be a number")
		}
		return id, err == nil
	}
	mux.HandleFunc("POST /ads/invitations/{id}/accept", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := invitation(w, r); ok {
			userID, err := sb.Ads.AcceptInvitation(id)
			if err != nil {
				writeInvitationError(w, err)
				return
			}
			chaos.WriteJSON(w, http.StatusOK, map[string]int64{"user_id": userID})
		}
	})
	mux.HandleFunc("POST /ads/invitations/{id}/expire", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := invitation(w, r); ok {
			if err := sb.Ads.ExpireInvitation(id); err != nil {
				writeInvitationError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return chaos.LoopbackOnly(mux)
}

func writeInvitationError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, adsemu.ErrInvitationNotFound):
		status = http.StatusNotFound
	case errors.Is(err, adsemu.ErrInvitationExpired):
		status = http.StatusConflict
	}
	chaos.WriteError(w, status, err.Error())
}
