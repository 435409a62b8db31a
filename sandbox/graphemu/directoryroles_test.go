package graphemu

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/msidm/msidm/sandbox/demo"
)

const roleType = "#microsoft.graph.directoryRole"

// typedNames returns "type:displayName" (type without its namespace) of each item, sorted.
func typedNames(t *testing.T, r reply) []string {
	t.Helper()
	var out []string
	for _, v := range r.body["value"].([]any) {
		o := v.(map[string]any)
		typ, _ := o["@odata.type"].(string)
		out = append(out, strings.TrimPrefix(typ, "#microsoft.graph.")+":"+o["displayName"].(string))
	}
	slices.Sort(out)
	return out
}

func TestDirectoryRolesRead(t *testing.T) {
	f := newFixture(t, demo.Demo()) // token: User.Read.All
	ga := "f95092df-e439-4204-a1e6-a4eb29c662a8"
	roleKeys := []string{"@odata.type", "deletedDateTime", "description", "displayName", "id", "roleTemplateId"}
	tests := []struct {
		name    string
		path    string
		status  int
		code    string   // error code when status is not 200
		context string   // @odata.context below /v1.0/$metadata#
		items   []string // typedNames of a collection, or nil for an entity
		entity  string   // displayName of an entity
	}{
		{"list", "/v1.0/directoryRoles", 200, "", "directoryRoles", []string{
			"directoryRole:Global Administrator", "directoryRole:Helpdesk Administrator", "directoryRole:User Administrator"}, ""},
		{"filter by template", "/v1.0/directoryRoles?$filter=" + url.QueryEscape("roleTemplateId eq '"+demo.RoleTemplateGlobalAdministrator+"'"),
			200, "", "directoryRoles", []string{"directoryRole:Global Administrator"}, ""},
		{"filter by unknown template", "/v1.0/directoryRoles?$filter=" + url.QueryEscape("roleTemplateId eq '00000000-0000-0000-0000-000000000000'"),
			200, "", "directoryRoles", []string{}, ""},
		{"filter unsupported", "/v1.0/directoryRoles?$filter=" + url.QueryEscape("displayName eq 'Global Administrator'"),
			400, "Request_UnsupportedQuery", "", nil, ""},
		{"select", "/v1.0/directoryRoles?$select=displayName,roleTemplateId", 200, "", "directoryRoles(displayName,roleTemplateId)", []string{
			"directoryRole:Global Administrator", "directoryRole:Helpdesk Administrator", "directoryRole:User Administrator"}, ""},
		{"select unknown", "/v1.0/directoryRoles?$select=accountEnabled", 400, "Request_BadRequest", "", nil, ""},
		{"get by id", "/v1.0/directoryRoles/" + ga, 200, "", "directoryRoles/$entity", nil, "Global Administrator"},
		{"get by template id", "/v1.0/directoryRoles/" + demo.RoleTemplateUserAdministrator, 200, "", "directoryRoles/$entity", nil, "User Administrator"},
		{"key form", "/v1.0/directoryRoles(roleTemplateId='" + demo.RoleTemplateGlobalAdministrator + "')", 200, "", "directoryRoles/$entity", nil, "Global Administrator"},
		{"key form members", "/v1.0/directoryRoles(roleTemplateId='" + demo.RoleTemplateGlobalAdministrator + "')/members", 200, "", "directoryObjects",
			[]string{"user:Allan Deyoung", "user:Break Glass 1", "user:Break Glass 2"}, ""},
		{"members of Global Administrator", "/v1.0/directoryRoles/" + ga + "/members", 200, "", "directoryObjects",
			[]string{"user:Allan Deyoung", "user:Break Glass 1", "user:Break Glass 2"}, ""},
		{"members are a group", "/v1.0/directoryRoles/" + demo.RoleTemplateHelpdeskAdministrator + "/members", 200, "", "directoryObjects",
			[]string{"group:Helpdesk Administrators"}, ""},
		{"unknown role", "/v1.0/directoryRoles/73f6134c-e647-4ab1-8ccb-287be982da02", 404, "Request_ResourceNotFound", "", nil, ""},
		{"unknown role members", "/v1.0/directoryRoles/73f6134c-e647-4ab1-8ccb-287be982da02/members", 404, "Request_ResourceNotFound", "", nil, ""},
		{"unknown template key form", "/v1.0/directoryRoles(roleTemplateId='73f6134c-e647-4ab1-8ccb-287be982da02')", 404, "Request_ResourceNotFound", "", nil, ""},
		{"malformed key form", "/v1.0/directoryRoles(displayName='x')", 400, "BadRequest", "", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.get(tc.path)
			if tc.status != 200 {
				checkError(t, r, tc.status, tc.code, "")
				if tc.status == 404 {
					errorShape(t, r, "error-404-resource-not-found.json")
				}
				return
			}
			if r.status != 200 || r.header.Get("Content-Type") != odataJSON {
				t.Fatalf("%d %s %s", r.status, r.header.Get("Content-Type"), r.raw)
			}
			if want := f.base + "/v1.0/$metadata#" + tc.context; r.body["@odata.context"] != want {
				t.Errorf("context = %v, want %s", r.body["@odata.context"], want)
			}
			if tc.items == nil {
				if r.body["displayName"] != tc.entity || r.body["@odata.type"] != roleType {
					t.Errorf("entity = %v", r.body)
				}
				if delete(r.body, "@odata.context"); !slices.Equal(keysOf(r.body), roleKeys) {
					t.Errorf("keys = %v", keysOf(r.body))
				}
				return
			}
			if got := typedNames(t, r); !slices.Equal(got, tc.items) && !(len(got) == 0 && len(tc.items) == 0) {
				t.Errorf("items = %v, want %v", got, tc.items)
			}
			if tc.context == "directoryRoles" {
				for _, v := range r.body["value"].([]any) {
					if got := keysOf(v.(map[string]any)); !slices.Equal(got, roleKeys) {
						t.Errorf("role keys = %v", got)
					}
				}
			}
		})
	}
	t.Run("paging members", func(t *testing.T) {
		ids := f.pageAll("/v1.0/directoryRoles/"+ga+"/members?$top=1&$select=id,userPrincipalName", 1, nil)
		if len(ids) != 3 || !slices.IsSorted(ids) {
			t.Errorf("paged members = %v", ids)
		}
		roles := f.pageAll("/v1.0/directoryRoles?$top=2", 2, nil)
		if len(roles) != 3 {
			t.Errorf("paged roles = %v", roles)
		}
	})
}

