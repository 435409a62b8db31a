package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mark3labs/mcp-go/server"

	clientsconnect "github.com/msidm/msidm/clients/connect"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/policy"
	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/tools"
)

// preflightTimeout bounds the start-up check that credentials and endpoints work.
const preflightTimeout = 20 * time.Second

func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadEnv(os.Getenv)
	if err != nil {
		return err
	}
	fs := newFlagSet("serve")
	fs.BoolVar(&cfg.Sandbox, "sandbox", false, "run against the built-in emulators with a demo tenant (no Microsoft account needed)")
	fs.StringVar(&cfg.HTTPAddr, "http", "", "serve streamable HTTP at `addr` (for example 127.0.0.1:8080) on /mcp instead of stdio")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format on stderr: text or json (MSIDM_LOG_FORMAT)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn, error (MSIDM_LOG_LEVEL)")
	fs.BoolVar(&cfg.ReadOnly, "read-only", cfg.ReadOnly, "offer and allow only read tools; wins over every other setting (MSIDM_READ_ONLY)")
	toolsets := fs.String("toolsets", "", "comma-separated toolsets to offer: ads, entra, cross (MSIDM_TOOLSETS; default all)")
	toolNames := fs.String("tools", "", "comma-separated allow-list of tool names (MSIDM_TOOLS; default all)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *toolsets != "" {
		cfg.Toolsets = splitList(*toolsets)
	}
	if *toolNames != "" {
		cfg.Tools = splitList(*toolNames)
	}

	red := &redact.Redactor{}
	logger, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel, red)
	if err != nil {
		return err
	}
	catalogue, err := tools.Select(tools.All(&tools.Deps{}), tools.Selection{Toolsets: cfg.Toolsets, Tools: cfg.Tools})
	if err != nil {
		return err
	}
	needEntra, needAds := systemsUsed(catalogue)
	if err := cfg.resolve(needEntra, needAds); err != nil {
		return err
	}
	if cfg.HTTPAddr != "" {
		if err := checkListenAddr(cfg.HTTPAddr, cfg.HTTPToken); err != nil {
			return err
		}
	}

	started := time.Now()
	if cfg.Sandbox {
		sb, err := sandbox.Start(ctx, sandbox.Options{Logger: logger.With("component", "sandbox")})
		if err != nil {
			return err
		}
		defer sb.Close()
		useSandbox(&cfg, sb)
		logger.Info("sandbox started", "tenant", sb.Tenant.Domain, "graph", sb.GraphURL, "ads", sb.AdsURL, "identity", sb.AuthorityURL)
	}
	red.Add(cfg.ClientSecret, cfg.AdsDeveloperToken, cfg.AdsRefreshToken, cfg.HTTPToken)

	deps := &tools.Deps{AdsCustomerID: cfg.AdsCustomerID, Redactor: red, Logger: logger}
	if err := connect(ctx, &cfg, deps, needEntra, needAds, red, logger); err != nil {
		return err
	}
	selected, err := tools.Select(tools.All(deps), tools.Selection{Toolsets: cfg.Toolsets, Tools: cfg.Tools})
	if err != nil {
		return err
	}
	gate := policy.NewGate(policy.Config{ReadOnly: cfg.ReadOnly})
	mcpServer := tools.NewServer(tools.ServerInfo{Name: "msidm", Version: version}, selected, gate, logger)
	logger.Info("msidm ready", "tools", len(selected), "read_only", cfg.ReadOnly, "startup", time.Since(started).Round(time.Millisecond))

	if cfg.HTTPAddr != "" {
		return serveHTTP(ctx, cfg, mcpServer, logger)
	}
	stdio := server.NewStdioServer(mcpServer)
	stdio.SetErrorLogger(log.New(stderr, "mcp: ", 0))
	err = stdio.Listen(ctx, stdin, stdout)
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, io.EOF)) {
		return nil
	}
	return err
}

// systemsUsed reports whether the selected tools need Entra ID and Microsoft Advertising.
func systemsUsed(ts []tools.Tool) (entra, ads bool) {
	for _, t := range ts {
		switch t.Toolset {
		case tools.ToolsetEntra:
			entra = true
		case tools.ToolsetAds:
			ads = true
		case tools.ToolsetCross:
			entra, ads = true, true
		}
	}
	return entra, ads
}

