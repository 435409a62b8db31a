package tools

import (
	"fmt"
	"strings"
	"testing"

	"github.com/msidm/msidm/snapshot"
)

// newSyncEnv is the tools harness with a snapshot store in a temporary state directory.
func newSyncEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, envOptions{confirmer: approveAll{}})
	st, err := snapshot.Open(t.Context(), t.TempDir(), snapshot.Options{Tenant: e.sb.TenantID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.deps.Snapshot = st
	return e
}

func changeKeys(out map[string]any) []string {
	var keys []string
	for _, c := range out["changes"].([]any) {
		m := c.(map[string]any)
		keys = append(keys, fmt.Sprint(m["kind"], " ", m["name"]))
	}
	return keys
}

func TestSyncToolsLogEachMutationOnce(t *testing.T) {
	e := newSyncEnv(t)
	first := e.ok("entra_delta_sync", nil)
	if first["complete"] != true || first["full_round"] != true || len(first["changes"].([]any)) != 0 {
		t.Fatalf("first entra_delta_sync: %v", first)
	}
	e.ok("disable_entra_user", map[string]any{"user": "adele.vance@contoso.example"})
	e.ok("update_entra_user", map[string]any{"user": "diego.siciliani@contoso.example", "display_name": "Diego S."})
	e.ok("update_entra_user", map[string]any{"user": "lee.gu@contoso.example", "job_title": "Untracked"})
	second := e.ok("entra_delta_sync", nil)
	got := strings.Join(changeKeys(second), "|")
	if got != "disabled adele.vance@contoso.example|updated diego.siciliani@contoso.example" {
		t.Fatalf("second sync changes %q; result %v", got, second)
	}
	if third := e.ok("entra_delta_sync", nil); len(third["changes"].([]any)) != 0 {
		t.Fatalf("idle sync: %v", third)
	}
	// Paging the log from the start, one change at a time.
	var all []string
	since := 0.0
	for i := 0; i < 5; i++ {
		page := e.ok("entra_delta_sync", map[string]any{"since": since, "limit": 1})
		all = append(all, changeKeys(page)...)
		next, ok := page["next_since"].(float64)
		if !ok {
			break
		}
		since = next
	}
	if strings.Join(all, "|") != got {
		t.Fatalf("paged log %v, want %q", all, got)
	}
}

func TestSyncAccessReview(t *testing.T) {
	e := newSyncEnv(t)
	e.fails("access_review", nil, "entra_delta_sync", "ads_sync")
	e.ok("entra_delta_sync", nil)
	e.fails("access_review", nil, "ads_sync")
	ads := e.ok("ads_sync", nil)
	if ads["complete"] != true || ads["objects"].(float64) != float64(len(e.sb.Tenant.Ads.Users)) {
		t.Fatalf("ads_sync: %v", ads)
	}
	var got []string
	cursor := ""
	for i := 0; i < 10; i++ {
		args := map[string]any{"limit": 4}
		if cursor != "" {
			args["cursor"] = cursor
		}
		out := e.ok("access_review", args)
		if out["total"].(float64) != 6 {
			t.Fatalf("access_review total %v: %v", out["total"], out)
		}
		for _, f := range out["findings"].([]any) {
			m := f.(map[string]any)
			if m["next_call"] == "" {
				t.Errorf("finding without next call: %v", m)
			}
			got = append(got, fmt.Sprint(m["severity"], " ", m["kind"], " ", m["email"]))
		}
		next, _ := out["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	want := []string{
		"critical super_admin_without_entra agency.owner@contoso.example",
		"high entra_identity_missing former.contractor@contoso.example",
		"high entra_identity_deleted greta.holm@contoso.example",
		"high entra_identity_disabled oscar.lindqvist@contoso.example",
		"medium invitation_outside_allowlist jordan.blake@gmail.example",
		"medium guest_with_ads_role paula.agency@fabrikam.example",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Acting on a finding through its next call clears it after the next ads_sync.
	e.ok("deactivate_ads_user", map[string]any{"user": "former.contractor@contoso.example"})
	after := e.ok("ads_sync", nil)
	if k := changeKeys(after); len(k) != 1 || !strings.HasPrefix(k[0], "status_changed former.contractor@") {
		t.Fatalf("ads_sync after deactivation: %v", k)
	}
	if out := e.ok("access_review", nil); out["total"].(float64) != 5 {
		t.Fatalf("after deactivation: %v", out)
	}
}

func TestSyncToolsWithoutStore(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.fails("entra_delta_sync", nil, "state store")
	e.fails("access_review", nil, "state store")
}
