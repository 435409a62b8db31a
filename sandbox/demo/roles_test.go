package demo

import (
	"reflect"
	"slices"
	"testing"
)

// TestDirectoryRoles: the demo and large tenants activate directory roles deterministically,
// with the holders the policy layer relies on.
func TestDirectoryRoles(t *testing.T) {
	upns := func(tn *Tenant, ids []string) []string {
		var out []string
		for _, id := range ids {
			for _, p := range tn.People {
				if p.ID == id {
					out = append(out, p.UserPrincipalName)
				}
			}
			if g := tn.groupByID(id); g != nil {
				out = append(out, "group:"+g.DisplayName)
			}
		}
		slices.Sort(out)
		return out
	}
	large := Large(2000, 10, 7)
	tests := []struct {
		name     string
		tenant   func() *Tenant
		template string
		display  string
		holders  []string
	}{
		{"demo global admin", Demo, RoleTemplateGlobalAdministrator, "Global Administrator",
			[]string{"allan.deyoung@contoso.example", "breakglass1@contoso.example", "breakglass2@contoso.example"}},
		{"demo helpdesk admin", Demo, RoleTemplateHelpdeskAdministrator, "Helpdesk Administrator",
			[]string{"group:Helpdesk Administrators"}},
		{"demo user admin", Demo, RoleTemplateUserAdministrator, "User Administrator",
			[]string{"debra.berger@contoso.example"}},
		{"large global admin", func() *Tenant { return Large(2000, 10, 7) }, RoleTemplateGlobalAdministrator, "Global Administrator",
			upns(large, []string{large.People[0].ID, large.People[1].ID})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.tenant(), tc.tenant()
			if !reflect.DeepEqual(a.DirectoryRoles, b.DirectoryRoles) {
				t.Fatal("roles not deterministic")
			}
			var role *DirectoryRole
			for i := range a.DirectoryRoles {
				if a.DirectoryRoles[i].RoleTemplateID == tc.template {
					role = &a.DirectoryRoles[i]
				}
			}
			if role == nil {
				t.Fatalf("role %s not activated", tc.template)
			}
			if role.DisplayName != tc.display || role.Description == "" || role.ID == role.RoleTemplateID {
				t.Errorf("role = %+v", role)
			}
			if got := upns(a, role.MemberIDs); !slices.Equal(got, tc.holders) || len(got) != len(role.MemberIDs) {
				t.Errorf("holders = %v, want %v (ids %v)", got, tc.holders, role.MemberIDs)
			}
		})
	}
	if g := Demo().groupByID(Demo().DirectoryRoles[1].MemberIDs[0]); g == nil || !g.IsAssignableToRole {
		t.Error("Helpdesk Administrator is not held by a role-assignable group")
	}
	// Role object ids are part of the demo's documented facts.
	if id := Demo().DirectoryRoles[0].ID; id != "f95092df-e439-4204-a1e6-a4eb29c662a8" {
		t.Errorf("Global Administrator object id changed: %s", id)
	}
}
