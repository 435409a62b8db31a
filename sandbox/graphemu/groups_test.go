package graphemu

import (
	"github.com/msidm/msidm/sandbox/demo"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestGroupsListAndGet(t *testing.T) {
	f := newWriteFixture(t)
	all := f.pageAll("/v1.0/groups?$top=2", 2, nil)
	if len(all) != len(f.tenant.Groups) || !slices.IsSorted(all) {
		t.Errorf("paged %d groups (sorted %v), want %d", len(all), slices.IsSorted(all), len(f.tenant.Groups))
	}
	sales := groupNamed(t, f.tenant, "Sales (dynamic)")
	r := f.send(http.MethodGet, "/v1.0/groups/"+sales.ID, nil)
	if r.status != 200 || r.body["membershipRule"] != sales.MembershipRule || r.body["membershipRuleProcessingState"] != "On" ||
		r.body["groupTypes"].([]any)[0] != "DynamicMembership" || r.body["@odata.context"] != f.base+"/v1.0/$metadata#groups/$entity" {
		t.Errorf("dynamic group: %d %v", r.status, r.body)
	}
	t.Run("deleted-items group sample keys", func(t *testing.T) {
		// samples/deleteditems-list-groups.json shows the group resource's core keys.
		m := f.send(http.MethodGet, "/v1.0/groups/"+groupNamed(t, f.tenant, "Marketing Department").ID, nil)
		containsShape(t, "$", m.body, sample(t, "deleteditems-list-groups.json")["value"].([]any)[0])
		if m.body["visibility"] != "Private" || m.body["mailEnabled"] != true || m.body["securityEnabled"] != false {
			t.Errorf("M365 group = %v", m.body)
		}
	})
	sel := f.send(http.MethodGet, "/v1.0/groups?$select=id,displayName,isAssignableToRole,onPremisesSyncEnabled", nil)
	if sel.body["@odata.context"] != f.base+"/v1.0/$metadata#groups(id,displayName,isAssignableToRole,onPremisesSyncEnabled)" {
		t.Errorf("context = %v", sel.body["@odata.context"])
	}
	kinds := map[string]bool{}
	for _, v := range sel.body["value"].([]any) {
		g := v.(map[string]any)
		if len(g) != 4 {
			t.Errorf("selected keys = %v", keysOf(g))
		}
		if g["isAssignableToRole"] == true {
			kinds["role"] = true
		}
		if g["onPremisesSyncEnabled"] == true {
			kinds["synced"] = true
		}
	}
	if !kinds["role"] || !kinds["synced"] {
		t.Errorf("kinds = %v", kinds)
	}
	checkError(t, f.send(http.MethodGet, "/v1.0/groups/73f6134c-e647-4ab1-8ccb-287be982da02", nil), 404, "Request_ResourceNotFound", "")
	checkError(t, f.send(http.MethodGet, "/v1.0/groups?$select=shoeSize", nil), 400, "Request_BadRequest", "")
	checkError(t, f.send(http.MethodGet, "/v1.0/groups?$top=1000", nil), 400, "Request_UnsupportedQuery", "")
}

func TestGroupMembers(t *testing.T) {
	f := newWriteFixture(t)
	marketing := groupNamed(t, f.tenant, "Marketing Department")
	sales := groupNamed(t, f.tenant, "Sales (dynamic)")
	helpdesk := groupNamed(t, f.tenant, "Helpdesk Administrators")
	onprem := groupNamed(t, f.tenant, "SG-Engineering (on-premises)")
	campaign := groupNamed(t, f.tenant, "Ads Campaign Managers")
	access := groupNamed(t, f.tenant, "Advertising Access")
	aiko := person(t, f.tenant, "Aiko Tanaka")
	adele := person(t, f.tenant, "Adele Vance")
	ref := func(id string) map[string]any {
		return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
	}
	members := func(gid string) []string {
		return f.pageAll("/v1.0/groups/"+gid+"/members?$top=3&$select=id", 3, nil)
	}

	// The request body of the sample, with the placeholder filled in.
	body := sample(t, "group-add-member-ref-request.json")
	body["@odata.id"] = strings.Replace(body["@odata.id"].(string), "{id}", aiko.ID, 1)
	if r := f.send(http.MethodPost, "/v1.0/groups/"+marketing.ID+"/members/$ref", body); r.status != 204 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	if !slices.Contains(members(marketing.ID), aiko.ID) {
		t.Error("added member not listed")
	}
	dup := f.send(http.MethodPost, "/v1.0/groups/"+marketing.ID+"/members/$ref", ref(aiko.ID))
	checkError(t, dup, 400, "Request_BadRequest", "")
	errorShape(t, dup, "error-member-already-exists.OBSERVED.json")

	roleAdmin := f.mint(append(writeRoles, "RoleManagement.ReadWrite.Directory")...)
	tests := []struct {
		name, method, path string
		body               any
		token              string
		status             int
		code, msg          string
	}{
		{"remove", "DELETE", "/groups/" + marketing.ID + "/members/" + aiko.ID + "/$ref", nil, "", 204, "", ""},
		{"remove non-member", "DELETE", "/groups/" + marketing.ID + "/members/" + aiko.ID + "/$ref", nil, "", 404, "Request_ResourceNotFound",
			"Resource '" + aiko.ID + "' does not exist or one of its queried reference-property objects are not present."},
		{"add unknown object", "POST", "/groups/" + marketing.ID + "/members/$ref", ref("73f6134c-e647-4ab1-8ccb-287be982da02"), "", 404, "Request_ResourceNotFound", ""},
		{"add to unknown group", "POST", "/groups/73f6134c-e647-4ab1-8ccb-287be982da02/members/$ref", ref(aiko.ID), "", 404, "Request_ResourceNotFound", ""},
		{"bad reference", "POST", "/groups/" + marketing.ID + "/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/nobody"}, "", 400, "Request_BadRequest", ""},
		{"no reference", "POST", "/groups/" + marketing.ID + "/members/$ref", map[string]any{}, "", 400, "BadRequest", ""},
		{"dynamic add", "POST", "/groups/" + sales.ID + "/members/$ref", ref(aiko.ID), "", 400, "Request_BadRequest",
			"Members of a group with dynamic membership cannot be added or removed manually."},
		{"dynamic remove", "DELETE", "/groups/" + sales.ID + "/members/" + person(t, f.tenant, "Lee Gu").ID + "/$ref", nil, "", 400, "Request_BadRequest", ""},
		{"synced add", "POST", "/groups/" + onprem.ID + "/members/$ref", ref(aiko.ID), "", 400, "Request_BadRequest",
			"Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration."},
		{"synced remove", "DELETE", "/groups/" + onprem.ID + "/members/" + onprem.MemberIDs[0] + "/$ref", nil, "", 400, "Request_BadRequest", ""},
		{"role-assignable without role permission", "POST", "/groups/" + helpdesk.ID + "/members/$ref", ref(aiko.ID), "", 403, "Authorization_RequestDenied", ""},
		{"role-assignable with role permission", "POST", "/groups/" + helpdesk.ID + "/members/$ref", ref(aiko.ID), roleAdmin, 204, "", ""},
		{"nest a group", "POST", "/groups/" + access.ID + "/members/$ref", ref(marketing.ID), "", 204, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			saved := f.token
			if tc.token != "" {
				f.token = tc.token
			}
			defer func() { f.token = saved }()
			r := f.send(tc.method, "/v1.0"+tc.path, tc.body)
			if tc.status == 204 {
				if r.status != 204 {
					t.Fatalf("%d %s", r.status, r.raw)
				}
				return
			}
			checkError(t, r, tc.status, tc.code, tc.msg)
		})
	}
	// Dynamic membership follows the rule: moving Adele to Sales makes her a member.
	if slices.Contains(members(sales.ID), adele.ID) {
		t.Fatal("Adele in Sales before the move")
	}
	f.send(http.MethodPatch, "/v1.0/users/"+adele.ID, map[string]any{"department": "Sales"})
	if !slices.Contains(members(sales.ID), adele.ID) {
		t.Error("dynamic membership not recomputed")
	}
	// Members are typed directoryObjects; nested groups appear as groups.
	r := f.send(http.MethodGet, "/v1.0/groups/"+access.ID+"/members", nil)
	types := map[string]bool{}
	for _, v := range r.body["value"].([]any) {
		types[v.(map[string]any)["@odata.type"].(string)] = true
	}
	if !types["#microsoft.graph.group"] || !types["#microsoft.graph.user"] || r.body["@odata.context"] != f.base+"/v1.0/$metadata#directoryObjects" {
		t.Errorf("members of %s: %s", access.DisplayName, r.raw)
	}
	_ = campaign
}