// useSandbox points the configuration at a running sandbox, exactly as the printed
// environment of 'msidm sandbox --print-env' would.
func useSandbox(cfg *config, sb *sandbox.Sandbox) {
	cfg.AuthorityURL, cfg.GraphURL, cfg.AdsURL = sb.AuthorityURL, sb.GraphURL, sb.AdsURL
	cfg.TenantID, cfg.ClientID, cfg.ClientSecret = sb.TenantID, sb.ClientID, sb.ClientSecret
	cfg.AdsClientID, cfg.AdsDeveloperToken = sb.ClientID, sb.AdsDeveloperToken
	cfg.AdsCustomerID, cfg.AdsRefreshToken = sb.AdsCustomerID, sb.AdsRefreshToken
}

// connect builds the clients and proves, before serving, that the credentials and
// endpoints work: a failure is one clear line at start-up rather than on the first call.
func connect(ctx context.Context, cfg *config, deps *tools.Deps, needEntra, needAds bool, red *redact.Redactor, logger *slog.Logger) error {
	settings := connectSettings(cfg)
	cl, err := clientsconnect.Build(settings, needEntra, needAds, red, logger)
	if err != nil {
		return err
	}
	deps.Graph, deps.Ads = cl.Graph, cl.Ads
	if needAds {
		logger.Warn("Microsoft retires the Customer Management SOAP API on 2027-01-31; msidm speaks SOAP now (MSIDM_ADS_PROTOCOL=soap)")
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	return cl.Check(ctx, settings, red)
}

func connectSettings(cfg *config) clientsconnect.Settings {
	return clientsconnect.Settings{
		AuthorityURL: cfg.AuthorityURL, GraphURL: cfg.GraphURL, AdsURL: cfg.AdsURL,
		TenantID: cfg.TenantID, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		AdsClientID: cfg.AdsClientID, AdsClientSecret: adsSecret(cfg),
		AdsDeveloperToken: cfg.AdsDeveloperToken, AdsRefreshToken: cfg.AdsRefreshToken,
	}
}

// adsSecret sends the client secret with refresh requests only when the Ads app is the same
// confidential app as the Graph one; a separate Ads app is treated as a public client.
func adsSecret(cfg *config) string {
	if cfg.AdsClientID == cfg.ClientID {
		return cfg.ClientSecret
	}
	return ""
}

// checkListenAddr refuses a non-loopback listener without a bearer token: an MCP server
// that can change a tenant must not be reachable from the network unauthenticated.
func checkListenAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--http %q is not host:port; use for example --http 127.0.0.1:8080", addr)
	}
	if isLoopbackHost(host) || token != "" {
		return nil
	}
	return fmt.Errorf("refusing to serve HTTP on non-loopback address %q without a bearer token: set MSIDM_HTTP_TOKEN to a long random value, or use --http 127.0.0.1:8080", addr)
}

// serveHTTP serves streamable HTTP on /mcp until ctx ends. Sessions are stateful (not
// mcp-go's stateless mode, which breaks elicitation for older clients).
func serveHTTP(ctx context.Context, cfg config, mcpServer *server.MCPServer, logger *slog.Logger) error {
	streamable := server.NewStreamableHTTPServer(mcpServer, server.WithStateful(true),
		server.WithStreamableHTTPLogger(logger.With("component", "http")))
	mux := http.NewServeMux()
	mux.Handle("/mcp", newGuard(cfg.HTTPToken, cfg.AllowedOrigins).wrap(streamable))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v; choose another address with --http", cfg.HTTPAddr, err)
	}
	logger.Info("serving MCP over streamable HTTP", "url", "http://"+ln.Addr().String()+"/mcp", "auth", authMode(cfg.HTTPToken))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = streamable.Shutdown(shutdownCtx)
	_ = srv.Shutdown(shutdownCtx)
	logger.Info("stopped")
	return nil
}

func authMode(token string) string {
	if token == "" {
		return "none (loopback only)"
	}
	return "bearer token (MSIDM_HTTP_TOKEN)"
}
