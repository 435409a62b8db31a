package tools

import (
	"fmt"
	"strings"
	"testing"
)

func TestEntraReadTools(t *testing.T) {
	e := newEnv(t, envOptions{})

	u := e.ok("get_entra_user", map[string]any{"user": "megan.bowen@contoso.example"})
	if u["display_name"] != "Megan Bowen" || u["enabled"] != true || u["manager"] != "alex.wilber@contoso.example" {
		t.Errorf("megan: %v", u)
	}
	if !strings.Contains(fmt.Sprint(u["licenses"]), "ENTERPRISEPACK") || !strings.Contains(fmt.Sprint(u["groups"]), "Marketing Department") {
		t.Errorf("megan's licences or groups: %v %v", u["licenses"], u["groups"])
	}
	// A guest found through the e-mail address of their home tenant.
	g := e.ok("get_entra_user", map[string]any{"user": "paula.agency@fabrikam.example"})
	if g["user_type"] != "Guest" {
		t.Errorf("guest: %v", g)
	}
	e.fails("get_entra_user", map[string]any{"user": "nobody@contoso.example"}, "no Entra user", "list_entra_users")
	e.fails("get_entra_user", map[string]any{}, "user")

	tests := []struct {
		name   string
		args   map[string]any
		expect func(users []any) error
	}{
		{"department", map[string]any{"department": "Finance"}, everyUser("department", "Finance")},
		{"disabled", map[string]any{"enabled": false}, everyUser("enabled", false)},
		{"guests", map[string]any{"user_type": "Guest"}, everyUser("user_type", "Guest")},
		{"synced", map[string]any{"on_prem_synced": true}, everyUser("on_prem_synced", true)},
		{"prefix", map[string]any{"upn_starts_with": "break"}, everyUser("user_type", "Member")},
		{"search", map[string]any{"search": "holloway"}, everyUser("upn", "lidia.holloway@contoso.example")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.ok("list_entra_users", tt.args)
			users, _ := out["users"].([]any)
			if len(users) == 0 {
				t.Fatalf("no users for %v", tt.args)
			}
			if err := tt.expect(users); err != nil {
				t.Error(err)
			}
		})
	}
	e.fails("list_entra_users", map[string]any{"user_type": "Robot"}, "user_type")
	e.fails("list_entra_users", map[string]any{"department": "x", "filter": "raw odata"}, "unknown argument", "department")

	groups := e.ok("list_groups", map[string]any{})
	if !strings.Contains(fmt.Sprint(groups["groups"]), "dynamic") || !strings.Contains(fmt.Sprint(groups["groups"]), "synced") {
		t.Errorf("groups lack kinds: %v", groups)
	}
	skus := e.ok("list_skus", map[string]any{})
	if !strings.Contains(fmt.Sprint(skus["skus"]), "ENTERPRISEPACK") {
		t.Errorf("skus: %v", skus)
	}
	deleted := e.ok("list_deleted_entra_users", map[string]any{})
	if !strings.Contains(fmt.Sprint(deleted["users"]), "greta.holm@contoso.example") {
		t.Errorf("deleted users: %v", deleted)
	}
}

func everyUser(field string, want any) func([]any) error {
	return func(users []any) error {
		for _, u := range users {
			if got := u.(map[string]any)[field]; got != want {
				return fmt.Errorf("%v: %s = %v, want %v", u, field, got, want)
			}
		}
		return nil
	}
}

