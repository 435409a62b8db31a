package demo

import (
	"math/rand/v2"
	"strings"
)

// Role template ids of the built-in Microsoft Entra roles the demo activates. They are the
// same in every tenant (Microsoft's "Microsoft Entra built-in roles" reference), unlike the
// object id of an activated directoryRole, which is per tenant: look roles up by template id.
const (
	RoleTemplateGlobalAdministrator   = "62e90394-69f5-4237-9190-012177145e10"
	RoleTemplateHelpdeskAdministrator = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	RoleTemplateUserAdministrator     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

// DirectoryRole is one activated Microsoft Entra directory role (Graph's directoryRole:
// id, displayName, description, roleTemplateId) and its direct members: users and
// role-assignable groups, whose members hold the role transitively.
//
// Membership is an assignment, not a state: a member whose account is disabled or
// soft-deleted keeps it (Graph does not remove it), so "active" holders are the members
// whose accountEnabled is true; deciding that is the caller's job.
type DirectoryRole struct {
	ID             string // object id of the activated role in this tenant
	RoleTemplateID string
	DisplayName    string
	Description    string
	MemberIDs      []string // user and group object ids
}

// builtinRole returns the activated role of a built-in template with a fresh object id.
func builtinRole(rng *rand.Rand, templateID string, members []string) DirectoryRole {
	r := DirectoryRole{ID: GUID(rng), RoleTemplateID: templateID, MemberIDs: members}
	switch templateID {
	case RoleTemplateGlobalAdministrator:
		r.DisplayName = "Global Administrator"
		r.Description = "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."
	case RoleTemplateHelpdeskAdministrator:
		r.DisplayName = "Helpdesk Administrator"
		r.Description = "Can reset passwords for non-administrators and Helpdesk Administrators."
	case RoleTemplateUserAdministrator:
		r.DisplayName = "User Administrator"
		r.Description = "Can manage all aspects of users and groups, including resetting passwords for limited admins."
	}
	return r
}

// demoRoles activates three roles in the demo tenant:
//   - Global Administrator: the two break-glass accounts (breakglass1@, breakglass2@) and
//     Allan Deyoung (IT Director);
//   - Helpdesk Administrator: the role-assignable group "Helpdesk Administrators" (Ben
//     Walters and Cameron White hold it through the group);
//   - User Administrator: Debra Berger.
//
// A separate random stream keeps every other id unchanged.
func demoRoles(t *Tenant) {
	rng := rand.New(rand.NewPCG(20261123, 4))
	var ga, ua []string
	for _, p := range t.People {
		switch {
		case strings.HasPrefix(strings.ToLower(p.UserPrincipalName), "breakglass"),
			p.GivenName == "Allan" && p.Surname == "Deyoung":
			ga = append(ga, p.ID)
		case p.GivenName == "Debra" && p.Surname == "Berger":
			ua = append(ua, p.ID)
		}
	}
	var helpdesk []string
	for _, g := range t.Groups {
		if g.DisplayName == "Helpdesk Administrators" && g.IsAssignableToRole {
			helpdesk = append(helpdesk, g.ID)
		}
	}
	t.DirectoryRoles = []DirectoryRole{
		builtinRole(rng, RoleTemplateGlobalAdministrator, ga),
		builtinRole(rng, RoleTemplateHelpdeskAdministrator, helpdesk),
		builtinRole(rng, RoleTemplateUserAdministrator, ua),
	}
}

// largeRoles activates Global Administrator in a Large tenant, held by its first two users.
func largeRoles(t *Tenant, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 4))
	var ga []string
	for i := 0; i < len(t.People) && i < 2; i++ {
		ga = append(ga, t.People[i].ID)
	}
	t.DirectoryRoles = []DirectoryRole{builtinRole(rng, RoleTemplateGlobalAdministrator, ga)}
}
