package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msidm/msidm/sandbox"
)

// TestLoginAdsThenServeUsesTheStoredToken signs in with the authorization-code flow (PKCE,
// loopback redirect) against the sandbox's identity platform, with an HTTP client standing in
// for the browser, then starts 'msidm serve' without MSIDM_ADS_REFRESH_TOKEN: Microsoft
// Advertising works from the stored, rotating refresh token alone.
func TestLoginAdsThenServeUsesTheStoredToken(t *testing.T) {
	for _, flow := range []string{"auth-code", "device"} {
		t.Run(flow, func(t *testing.T) {
			if flow == "device" && testing.Short() {
				t.Skip("the device flow polls every 5 s")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sb, err := sandbox.Start(ctx, sandbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			state := t.TempDir()
			for _, kv := range sb.Env() {
				k, v, _ := strings.Cut(kv, "=")
				if k != "MSIDM_ADS_REFRESH_TOKEN" {
					t.Setenv(k, v)
				}
			}
			t.Setenv("MSIDM_ADS_REFRESH_TOKEN", "")
			t.Setenv("MSIDM_STATE_DIR", state)
			saved := openBrowser
			defer func() { openBrowser = saved }()
			openBrowser = func(u string) error {
				// The browser: follow /authorize's redirect to msidm's loopback listener.
				go func() {
					resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
					if err == nil {
						resp.Body.Close()
					}
				}()
				return nil
			}
			args := []string{"login", "ads"}
			if flow == "device" {
				args = append(args, "--device")
			}
			var out, errb bytes.Buffer
			if code := run(ctx, args, nil, &out, &errb); code != 0 {
				t.Fatalf("login: exit %d: %s %s", code, out.String(), errb.String())
			}
			file := filepath.Join(state, "ads-refresh-token.json")
			st, err := os.Stat(file)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("token file %s: %v %v", file, err, st)
			}
			if strings.Contains(out.String()+errb.String(), sb.AdsRefreshToken) {
				t.Error("login printed a refresh token")
			}

			env := append(cleanEnv(), "MSIDM_STATE_DIR="+state)
			for _, kv := range sb.Env() {
				if !strings.HasPrefix(kv, "MSIDM_ADS_REFRESH_TOKEN=") {
					env = append(env, kv)
				}
			}
			c := startServe(t, env)
			res, out2 := callTool(t, c, "ads_whoami", nil)
			if res.IsError || !strings.Contains(resultText(res), "megan.bowen@contoso.example") {
				t.Fatalf("whoami with the stored token: %s %v", resultText(res), out2)
			}
		})
	}
}
