package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"

	clientsconnect "github.com/msidm/msidm/clients/connect"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/offboard"
	"github.com/msidm/msidm/policy"
	"github.com/msidm/msidm/policy/audit"
	"github.com/msidm/msidm/policy/confirm"
	"github.com/msidm/msidm/policy/examples"
	"github.com/msidm/msidm/policy/rules"
	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/snapshot"
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
	fs.DurationVar(&cfg.SyncEvery, "sync-every", cfg.SyncEvery, "refresh the Entra and Ads snapshots in the background every `interval` (e.g. 10m; MSIDM_SYNC_EVERY; default off)")
	fs.StringVar(&cfg.PolicyFile, "policy", cfg.PolicyFile, "policy `file` with the guard rails (MSIDM_POLICY_FILE; the sandbox defaults to the example policy)")
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
	// The catalogue is built once: handlers read deps when they run, so the clients, gate and
	// stores filled in below are the ones they use.
	deps := &tools.Deps{Redactor: red, Logger: logger}
	selected, err := tools.Select(tools.All(deps), tools.Selection{Toolsets: cfg.Toolsets, Tools: cfg.Tools})
	if err != nil {
		return err
	}
	needEntra, needAds := systemsUsed(selected)
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

	deps.AdsCustomerID = cfg.AdsCustomerID
	if err := connect(ctx, &cfg, deps, needEntra, needAds, red, logger); err != nil {
		return err
	}
	gate, closeGate, err := newGate(ctx, cfg, deps, red, logger)
	if err != nil {
		return err
	}
	defer closeGate()
	deps.Gate = gate
	closeStores, err := openStores(ctx, cfg, deps, logger)
	if err != nil {
		return err
	}
	defer closeStores()

	// The listener comes first: the approval page's links need its address.
	var ln net.Listener
	if cfg.HTTPAddr != "" {
		if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("cannot listen on %s: %v; choose another address with --http", cfg.HTTPAddr, err)
		}
		defer ln.Close()
	}
	approvals, err := newConfirmer(ctx, cfg, gate, deps, ln, red, logger)
	if err != nil {
		return err
	}
	mcpServer := tools.NewServer(tools.ServerInfo{Name: "msidm", Version: version}, deps, selected, gate, logger)
	logger.Info("msidm ready", "tools", len(selected), "read_only", cfg.ReadOnly, "startup", time.Since(started).Round(time.Millisecond))

	if ln != nil {
		return serveHTTP(ctx, cfg, ln, mcpServer, approvals, logger)
	}
	stdio := server.NewStdioServer(mcpServer)
	stdio.SetErrorLogger(log.New(stderr, "mcp: ", 0))
	caller := confirm.StdioCaller()
	stdio.SetContextFunc(func(ctx context.Context) context.Context { return confirm.WithCaller(ctx, caller) })
	err = stdio.Listen(ctx, stdin, stdout)
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, io.EOF)) {
		return nil
	}
	return err
}

// openStores opens the offboarding journal and the snapshot store under the state directory
// (the sandbox's own subfolder in sandbox mode), and starts the background sync when asked.
func openStores(ctx context.Context, cfg config, deps *tools.Deps, logger *slog.Logger) (func(), error) {
	dir := stateDir(cfg)
	journal, err := offboard.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("offboarding journal in %s: %w (set MSIDM_STATE_DIR to a writable directory)", dir, err)
	}
	store, err := snapshot.Open(ctx, dir, snapshot.Options{Tenant: cfg.TenantID})
	if err != nil {
		journal.Close()
		return nil, fmt.Errorf("snapshot store in %s: %w (set MSIDM_STATE_DIR to a writable directory)", dir, err)
	}
	deps.Journal, deps.Snapshot = journal, store
	if cfg.SyncEvery > 0 {
		go syncLoop(ctx, cfg.SyncEvery, &snapshot.Syncer{Store: store, Graph: deps.Graph, Ads: deps.Ads, Concurrency: 16}, logger)
	}
	return func() { store.Close(); journal.Close() }, nil
}

