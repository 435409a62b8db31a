package tools

import (
	"fmt"
	"strings"
	"testing"
)

func TestAdsReadTools(t *testing.T) {
	e := newEnv(t, envOptions{})

	me := e.ok("ads_whoami", map[string]any{})
	if me["user"].(map[string]any)["user_name"] != "megan.bowen@contoso.example" || !strings.Contains(fmt.Sprint(me["customers"]), "Contoso Search US") {
		t.Errorf("whoami: %v", me)
	}
	u := e.ok("get_ads_user", map[string]any{"user": "DIEGO.siciliani@contoso.example"})
	if u["status"] != "Active" || !strings.Contains(fmt.Sprint(u["roles"]), "Advertiser Campaign Manager") || !strings.Contains(fmt.Sprintf("%.0f", u["roles"].([]any)[0].(map[string]any)["account_ids"].([]any)[0]), "180500001") {
		t.Errorf("diego: %v", u)
	}
	byID := e.ok("get_ads_user", map[string]any{"user": fmt.Sprintf("%.0f", u["id"])})
	if byID["user_name"] != u["user_name"] {
		t.Errorf("by id: %v", byID)
	}
	e.fails("get_ads_user", map[string]any{"user": "nobody@contoso.example"}, "find_user_everywhere")
	e.fails("get_ads_user", map[string]any{"user": "999999"}, "210")

	inv := e.ok("list_ads_invitations", map[string]any{})
	if !strings.Contains(fmt.Sprint(inv["invitations"]), "jordan.blake@gmail.example") {
		t.Errorf("invitations: %v", inv)
	}
	page := e.ok("list_ads_users", map[string]any{"limit": 5})
	if page["count"].(float64) != 5 || page["next_cursor"] == "" {
		t.Errorf("paging: %v", page)
	}
	next := e.ok("list_ads_users", map[string]any{"limit": 5, "cursor": page["next_cursor"]})
	if fmt.Sprint(next["users"]) == fmt.Sprint(page["users"]) {
		t.Error("the second page repeats the first")
	}
	e.fails("list_ads_users", map[string]any{"limit": 5, "status": "Active", "cursor": page["next_cursor"]}, "different filters")
}

func TestAdsWriteTools(t *testing.T) {
	e := newEnv(t, envOptions{confirmer: approveAll{}})

	// Invite, and a second invite to the same address returns the pending one.
	first := e.ok("invite_user", map[string]any{"email": "new.analyst@contoso.example", "first_name": "New", "last_name": "Analyst",
		"role": "viewer", "locale": "en-GB"})
	if first["status"] != "done" || first["invitation"] == nil {
		t.Fatalf("invite: %v", first)
	}
	again := e.ok("invite_user", map[string]any{"email": "NEW.analyst@contoso.example", "first_name": "New", "last_name": "Analyst", "role": "Viewer"})
	if again["status"] != "no_change" || fmt.Sprint(again["invitation"].(map[string]any)["id"]) != fmt.Sprint(first["invitation"].(map[string]any)["id"]) {
		t.Fatalf("duplicate invite: %v", again)
	}
	e.fails("invite_user", map[string]any{"email": "x@contoso.example", "first_name": "X", "last_name": "Y", "role": "Overlord"}, "role", "msidm://ads/roles")
	e.fails("invite_user", map[string]any{"email": "x@contoso.example", "first_name": "X", "last_name": "Y", "role": "Super Admin",
		"account_ids": []any{180500001}}, "customer-level")
	e.fails("invite_user", map[string]any{"email": "not-an-email", "first_name": "X", "last_name": "Y", "role": "Viewer"}, "email")

	// Roles: add on an account, see before/after; removing twice is a no-op.
	add := e.ok("change_role", map[string]any{"user": "pradeep.gupta@contoso.example", "action": "add", "role": "Advertiser Campaign Manager",
		"account_ids": []any{180500002}})
	if add["status"] != "done" || !strings.Contains(fmt.Sprint(add["roles_after"]), "Advertiser Campaign Manager") ||
		strings.Contains(fmt.Sprint(add["roles_before"]), "Advertiser Campaign Manager") {
		t.Fatalf("add role: %v", add)
	}
	e.ok("change_role", map[string]any{"user": "pradeep.gupta@contoso.example", "action": "remove", "role": "Advertiser Campaign Manager"})
	if r := e.ok("change_role", map[string]any{"user": "pradeep.gupta@contoso.example", "action": "remove", "role": "Advertiser Campaign Manager"}); r["status"] != "no_change" {
		t.Errorf("remove twice: %v", r)
	}

	// Profile: update a field; the sign-in name is immutable.
	e.ok("update_ads_user", map[string]any{"user": "adele.vance@contoso.example", "job_title": "Head of Search"})
	if u := e.ok("get_ads_user", map[string]any{"user": "adele.vance@contoso.example"}); u["job_title"] != "Head of Search" || u["name"] != "Adele Vance" {
		t.Errorf("after update: %v", u)
	}
	e.fails("update_ads_user", map[string]any{"user": "adele.vance@contoso.example", "user_name": "a@b.example"}, "immutable")

	// Deactivate, then again: no change.
	if r := e.ok("deactivate_ads_user", map[string]any{"user": "joni.sherman@contoso.example"}); r["status"] != "done" {
		t.Fatalf("deactivate: %v", r)
	}
	if u := e.ok("get_ads_user", map[string]any{"user": "joni.sherman@contoso.example"}); u["status"] != "Inactive" {
		t.Errorf("after deactivate: %v", u)
	}
	if r := e.ok("deactivate_ads_user", map[string]any{"user": "joni.sherman@contoso.example"}); r["status"] != "no_change" {
		t.Errorf("deactivate twice: %v", r)
	}
}

func TestFindUserEverywhere(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.ok("find_user_everywhere", map[string]any{"person": "diego.siciliani@contoso.example"})
	if p["entra"] == nil || len(p["ads_users"].([]any)) != 1 {
		t.Fatalf("diego: %v", p)
	}
	// A pending invitation to someone who exists in Entra but not yet in Ads.
	n := e.ok("find_user_everywhere", map[string]any{"person": "nestor.wilke@contoso.example"})
	if len(n["ads_users"].([]any)) != 0 || len(n["ads_invitations"].([]any)) != 1 {
		t.Fatalf("nestor: %v", n)
	}
	// Someone with Ads access and no Entra identity.
	o := e.ok("find_user_everywhere", map[string]any{"person": "agency.owner@contoso.example"})
	if o["entra"] != nil || !strings.Contains(fmt.Sprint(o["ads_users"]), "Super Admin") {
		t.Fatalf("orphan: %v", o)
	}
}