func TestMemberOf(t *testing.T) {
	f := newWriteFixture(t)
	diego := person(t, f.tenant, "Diego Siciliani") // campaign manager, marketing
	names := func(path string) []string {
		r := f.send(http.MethodGet, path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
		for _, v := range r.body["value"].([]any) {
			if v.(map[string]any)["@odata.type"] != "#microsoft.graph.group" {
				t.Errorf("item without group type: %v", v)
			}
		}
		return displayNames(r)
	}
	direct := names("/v1.0/users/" + diego.ID + "/memberOf")
	if strings.Join(direct, ",") != "Ads Campaign Managers,Marketing Department" {
		t.Errorf("memberOf = %v", direct)
	}
	trans := names("/v1.0/users/" + diego.UserPrincipalName + "/transitiveMemberOf")
	if strings.Join(trans, ",") != "Ads Campaign Managers,Advertising Access,All Staff,Marketing Department" {
		t.Errorf("transitiveMemberOf = %v", trans)
	}
	lee := person(t, f.tenant, "Lee Gu")
	if got := names("/v1.0/users/" + lee.ID + "/memberOf"); strings.Join(got, ",") != "Sales (dynamic)" {
		t.Errorf("dynamic memberOf = %v", got)
	}
	t.Run("contract", func(t *testing.T) {
		r := f.send(http.MethodGet, "/v1.0/users/"+diego.ID+"/memberOf", nil)
		containsShape(t, "$", r.body, sample(t, "memberof-response.json"))
		r = f.send(http.MethodGet, "/v1.0/users/"+diego.ID+"/transitiveMemberOf", nil)
		containsShape(t, "$", r.body, sample(t, "transitivememberof-response.json"))
		if r.body["@odata.context"] != f.base+"/v1.0/$metadata#directoryObjects" {
			t.Errorf("context = %v", r.body["@odata.context"])
		}
	})
	paged := f.pageAll("/v1.0/users/"+diego.ID+"/transitiveMemberOf?$top=1&$select=id,displayName", 1, nil)
	if len(paged) != 4 {
		t.Errorf("paged transitiveMemberOf = %d", len(paged))
	}
	checkError(t, f.send(http.MethodGet, "/v1.0/users/nobody@contoso.example/memberOf", nil), 404, "Request_ResourceNotFound", "")
}

func TestManager(t *testing.T) {
	f := newWriteFixture(t)
	adele := person(t, f.tenant, "Adele Vance") // managed by Megan Bowen
	megan := person(t, f.tenant, "Megan Bowen")
	alex := person(t, f.tenant, "Alex Wilber") // the CEO has no manager
	r := f.send(http.MethodGet, "/v1.0/users/"+adele.ID+"/manager", nil)
	if r.status != 200 || r.body["id"] != megan.ID || r.body["@odata.type"] != "#microsoft.graph.user" ||
		r.body["@odata.context"] != f.base+"/v1.0/$metadata#directoryObjects/$entity" {
		t.Fatalf("manager: %d %s", r.status, r.raw)
	}
	body := sample(t, "manager-ref-put-request.json")
	body["@odata.id"] = strings.Replace(body["@odata.id"].(string), "{id}", alex.ID, 1)
	if r := f.send(http.MethodPut, "/v1.0/users/"+adele.UserPrincipalName+"/manager/$ref", body); r.status != 204 {
		t.Fatalf("put: %d %s", r.status, r.raw)
	}
	if r := f.send(http.MethodGet, "/v1.0/users/"+adele.ID+"/manager?$select=id,displayName", nil); r.body["id"] != alex.ID || len(r.body) != 4 {
		t.Errorf("after put: %v", r.body)
	}
	if r := f.send(http.MethodDelete, "/v1.0/users/"+adele.ID+"/manager/$ref", nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	noManager := "Resource 'manager' does not exist or one of its queried reference-property objects are not present."
	checkError(t, f.send(http.MethodGet, "/v1.0/users/"+adele.ID+"/manager", nil), 404, "Request_ResourceNotFound", noManager)
	checkError(t, f.send(http.MethodDelete, "/v1.0/users/"+adele.ID+"/manager/$ref", nil), 404, "Request_ResourceNotFound", noManager)
	checkError(t, f.send(http.MethodGet, "/v1.0/users/"+alex.ID+"/manager", nil), 404, "Request_ResourceNotFound", noManager)
	checkError(t, f.send(http.MethodPut, "/v1.0/users/"+adele.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/73f6134c-e647-4ab1-8ccb-287be982da02"}), 404, "Request_ResourceNotFound", "")
	checkError(t, f.send(http.MethodPut, "/v1.0/users/"+adele.ID+"/manager/$ref",
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + adele.ID}), 400, "Request_BadRequest", "")
	checkError(t, f.send(http.MethodGet, "/v1.0/users/nobody@contoso.example/manager", nil), 404, "Request_ResourceNotFound", "")

	// A synced user's manager comes from AD: a cloud change is reverted by the sync cycle.
	lidia := person(t, f.tenant, "Lidia Holloway")
	f.send(http.MethodPut, "/v1.0/users/"+lidia.ID+"/manager/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + alex.ID})
	f.clock.advance(defaultSyncDelay)
	if r := f.send(http.MethodGet, "/v1.0/users/"+lidia.ID+"/manager", nil); r.body["id"] != lidia.ManagerID {
		t.Errorf("synced manager not reverted: %v", r.body["id"])
	}
}

func TestGroupFilter(t *testing.T) {
	tests := []struct {
		expr  string
		match string // a display name that must be among the results
		count int
		err   bool
	}{
		{"", "", 7, false},
		{"displayName eq 'ads campaign managers'", "Ads Campaign Managers", 1, false},
		{"startswith(displayName,'Ad')", "Advertising Access", 2, false},
		{"mailNickname eq 'all-staff'", "All Staff", 1, false},
		{"displayName eq 'O''Brien team'", "", 0, false},
		{"securityEnabled eq true", "", 0, true},
		{"displayName eq 'x' or displayName eq 'y'", "", 0, true},
	}
	f := newFixture(t, demo.Demo())
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			r := f.get("/v1.0/groups?$filter=" + url.QueryEscape(tt.expr))
			if tt.err {
				if r.status != 400 {
					t.Fatalf("status %d, want 400", r.status)
				}
				return
			}
			values, _ := r.body["value"].([]any)
			if len(values) != tt.count {
				t.Fatalf("%d groups, want %d: %s", len(values), tt.count, r.raw)
			}
			if tt.match != "" && !strings.Contains(string(r.raw), `"displayName":"`+tt.match+`"`) {
				t.Errorf("%q not among %s", tt.match, r.raw)
			}
		})
	}
}