// syncLoop refreshes the snapshots every interval until ctx ends. A failed round is logged
// and retried at the next tick; the stores keep their cursor at the last committed page.
func syncLoop(ctx context.Context, every time.Duration, y *snapshot.Syncer, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if y.Graph != nil {
			if r, err := y.SyncEntra(ctx, snapshot.EntraOptions{}); err != nil {
				logger.Warn("background Entra sync failed", "err", err)
			} else {
				logger.Info("background Entra sync", "result", fmt.Sprintf("%+v", r))
			}
		}
		if y.Ads != nil {
			if r, err := y.SyncAds(ctx, snapshot.AdsOptions{}); err != nil {
				logger.Warn("background Ads sync failed", "err", err)
			} else {
				logger.Info("background Ads sync", "result", fmt.Sprintf("%+v", r))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stateDir is where this run keeps its state: the sandbox uses a subfolder so demo changes
// never mix with a real tenant's audit trail and journals.
func stateDir(cfg config) string {
	if cfg.Sandbox {
		return filepath.Join(cfg.StateDir, "sandbox")
	}
	return cfg.StateDir
}

// newConfirmer builds the human-confirmation mechanisms the policy allows and installs them
// in the gate. On HTTP the approval page is served beside /mcp; in stdio mode it gets its own
// loopback listener. It returns the approval page handler for HTTP (nil otherwise).
func newConfirmer(ctx context.Context, cfg config, gate *policy.Gate, deps *tools.Deps, ln net.Listener, red *redact.Redactor, logger *slog.Logger) (http.Handler, error) {
	opts := confirm.Options{
		CurrentModes:  func() []string { return gate.Rules().ConfirmationModes },
		ApproverToken: os.Getenv(confirm.EnvApproverToken),
		AgentToken:    cfg.HTTPToken,
		Reread:        deps.Fingerprint,
	}
	red.Add(opts.ApproverToken)
	if k := os.Getenv(confirm.EnvStateKey); k != "" {
		key, err := confirm.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (use 32 random bytes, hex or base64: openssl rand -hex 32)", confirm.EnvStateKey, err)
		}
		opts.Key = key
		red.Add(k)
	}
	if opts.Key == nil && cfg.Sandbox {
		// One sandbox process has no replicas to share a key with: a random one is safe.
		opts.Key = make([]byte, 32)
		_, _ = rand.Read(opts.Key)
	}
	var pageLn net.Listener
	if ln != nil {
		opts.Transport = "http"
		opts.ApprovalBaseURL = orDefault(os.Getenv("MSIDM_PUBLIC_URL"), "http://"+ln.Addr().String())
	} else {
		opts.Transport = "stdio"
		// stdio has no HTTP server of its own: the approval page gets a loopback listener.
		var err error
		if pageLn, err = net.Listen("tcp", orDefault(os.Getenv("MSIDM_APPROVAL_ADDR"), "127.0.0.1:0")); err != nil {
			return nil, fmt.Errorf("cannot open the approval page listener: %v; set MSIDM_APPROVAL_ADDR to a free loopback address", err)
		}
		opts.ApprovalBaseURL = "http://" + pageLn.Addr().String()
	}
	c, err := confirm.New(opts)
	if err != nil {
		if pageLn != nil {
			pageLn.Close()
		}
		return nil, err
	}
	gate.SetConfirmer(c)
	deps.Approvals = c
	if pageLn == nil {
		return c.Handler(), nil
	}
	page := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = page.Serve(pageLn) }()
	go func() { <-ctx.Done(); _ = page.Close() }()
	logger.Info("approval page", "url", opts.ApprovalBaseURL+"/approvals/")
	return nil, nil
}

// newGate loads the guard rails, opens the audit log and builds the policy gate every call
// passes. A policy file is reloaded on SIGHUP (kept as it was when the new one is invalid).
func newGate(ctx context.Context, cfg config, deps *tools.Deps, red *redact.Redactor, logger *slog.Logger) (*policy.Gate, func(), error) {
	pol, source, err := loadPolicy(cfg)
	if err != nil {
		return nil, nil, err
	}
	dir := stateDir(cfg)
	if cfg.StateDir == "" {
		return nil, nil, fmt.Errorf("no state directory for the audit log: set MSIDM_STATE_DIR")
	}
	log, err := audit.Open(ctx, dir, audit.Options{Redact: red.String})
	if err != nil {
		return nil, nil, fmt.Errorf("audit log in %s: %w (set MSIDM_STATE_DIR to a writable directory)", dir, err)
	}
	for _, e := range log.Recovered() {
		logger.Warn("a change was interrupted before its outcome was recorded: outcome unknown, check it by hand",
			"tool", e.Tool, "target", e.Target, "intent", e.Seq, "time", e.Time)
	}
	cfgGate := policy.Config{ReadOnly: cfg.ReadOnly, Rules: pol, Audit: log, Logger: logger, Caller: callerOf}
	if deps.Graph != nil {
		cfgGate.Directory = tools.GraphDirectory{Graph: deps.Graph}
	}
	gate := policy.NewGate(cfgGate)
	deps.Audit = log
	logger.Info("policy loaded", "source", source, "audit", filepath.Join(dir, audit.FileName))
	if cfg.PolicyFile != "" {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go gate.ReloadOn(ctx, cfg.PolicyFile, hup)
		return gate, func() { signal.Stop(hup); _ = log.Close() }, nil
	}
	return gate, func() { _ = log.Close() }, nil
}

// loadPolicy reads MSIDM_POLICY_FILE; without one the sandbox uses the example policy and a
// real tenant the built-in defaults (no protected principals: a warning says so).
func loadPolicy(cfg config) (*rules.Policy, string, error) {
	switch {
	case cfg.PolicyFile != "":
		p, err := rules.Load(cfg.PolicyFile)
		if err != nil {
			return nil, "", fmt.Errorf("%w (fix the file named by --policy / MSIDM_POLICY_FILE)", err)
		}
		return p, cfg.PolicyFile, nil
	case cfg.Sandbox:
		p, err := rules.Parse(examples.Policy, examples.PolicyName)
		return p, examples.PolicyName, err
	}
	return rules.Default(), "built-in defaults (no protected principals; set MSIDM_POLICY_FILE)", nil
}

// callerOf names the caller for the audit log.
func callerOf(ctx context.Context) string {
	if c, ok := confirm.CallerFromContext(ctx); ok && c != "" {
		return c
	}
	return confirm.StdioCaller()
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
		if cfg.AdsProtocol != "rest" {
			logger.Warn("Microsoft retires the Customer Management SOAP API on 2027-01-31; set MSIDM_ADS_PROTOCOL=rest to use the REST API")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	return cl.Check(ctx, settings, red)
}

func connectSettings(cfg *config) clientsconnect.Settings {
	return clientsconnect.Settings{
		AuthorityURL: cfg.AuthorityURL, GraphURL: cfg.GraphURL, AdsURL: cfg.AdsURL,
		TenantID: cfg.TenantID, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		ClientCert: cfg.ClientCert, ManagedIdentity: cfg.ManagedIdentity, Getenv: os.Getenv,
		AdsClientID: cfg.AdsClientID, AdsClientSecret: adsSecret(cfg),
		AdsDeveloperToken: cfg.AdsDeveloperToken, AdsRefreshToken: cfg.AdsRefreshToken,
		AdsProtocol: cfg.AdsProtocol, AdsCustomerID: cfg.AdsCustomerID, AdsAccountID: cfg.AdsAccountID,
		StateDir: stateDirUnlessSandbox(cfg),
	}
}

// stateDirUnlessSandbox keeps sandbox refresh tokens out of the operator's real state.
func stateDirUnlessSandbox(cfg *config) string {
	if cfg.Sandbox {
		return ""
	}
	return cfg.StateDir
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

// serveHTTP serves streamable HTTP on /mcp (and the approval page on /approvals/) until ctx
// ends. Sessions are stateful (not mcp-go's stateless mode, which breaks elicitation for older
// clients); the caller identity for the audit log comes from the bearer token.
func serveHTTP(ctx context.Context, cfg config, ln net.Listener, mcpServer *server.MCPServer, approvals http.Handler, logger *slog.Logger) error {
	streamable := server.NewStreamableHTTPServer(mcpServer, server.WithStateful(true),
		server.WithStreamableHTTPLogger(logger.With("component", "http")),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			return confirm.WithCaller(ctx, confirm.HTTPCaller(bearer))
		}))
	mux := http.NewServeMux()
	mux.Handle("/mcp", newGuard(cfg.HTTPToken, cfg.AllowedOrigins).wrap(streamable))
	if approvals != nil {
		// The approval page authenticates approvers itself (MSIDM_APPROVER_TOKEN), with a
		// credential the agent does not hold; it must not require the agent's bearer token.
		mux.Handle("/approvals/", approvals)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
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
