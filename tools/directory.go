package tools

import (
	"context"
	"fmt"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy/rules"
)

// GraphDirectory answers the guard rails' questions (group memberships, directory roles,
// active Global Administrators) from Microsoft Graph.
type GraphDirectory struct {
	Graph *graph.Client
}

var _ rules.Directory = GraphDirectory{}

// GroupsOf lists the groups a user belongs to, directly or through nesting.
func (g GraphDirectory) GroupsOf(ctx context.Context, user string) ([]rules.Ref, error) {
	return g.memberships(ctx, user, (graph.DirectoryObject).IsGroup, func(o graph.DirectoryObject) rules.Ref {
		return rules.Ref{ID: o.ID, Name: o.DisplayName}
	})
}

// DirectoryRolesOf lists the directory roles a user holds, directly or through a
// role-assignable group, as template id and display name.
func (g GraphDirectory) DirectoryRolesOf(ctx context.Context, user string) ([]rules.Ref, error) {
	return g.memberships(ctx, user, (graph.DirectoryObject).IsDirectoryRole, func(o graph.DirectoryObject) rules.Ref {
		return rules.Ref{ID: o.RoleTemplateID, Name: o.DisplayName}
	})
}

func (g GraphDirectory) memberships(ctx context.Context, user string, keep func(graph.DirectoryObject) bool, ref func(graph.DirectoryObject) rules.Ref) ([]rules.Ref, error) {
	var out []rules.Ref
	for o, err := range g.Graph.MemberOf(ctx, user, true) {
		if graph.NotFound(err) {
			// A user already in deletedItems holds no groups or roles any more (an interrupted
			// offboarding's soft-delete, say): report that rather than an unknown user.
			if _, derr := g.Graph.GetDeleted(ctx, user); derr == nil {
				return nil, nil
			}
			return nil, rules.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		if keep(o) {
			out = append(out, ref(o))
		}
	}
	return out, nil
}

// ActiveGlobalAdmins lists the enabled users holding Global Administrator, directly or
// through a role-assignable group. Any failed read fails the whole answer: a partial list
// could let the last administrator be removed.
func (g GraphDirectory) ActiveGlobalAdmins(ctx context.Context) ([]rules.Ref, error) {
	role, err := g.Graph.DirectoryRoleByTemplate(ctx, graph.GlobalAdministratorTemplate)
	if err != nil {
		return nil, fmt.Errorf("reading the Global Administrator role: %w", err)
	}
	var out []rules.Ref
	seen := map[string]bool{}
	var visit func(members func(func(graph.DirectoryObject, error) bool)) error
	visit = func(members func(func(graph.DirectoryObject, error) bool)) error {
		for m, err := range members {
			if err != nil {
				return err
			}
			if seen[m.ID] {
				continue
			}
			seen[m.ID] = true
			if m.IsGroup() {
				if err := visit(g.Graph.GroupMembersWithState(ctx, m.ID)); err != nil {
					return err
				}
				continue
			}
			if m.ODataType != "#microsoft.graph.user" {
				continue
			}
			if m.AccountEnabled == nil {
				return fmt.Errorf("Graph did not say whether %s is enabled", m.ID)
			}
			if *m.AccountEnabled {
				out = append(out, rules.Ref{ID: m.ID, Name: m.UserPrincipalName})
			}
		}
		return nil
	}
	if err := visit(g.Graph.DirectoryRoleMembers(ctx, role.ID)); err != nil {
		return nil, fmt.Errorf("reading Global Administrators: %w", err)
	}
	return out, nil
}
