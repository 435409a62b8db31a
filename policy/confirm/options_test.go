package confirm

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/policy"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown mode", Options{Modes: []string{"click"}}, `unknown confirmation mode "click"`},
		{"mode twice", Options{Modes: []string{ModeCode, ModeCode}}, "listed twice"},
		{"short key", Options{Key: make([]byte, 31)}, EnvStateKey + " must be 32 bytes"},
		{"unknown transport", Options{Transport: "sse"}, `transport "sse"`},
		{"short approver token", Options{ApproverToken: "short"}, "at least 16"},
		{"approver token equals the agent's", Options{ApproverToken: agentToken, AgentToken: agentToken}, "must differ"},
		{"public page in stdio mode", Options{ApprovalBaseURL: "http://msidm.example:8080"}, "loopback only"},
		{"page URL without scheme", Options{ApprovalBaseURL: "127.0.0.1:8080"}, "approval base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	for _, ok := range []Options{
		{},
		{ApprovalBaseURL: "http://127.0.0.1:49152/"},
		{ApprovalBaseURL: "http://[::1]:8080"},
		{Transport: TransportHTTP, ApprovalBaseURL: "https://msidm.example/ops", ApproverToken: approverToken, AgentToken: agentToken},
	} {
		if _, err := New(ok); err != nil {
			t.Errorf("New(%+v): %v", ok, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(200 + i)
	}
	for _, s := range []string{
		hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
		" " + base64.URLEncoding.EncodeToString(key) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil || string(got) != string(key) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "secret", base64.StdEncoding.EncodeToString(key[:16]), hex.EncodeToString(key[:31])} {
		if _, err := ParseKey(s); err == nil || !strings.Contains(err.Error(), EnvStateKey) {
			t.Errorf("ParseKey(%q): %v", s, err)
		}
	}
}

func TestBindingDigest(t *testing.T) {
	digest := func(plan policy.Plan, caller string) string {
		t.Helper()
		d, err := bindingDigest(plan, caller)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	type args struct {
		UPN    string `json:"upn"`
		Revoke bool   `json:"revoke"`
	}
	base := digest(testPlan(testUPN, map[string]any{"upn": testUPN, "revoke": true}), "stdio:ops")
	same := []policy.Plan{
		testPlan(testUPN, args{UPN: testUPN, Revoke: true}),                                                             // struct or map
		testPlan(testUPN, map[string]any{"revoke": true, "upn": testUPN, ArgApprovalID: "a", ArgConfirmationCode: "c"}), // order, reserved args
	}
	for _, p := range same {
		if d := digest(p, "stdio:ops"); d != base {
			t.Errorf("digest of %+v differs", p.Args)
		}
	}
	changed := testPlan(testUPN, map[string]any{"upn": testUPN, "revoke": true})
	changed.Steps = changed.Steps[:1]
	for name, d := range map[string]string{
		"caller":   digest(testPlan(testUPN, map[string]any{"upn": testUPN, "revoke": true}), "stdio:other"),
		"argument": digest(testPlan(testUPN, map[string]any{"upn": testUPN, "revoke": false}), "stdio:ops"),
		"extra":    digest(testPlan(testUPN, map[string]any{"upn": testUPN, "revoke": true, "confirm": true}), "stdio:ops"),
		"steps":    digest(changed, "stdio:ops"),
	} {
		if d == base {
			t.Errorf("changing the %s does not change the digest", name)
		}
	}
	if _, err := bindingDigest(testPlan(testUPN, map[string]any{"f": func() {}}), "x"); err == nil {
		t.Error("unencodable arguments: no error")
	}
}

// TestCurrentModes: a policy reload that changes the allowed modes takes effect on the next
// call, and an answer for a mode no longer allowed is refused.
func TestCurrentModes(t *testing.T) {
	var (
		mu    sync.Mutex
		modes = []string{ModeCode}
	)
	conf, err := New(Options{CurrentModes: func() []string { mu.Lock(); defer mu.Unlock(); return modes }})
	if err != nil {
		t.Fatal(err)
	}
	plan := testPlan(testUPN, map[string]any{"upn": testUPN})
	c, err := conf.Confirm(context.Background(), &mcp.CallToolRequest{}, plan)
	code, _ := confirmationMeta(c.Result)["code"].(string)
	if err != nil || code == "" {
		t.Fatalf("code mode: %v %+v", err, c)
	}
	mu.Lock()
	modes = []string{"bogus"}
	mu.Unlock()
	req := &mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"upn": testUPN, ArgConfirmationCode: code}
	c, _ = conf.Confirm(context.Background(), req, plan)
	wantRefused(t, c.Result, "confirmation codes are not enabled")
	c, _ = conf.Confirm(context.Background(), &mcp.CallToolRequest{}, plan)
	wantRefused(t, c.Result, "no confirmation method is available")
}
