package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

func TestResourcesAndPrompts(t *testing.T) {
	e := newEnv(t, envOptions{confirmer: approveAll{}})
	read := func(uri string) string {
		t.Helper()
		res, err := e.client.ReadResource(t.Context(), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		return res.Contents[0].(mcp.TextResourceContents).Text
	}
	if roles := read("msidm://ads/roles"); !strings.Contains(roles, `"Super Admin"`) || !strings.Contains(roles, `"role_id": 203`) {
		t.Errorf("roles: %s", roles)
	}
	var sum TenantSummary
	if err := json.Unmarshal([]byte(read("msidm://tenant/summary")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Entra == nil || sum.Entra.Users < 50 || sum.Entra.Disabled < 2 || sum.Entra.Guests != 5 || len(sum.Entra.SKUs) != 3 ||
		sum.Ads == nil || sum.Ads.ByStatus["Active"] < 20 || sum.Ads.ByStatus["Inactive"] < 1 || len(sum.Error) != 0 {
		t.Errorf("summary: %+v %+v %+v", sum.Entra, sum.Ads, sum.Error)
	}
	// A change shows up in the recent audit.
	e.ok("update_entra_user", map[string]any{"user": "adele.vance@contoso.example", "job_title": "Audited"})
	if recent := read("msidm://audit/recent"); !strings.Contains(recent, "update_entra_user") {
		t.Errorf("audit/recent lacks the change: %s", recent)
	}
	for _, name := range []string{"onboard_user", "offboard_user"} {
		p, err := e.client.GetPrompt(t.Context(), mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: name,
			Arguments: map[string]string{"name": "Jane", "upn": "jane@contoso.example", "user": "jane@contoso.example"}}})
		if err != nil || len(p.Messages) == 0 || !strings.Contains(p.Messages[0].Content.(mcp.TextContent).Text, "jane@contoso.example") {
			t.Errorf("%s: %v %+v", name, err, p)
		}
	}
	e.fails("check_approval", map[string]any{"approval_id": "nope"}, "approval page is not enabled")
}
