package tools

import (
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestOffboardSendsProgressPerStep: a client that asks for progress (a progressToken in
// _meta) is told about every step as it finishes.
func TestOffboardSendsProgressPerStep(t *testing.T) {
	e, _ := offboardEnv(t)
	var mu sync.Mutex
	var messages []string
	e.client.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != "notifications/progress" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if m, ok := n.Params.AdditionalFields["message"].(string); ok {
			messages = append(messages, m)
		}
	})
	req := callReq("offboard_everywhere", map[string]any{"people": []any{diego}, "reason": "HR-PROGRESS"})
	req.Params.Meta = &mcp.Meta{ProgressToken: "offboard-1"}
	res, err := e.client.CallTool(t.Context(), req)
	if err != nil || res.IsError {
		t.Fatalf("offboard: %v %s", err, text(res))
	}
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(messages, "\n")
	for _, want := range []string{"block sign-in", "revoke", "group", "licence"} {
		if !strings.Contains(strings.ToLower(joined), want) {
			t.Errorf("no progress about %q in:\n%s", want, joined)
		}
	}
}