func TestEntraWriteTools(t *testing.T) {
	e := newEnv(t, envOptions{confirmer: approveAll{}})

	// Create: the temporary password is returned once; the user exists afterwards.
	created := e.ok("create_entra_user", map[string]any{"display_name": "Jane Newhire", "user_principal_name": "jane.newhire@contoso.example",
		"department": "Sales"})
	pw, _ := created["temporary_password"].(string)
	if created["status"] != "done" || len(pw) != 16 || created["user_id"] == "" {
		t.Fatalf("create: %v", created)
	}
	e.fails("create_entra_user", map[string]any{"display_name": "Jane Again", "user_principal_name": "jane.newhire@contoso.example"}, "already exists")
	e.fails("create_entra_user", map[string]any{"display_name": "X", "user_principal_name": "x@unverified.example"})
	e.fails("create_entra_user", map[string]any{"display_name": "X", "user_principal_name": "not-an-upn"}, "user_principal_name")

	// Licences need a usage location first; the error names the fix.
	e.fails("assign_license", map[string]any{"user": "jane.newhire@contoso.example", "sku": "ENTERPRISEPACK"}, "update_entra_user", "usage_location")
	e.ok("update_entra_user", map[string]any{"user": "jane.newhire@contoso.example", "usage_location": "US"})
	lic := e.ok("assign_license", map[string]any{"user": "jane.newhire@contoso.example", "sku": "enterprisepack"})
	if lic["status"] != "done" {
		t.Errorf("assign: %v", lic)
	}
	if again := e.ok("assign_license", map[string]any{"user": "jane.newhire@contoso.example", "sku": "ENTERPRISEPACK"}); again["status"] != "no_change" {
		t.Errorf("assigning twice must be a no-op: %v", again)
	}
	e.fails("assign_license", map[string]any{"user": "jane.newhire@contoso.example", "sku": "NOPE"}, "list_skus")

	// Groups: add twice is a no-op; dynamic and synced groups are refused with the reason.
	if r := e.ok("add_to_group", map[string]any{"user": "jane.newhire@contoso.example", "group": "Ads Campaign Managers"}); r["status"] != "done" {
		t.Errorf("add: %v", r)
	}
	if r := e.ok("add_to_group", map[string]any{"user": "jane.newhire@contoso.example", "group": "Ads Campaign Managers"}); r["status"] != "no_change" {
		t.Errorf("add twice: %v", r)
	}
	e.fails("add_to_group", map[string]any{"user": "jane.newhire@contoso.example", "group": "Sales (dynamic)"}, "dynamic membership")
	e.fails("add_to_group", map[string]any{"user": "jane.newhire@contoso.example", "group": "SG-Engineering (on-premises)"}, "on-premises")

	e.ok("set_manager", map[string]any{"user": "jane.newhire@contoso.example", "manager": "lynne.robbins@contoso.example"})
	got := e.ok("get_entra_user", map[string]any{"user": "jane.newhire@contoso.example"})
	if got["manager"] != "lynne.robbins@contoso.example" || !strings.Contains(fmt.Sprint(got["licenses"]), "ENTERPRISEPACK") ||
		!strings.Contains(fmt.Sprint(got["groups"]), "Ads Campaign Managers") {
		t.Errorf("after onboarding: %v", got)
	}

	// A synced user's AD-mastered attribute: the change is made and the warning says it will be overwritten.
	upd := e.ok("update_entra_user", map[string]any{"user": "lidia.holloway@contoso.example", "job_title": "Lead"})
	if !strings.Contains(fmt.Sprint(upd["warnings"]), "on-premises AD") {
		t.Errorf("synced warning missing: %v", upd)
	}

	// Dry run: the plan, no change.
	dry := e.ok("disable_entra_user", map[string]any{"user": "jane.newhire@contoso.example", "dry_run": true})
	if dry["status"] != "dry_run" || e.ok("get_entra_user", map[string]any{"user": "jane.newhire@contoso.example"})["enabled"] != true {
		t.Fatalf("dry run changed something: %v", dry)
	}
	// Disable, revoke, remove, delete, restore.
	if r := e.ok("disable_entra_user", map[string]any{"user": "jane.newhire@contoso.example"}); r["status"] != "done" || !strings.Contains(fmt.Sprint(r["next"]), "revoke_entra_sessions") {
		t.Errorf("disable: %v", r)
	}
	if r := e.ok("disable_entra_user", map[string]any{"user": "jane.newhire@contoso.example"}); r["status"] != "no_change" {
		t.Errorf("disable twice: %v", r)
	}
	e.ok("revoke_entra_sessions", map[string]any{"user": "jane.newhire@contoso.example"})
	e.ok("remove_from_group", map[string]any{"user": "jane.newhire@contoso.example", "group": "Ads Campaign Managers"})
	if r := e.ok("remove_from_group", map[string]any{"user": "jane.newhire@contoso.example", "group": "Ads Campaign Managers"}); r["status"] != "no_change" {
		t.Errorf("remove twice: %v", r)
	}
	e.ok("remove_license", map[string]any{"user": "jane.newhire@contoso.example", "sku": "ENTERPRISEPACK"})
	gone := e.ok("get_entra_user", map[string]any{"user": "jane.newhire@contoso.example"})
	if gone["enabled"] != false || len(gone["licenses"].([]any)) != 0 || gone["sessions_valid_from"] == "" {
		t.Errorf("after offboarding: %v", gone)
	}
	id := gone["id"].(string)
	e.ok("delete_entra_user", map[string]any{"user": id})
	e.fails("get_entra_user", map[string]any{"user": id}, "Not found")
	e.ok("restore_entra_user", map[string]any{"id": id})
	e.ok("enable_entra_user", map[string]any{"user": "jane.newhire@contoso.example"})
	e.fails("restore_entra_user", map[string]any{"id": "not-a-guid"}, "list_deleted_entra_users")
}

func TestDestructiveToolsFailClosedWithoutConfirmation(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"disable_entra_user", map[string]any{"user": "adele.vance@contoso.example"}},
		{"revoke_entra_sessions", map[string]any{"user": "adele.vance@contoso.example"}},
		{"remove_license", map[string]any{"user": "adele.vance@contoso.example", "sku": "ENTERPRISEPACK"}},
		{"remove_from_group", map[string]any{"user": "megan.bowen@contoso.example", "group": "Marketing Department"}},
		{"delete_entra_user", map[string]any{"user": "adele.vance@contoso.example"}},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			e.fails(tc.tool, tc.args, "confirmation", "nothing was changed")
		})
	}
	u := e.ok("get_entra_user", map[string]any{"user": "adele.vance@contoso.example"})
	if u["enabled"] != true || !strings.Contains(fmt.Sprint(u["licenses"]), "ENTERPRISEPACK") {
		t.Fatalf("a refused call changed the user: %v", u)
	}
}

func TestReadOnlyGateRefusesWrites(t *testing.T) {
	e := newEnv(t, envOptions{gate: newReadOnlyGate()})
	_, err := e.client.CallTool(t.Context(), callReq("enable_entra_user", map[string]any{"user": "adele.vance@contoso.example"}))
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("a write tool must not even exist in read-only mode: %v", err)
	}
	e.ok("get_entra_user", map[string]any{"user": "adele.vance@contoso.example"})
}
