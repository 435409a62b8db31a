package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/msidm/msidm/sandbox"
)

// TestE2ESecretsNeverLeak runs the real binary against a sandbox as if it were a real tenant
// (credentials from the environment, debug logs on), drives reads, a write and failures,
// and then searches everything msidm printed — logs and tool results — for every secret it
// was given or obtained.
func TestE2ESecretsNeverLeak(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const httpToken = "e2e-http-token-that-must-not-leak-0001"
	const approver = "e2e-approver-token-must-not-leak-0002"
	env := append(testEnv(t), sb.Env()...)
	env = append(env, "MSIDM_HTTP_TOKEN="+httpToken, "MSIDM_APPROVER_TOKEN="+approver, "MSIDM_LOG_LEVEL=debug",
		"MSIDM_STATE_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	var stderr bytes.Buffer
	tr := transport.NewStdio(binary(t), env, "serve")
	c := client.NewClient(tr)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	drained := make(chan struct{})
	if r, ok := client.GetStderr(c); ok {
		go func() { _, _ = stderr.ReadFrom(r); close(drained) }()
	} else {
		close(drained)
	}
	initialize(t, c)
	var results strings.Builder
	for _, call := range []struct {
		name string
		args map[string]any
	}{
		{"list_entra_users", map[string]any{"limit": 3}},
		{"list_ads_users", map[string]any{"full_profiles": true, "limit": 3}},
		{"update_entra_user", map[string]any{"user": "adele.vance@contoso.example", "job_title": "Leak Probe"}},
		{"disable_entra_user", map[string]any{"user": "adele.vance@contoso.example"}}, // approval required
		{"get_ads_user", map[string]any{"user": "999999"}},                            // a fault
		{"create_entra_user", map[string]any{"display_name": "Leak", "user_principal_name": "leak.probe@contoso.example"}},
	} {
		res, _ := callTool(t, c, call.name, call.args)
		results.WriteString(resultText(res))
	}
	_ = c.Close()
	select { // the reader ends when the process's stderr closes
	case <-drained:
	case <-time.After(10 * time.Second):
		t.Fatal("msidm's stderr did not close")
	}

	// Secrets msidm was given, and the access tokens the sandbox would issue to it.
	secrets := map[string]string{
		"client secret": sb.ClientSecret, "refresh token": sb.AdsRefreshToken,
		"HTTP token": httpToken, "approver token": approver,
		"state key": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	}
	out := stderr.String() + results.String()
	if !strings.Contains(stderr.String(), "msidm ready") || !strings.Contains(results.String(), "APPROVAL REQUIRED") {
		t.Fatalf("the flows did not run as expected:\n%s\n%s", stderr.String(), results.String())
	}
	for what, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the %s appears in msidm's output", what)
		}
	}
	// JWT access tokens look like eyJ…; none may be printed.
	if strings.Contains(out, "eyJ0eXAiOiJKV1Qi") {
		t.Error("an access token appears in msidm's output")
	}
	// The sandbox's developer token is the public universal sandbox value (BBD37VB98), so it
	// is registered for redaction but not searched here.
}