func TestDirectoryRolesPermissions(t *testing.T) {
	f := newFixture(t, demo.Demo())
	for _, tc := range []struct {
		roles  []string
		status int
	}{
		{[]string{"RoleManagement.Read.Directory"}, 200},
		{[]string{"Directory.Read.All"}, 200},
		{[]string{"Directory.ReadWrite.All"}, 200},
		{[]string{"User.Read.All"}, 200},
		{[]string{"Group.Read.All"}, 403},
		{nil, 403},
	} {
		t.Run(strings.Join(tc.roles, ","), func(t *testing.T) {
			auth := "Bearer " + f.mint(tc.roles...)
			for _, p := range []string{"/v1.0/directoryRoles", "/v1.0/directoryRoles/" + demo.RoleTemplateGlobalAdministrator + "/members",
				"/v1.0/directoryRoles(roleTemplateId='" + demo.RoleTemplateGlobalAdministrator + "')"} {
				r := f.get(p, "Authorization", auth)
				if tc.status == 403 {
					checkError(t, r, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
				} else if r.status != tc.status {
					t.Errorf("%s: %d %s", p, r.status, r.raw)
				}
			}
		})
	}
}

func TestMemberOfDirectoryRoles(t *testing.T) {
	f := newFixture(t, demo.Demo())
	roles := func(r reply) []string {
		var out []string
		for _, v := range r.body["value"].([]any) {
			o := v.(map[string]any)
			if o["@odata.type"] == roleType {
				out = append(out, o["displayName"].(string))
				if o["roleTemplateId"] == nil || o["description"] == nil {
					t.Errorf("role item = %v", o)
				}
			} else if o["@odata.type"] != "#microsoft.graph.group" {
				t.Errorf("item type = %v", o["@odata.type"])
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		user       string // UPN
		transitive bool
		roles      []string
	}{
		{"allan.deyoung@contoso.example", false, []string{"Global Administrator"}},
		{"allan.deyoung@contoso.example", true, []string{"Global Administrator"}},
		{"breakglass1@contoso.example", false, []string{"Global Administrator"}},
		{"breakglass2@contoso.example", true, []string{"Global Administrator"}},
		{"debra.berger@contoso.example", false, []string{"User Administrator"}},
		// Helpdesk Administrator is held by the role-assignable group, so only transitively.
		{"ben.walters@contoso.example", false, nil},
		{"ben.walters@contoso.example", true, []string{"Helpdesk Administrator"}},
		{"cameron.white@contoso.example", true, []string{"Helpdesk Administrator"}},
		{"megan.bowen@contoso.example", true, nil},
	}
	for _, tc := range tests {
		rel := "/memberOf"
		if tc.transitive {
			rel = "/transitiveMemberOf"
		}
		t.Run(tc.user+rel, func(t *testing.T) {
			r := f.get("/v1.0/users/" + tc.user + rel)
			if r.status != 200 || r.body["@odata.context"] != f.base+"/v1.0/$metadata#directoryObjects" {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if got := roles(r); !slices.Equal(got, tc.roles) {
				t.Errorf("roles = %v, want %v", got, tc.roles)
			}
			if got := ids(r); !slices.IsSorted(got) {
				t.Errorf("not sorted by id: %v", got)
			}
		})
	}
	t.Run("helpdesk group and role together", func(t *testing.T) {
		r := f.get("/v1.0/users/ben.walters@contoso.example/transitiveMemberOf?$select=id,displayName,roleTemplateId")
		got := typedNames(t, r)
		if !slices.Contains(got, "group:Helpdesk Administrators") || !slices.Contains(got, "directoryRole:Helpdesk Administrator") {
			t.Errorf("transitiveMemberOf = %v", got)
		}
		for _, v := range r.body["value"].([]any) {
			if o := v.(map[string]any); o["@odata.type"] == roleType && o["roleTemplateId"] != demo.RoleTemplateHelpdeskAdministrator {
				t.Errorf("role item = %v", o)
			}
		}
		paged := f.pageAll("/v1.0/users/ben.walters@contoso.example/transitiveMemberOf?$top=1&$select=id", 1, nil)
		if len(paged) != len(got) {
			t.Errorf("paged %d items, want %d", len(paged), len(got))
		}
	})
}

// TestDirectoryRoleHoldersLifecycle: disabling a holder does not remove the assignment (the
// caller reads accountEnabled); a soft-deleted holder is not listed until restored; a purged
// one loses the role.
func TestDirectoryRoleHoldersLifecycle(t *testing.T) {
	f := newWriteFixture(t)
	allan := person(t, f.tenant, "Allan Deyoung")
	debra := person(t, f.tenant, "Debra Berger")
	members := func(template string) map[string]any {
		r := f.send(http.MethodGet, "/v1.0/directoryRoles/"+template+"/members?$select=id,userPrincipalName,accountEnabled", nil)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		out := map[string]any{}
		for _, v := range r.body["value"].([]any) {
			o := v.(map[string]any)
			out[o["userPrincipalName"].(string)] = o["accountEnabled"]
		}
		return out
	}
	if r := f.send(http.MethodPatch, "/v1.0/users/"+allan.ID, map[string]any{"accountEnabled": false}); r.status != 204 {
		t.Fatalf("disable: %d %s", r.status, r.raw)
	}
	ga := members(demo.RoleTemplateGlobalAdministrator)
	active := 0
	for _, enabled := range ga {
		if enabled == true {
			active++
		}
	}
	if len(ga) != 3 || ga[allan.UserPrincipalName] != false || active != 2 {
		t.Errorf("Global Administrators after disabling Allan = %v (active %d)", ga, active)
	}
	if r := f.send(http.MethodGet, "/v1.0/users/"+allan.ID+"/memberOf", nil); !slices.Contains(typedNames(t, r), "directoryRole:Global Administrator") {
		t.Errorf("disabled holder's memberOf = %v", typedNames(t, r))
	}

	if r := f.send(http.MethodDelete, "/v1.0/users/"+debra.ID, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if ua := members(demo.RoleTemplateUserAdministrator); len(ua) != 0 {
		t.Errorf("User Administrators while Debra is deleted = %v", ua)
	}
	if r := f.send(http.MethodPost, "/v1.0/directory/deletedItems/"+debra.ID+"/restore", nil); r.status != 200 {
		t.Fatalf("restore: %d %s", r.status, r.raw)
	}
	if ua := members(demo.RoleTemplateUserAdministrator); len(ua) != 1 || ua[debra.UserPrincipalName] != true {
		t.Errorf("User Administrators after restore = %v", ua)
	}
	f.send(http.MethodDelete, "/v1.0/users/"+debra.ID, nil)
	if r := f.send(http.MethodDelete, "/v1.0/directory/deletedItems/"+debra.ID, nil); r.status != 204 {
		t.Fatalf("purge: %d %s", r.status, r.raw)
	}
	f.srv.dir.mu.RLock()
	held := f.srv.dir.roleByTemplate(demo.RoleTemplateUserAdministrator).members[strings.ToLower(debra.ID)]
	f.srv.dir.mu.RUnlock()
	if held {
		t.Error("purged user still holds User Administrator")
	}
}

func TestDirectoryRolesLarge(t *testing.T) {
	tenant := demo.Large(50, 5, 7)
	f := newFixture(t, tenant)
	r := f.get("/v1.0/directoryRoles/" + demo.RoleTemplateGlobalAdministrator + "/members?$select=id")
	want := []string{strings.ToLower(tenant.People[0].ID), strings.ToLower(tenant.People[1].ID)}
	slices.Sort(want)
	if got := ids(r); r.status != 200 || !slices.Equal(got, want) {
		t.Errorf("Global Administrators = %v, want %v (%d)", got, want, r.status)
	}
	if got := ids(f.get("/v1.0/directoryRoles")); len(got) != 1 {
		t.Errorf("roles = %v", got)
	}
}
