package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/msidm/msidm/clients/auth"
)

// openBrowser opens the sign-in page; tests replace it with an HTTP client that follows
// the redirects as a browser would.
var openBrowser = func(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}

// runLogin signs a Microsoft Advertising user in with the authorization-code flow (PKCE,
// loopback redirect) or, with --device, the device-code flow, and stores the refresh token
// in a 0600 file under MSIDM_STATE_DIR. The token itself is never printed.
func runLogin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ads" {
		return &usageError{"usage: msidm login ads [--device] [--no-browser]"}
	}
	cfg, err := loadEnv(os.Getenv)
	if err != nil {
		return err
	}
	fs := newFlagSet("login ads")
	device := fs.Bool("device", false, "use the device-code flow (sign in on another device)")
	noBrowser := fs.Bool("no-browser", false, "print the sign-in URL instead of opening a browser")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if err := cfg.resolve(false, false); err != nil {
		return err
	}
	if cfg.AdsClientID == "" {
		return fmt.Errorf("missing configuration: set MSIDM_ADS_CLIENT_ID (or MSIDM_CLIENT_ID) to the app registration used for Microsoft Advertising")
	}
	if cfg.StateDir == "" {
		return fmt.Errorf("no state directory: set MSIDM_STATE_DIR to where msidm may keep the refresh token")
	}
	store, err := auth.NewTokenStore(cfg.StateDir)
	if err != nil {
		return fmt.Errorf("MSIDM_STATE_DIR: %w", err)
	}
	tenant := cfg.TenantID
	if tenant == "" {
		tenant = "common"
	}
	opts := auth.LoginOptions{AuthorityURL: cfg.AuthorityURL, TenantID: tenant, ClientID: cfg.AdsClientID,
		ClientSecret: adsSecret(&cfg), Scope: auth.AdsScope, Out: stderr, Store: store,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}}
	if !*noBrowser {
		opts.OpenBrowser = openBrowser
	}
	if *device {
		_, err = auth.LoginDeviceCode(ctx, opts)
	} else {
		_, err = auth.LoginAuthCode(ctx, opts)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Signed in to Microsoft Advertising; the refresh token is stored in %s (mode 0600). msidm serve uses it from now on.\n", store.Path())
	return nil
}
