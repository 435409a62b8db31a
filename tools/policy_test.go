package tools

import (
	"context"
	"sync"
	"testing"

	"github.com/msidm/msidm/offboard"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/policy"
)

// mutatingCalls are valid arguments for every write and destructive tool. A new mutating
// tool must be added here, or TestEveryMutatingToolPassesThePolicy fails.
var mutatingCalls = map[string]map[string]any{
	"create_entra_user":     {"display_name": "Policy Probe", "user_principal_name": "policy.probe@contoso.example"},
	"update_entra_user":     {"user": "adele.vance@contoso.example", "job_title": "Probe"},
	"disable_entra_user":    {"user": "adele.vance@contoso.example"},
	"enable_entra_user":     {"user": "tariq.aziz@contoso.example"},
	"revoke_entra_sessions": {"user": "adele.vance@contoso.example"},
	"assign_license":        {"user": "nestor.wilke@contoso.example", "sku": "EMS"},
	"remove_license":        {"user": "adele.vance@contoso.example", "sku": "ENTERPRISEPACK"},
	"add_to_group":          {"user": "adele.vance@contoso.example", "group": "Ads Campaign Managers"},
	"remove_from_group":     {"user": "megan.bowen@contoso.example", "group": "Marketing Department"},
	"set_manager":           {"user": "adele.vance@contoso.example", "manager": "lynne.robbins@contoso.example"},
	"delete_entra_user":     {"user": "adele.vance@contoso.example"},
	"restore_entra_user":    {"id": "00000000-0000-4000-8000-000000000000"},
	"invite_user":           {"email": "probe@contoso.example", "first_name": "P", "last_name": "Robe", "role": "Viewer"},
	"change_role":           {"user": "pradeep.gupta@contoso.example", "action": "add", "role": "Viewer", "account_ids": []any{180500002}},
	"update_ads_user":       {"user": "adele.vance@contoso.example", "job_title": "Probe"},
	"deactivate_ads_user":   {"user": "adele.vance@contoso.example"},
	"offboard_everywhere":   {"people": []any{"adele.vance@contoso.example"}, "reason": "TICKET-1"},
	"offboard_resume":       {"run_id": offboard.RunID("adele.vance@contoso.example", "TICKET-1")}, // recorded, unconfirmed, by the call above
}

// recordingRefuser is a human who always says no, and remembers what they were shown.
type recordingRefuser struct {
	mu    sync.Mutex
	plans map[string]policy.Plan
}

func (r *recordingRefuser) Confirm(_ context.Context, _ *mcp.CallToolRequest, p policy.Plan) (policy.Confirmation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.plans[p.Tool] = p
	return policy.Confirmation{Result: mcp.NewToolResultError("declined by the test human; nothing was changed")}, nil
}

// TestEveryMutatingToolPassesThePolicy walks the registry: every write and destructive tool
// must show its plan to the policy before acting, and a refusal must leave Microsoft
// untouched (the emulators count every mutating request).
func TestEveryMutatingToolPassesThePolicy(t *testing.T) {
	refuser := &recordingRefuser{plans: map[string]policy.Plan{}}
	e := newEnv(t, envOptions{gateConfig: func(c *policy.Config) { c.ConfirmWrites = true }, confirmer: refuser})
	graphWrites := [][2]string{{"POST", "/users"}, {"PATCH", "/users/{id}"}, {"DELETE", "/users/{id}"},
		{"POST", "/users/{id}/revokeSignInSessions"}, {"POST", "/users/{id}/assignLicense"}, {"PUT", "/users/{id}/manager/$ref"},
		{"POST", "/groups/{id}/members/$ref"}, {"DELETE", "/groups/{id}/members/{memberId}/$ref"},
		{"POST", "/directory/deletedItems/{id}/restore"}, {"POST", "/$batch"}}
	adsWrites := []string{"SendUserInvitation", "UpdateUser", "UpdateUserRoles", "DeleteUser"}
	writes := func() int {
		n := 0
		for _, w := range graphWrites {
			n += e.sb.Graph.Calls(w[0], w[1])
		}
		for _, op := range adsWrites {
			n += e.sb.Ads.Calls(op)
		}
		return n
	}
	for _, tool := range All(e.deps) {
		if tool.Effect == policy.Read {
			continue
		}
		t.Run(tool.Def.Name, func(t *testing.T) {
			args, ok := mutatingCalls[tool.Def.Name]
			if !ok {
				t.Fatalf("%s mutates but has no entry in mutatingCalls: add valid arguments", tool.Def.Name)
			}
			if tool.Def.Name == "restore_entra_user" {
				args = map[string]any{"id": e.deletedID("greta.holm@contoso.example")}
			}
			before := writes()
			res, _ := e.call(tool.Def.Name, args)
			if !res.IsError {
				t.Fatalf("a refused call did not fail: %s", text(res))
			}
			if _, seen := refuser.plans[tool.Def.Name]; !seen {
				t.Fatalf("the policy never saw a plan: %s", text(res))
			}
			if got := writes(); got != before {
				t.Fatalf("%d mutating requests reached Microsoft after a refusal", got-before)
			}
		})
	}
}
