package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/msidm/msidm/sandbox"
	"github.com/msidm/msidm/sandbox/demo"
)

// runSandbox runs the emulators alone until interrupted, so any client (msidm serve, the
// Microsoft Graph SDK, a script) can be pointed at them as if they were a real tenant.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox")
	printEnv := fs.Bool("print-env", false, "print the MSIDM_* NAME=value lines that point 'msidm serve' at this sandbox, then keep serving")
	entraUsers := fs.Int("entra-users", 0, "generate a synthetic tenant with `N` Entra users instead of the demo tenant")
	fs.IntVar(entraUsers, "users", 0, "alias of --entra-users")
	adsUsers := fs.Int("ads-users", 0, "with --entra-users: how many of them also hold a Microsoft Advertising role")
	seed := fs.Uint64("seed", 1, "seed of the synthetic tenant generator")
	logFormat := fs.String("log-format", orDefault(os.Getenv("MSIDM_LOG_FORMAT"), "text"), "log format on stderr: text or json")
	logLevel := fs.String("log-level", orDefault(os.Getenv("MSIDM_LOG_LEVEL"), "info"), "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *entraUsers < 0 || *adsUsers < 0 {
		return &usageError{"--entra-users and --ads-users must be zero or positive"}
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel, nil)
	if err != nil {
		return err
	}
	opts := sandbox.Options{Logger: logger}
	if *entraUsers > 0 {
		opts.Tenant = demo.Large(*entraUsers, *adsUsers, *seed)
	}
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer sb.Close()
	if *printEnv {
		for _, line := range sb.Env() {
			fmt.Fprintln(stdout, line)
		}
	}
	logger.Info("sandbox serving; press Ctrl-C to stop", "tenant", sb.Tenant.Domain, "entra_users", len(sb.Tenant.People),
		"ads_users", len(sb.Tenant.Ads.Users), "graph", sb.GraphURL, "ads", sb.AdsURL, "identity", sb.AuthorityURL)
	<-ctx.Done()
	return nil
}
