package graphemu

import (
	"regexp"
	"slices"
	"strings"

	"github.com/msidm/msidm/sandbox/demo"
)

// Directory roles (Graph v1.0 directoryRole): the roles activated in the tenant and their
// members, read-only.
//
//	GET /directoryRoles                              activated roles; $filter=roleTemplateId eq '…', $select, $top/$skiptoken
//	GET /directoryRoles/{id}                         by object id or by role template id (both are accepted, as on Graph)
//	GET /directoryRoles(roleTemplateId='{templateId}') the alternate-key form, also with /members
//	GET /directoryRoles/{id}/members                 direct members: users and role-assignable groups, typed, paged
//
// and users' memberOf / transitiveMemberOf list the roles a user holds directly / also
// through groups, typed #microsoft.graph.directoryRole (groups.go).
//
// Membership is an assignment. A disabled member stays a member and is listed with
// accountEnabled false: whether a holder is "active" is the caller's decision, from
// accountEnabled. A soft-deleted member keeps the assignment too (restoring the user brings
// it back) but, like every deleted object, is not listed while in deleted items; a
// permanently deleted member loses it. Reads need a directory read permission
// (permDirectoryRead).

// directoryRole is the emulator's copy of one activated role. Its properties never change;
// members does only when a member is purged, under directory.mu.
type directoryRole struct {
	id, templateID, displayName, description string
	members                                  map[string]bool // lower-cased ids of users and groups
}

// permDirectoryRead are the permissions that may read directory roles: the documented ones
// (RoleManagement.Read.Directory least privileged, Directory.Read.All, Directory.ReadWrite.All,
// RoleManagement.ReadWrite.Directory) and, in the sandbox only, User.Read.All, the read
// permission the sandbox's read-only clients carry.
var permDirectoryRead = []string{
	"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory",
	"Directory.Read.All", "Directory.ReadWrite.All", "User.Read.All",
}

// seedRoles copies the tenant's activated roles. The caller is newDirectory.
func (d *directory) seedRoles(roles []demo.DirectoryRole) {
	d.roles = make(map[string]*directoryRole, len(roles))
	for _, r := range roles {
		dr := &directoryRole{id: r.ID, templateID: r.RoleTemplateID, displayName: r.DisplayName, description: r.Description,
			members: make(map[string]bool, len(r.MemberIDs))}
		for _, m := range r.MemberIDs {
			dr.members[strings.ToLower(m)] = true
		}
		d.roles[strings.ToLower(r.ID)] = dr
		d.roleOrder = append(d.roleOrder, strings.ToLower(r.ID))
	}
	slices.Sort(d.roleOrder)
}

// roleByKey finds a role by object id or, failing that, by role template id, as
// GET /directoryRoles/{id} accepts both. The caller holds d.mu.
func (d *directory) roleByKey(key string) *directoryRole {
	key = strings.ToLower(key)
	if r := d.roles[key]; r != nil {
		return r
	}
	return d.roleByTemplate(key)
}

// roleByTemplate finds the activated role of a template. The caller holds d.mu.
func (d *directory) roleByTemplate(templateID string) *directoryRole {
	for _, id := range d.roleOrder {
		if r := d.roles[id]; strings.EqualFold(r.templateID, templateID) {
			return r
		}
	}
	return nil
}

// rolesOf returns the roles held by the object with lower-cased id directly, or through one
// of groups (lower-cased ids, e.g. its transitive groups). The caller holds d.mu.
func (d *directory) rolesOf(id string, groups []string) []dirObject {
	var objs []dirObject
	for _, rid := range d.roleOrder {
		r := d.roles[rid]
		if r.members[id] || slices.ContainsFunc(groups, func(g string) bool { return r.members[g] }) {
			objs = append(objs, dirObject{id: rid, r: r})
		}
	}
	return objs
}

// dropRoleMember removes a permanently deleted object from every role. The caller holds
// d.mu for writing.
func (d *directory) dropRoleMember(id string) {
	for _, r := range d.roles {
		delete(r.members, id)
	}
}

// roleProperty is one property of the directoryRole resource.
type roleProperty struct {
	name  string
	value func(b []byte, r *directoryRole) []byte
}

// roleProps lists the directoryRole properties in the order Graph returns them.
var roleProps, rolePropsByName = func() ([]*roleProperty, map[string]*roleProperty) {
	str := func(get func(*directoryRole) string) func([]byte, *directoryRole) []byte {
		return func(b []byte, r *directoryRole) []byte { return appendNullableString(b, get(r)) }
	}
	props := []*roleProperty{
		{"id", str(func(r *directoryRole) string { return r.id })},
		{"deletedDateTime", func(b []byte, _ *directoryRole) []byte { return append(b, "null"...) }},
		{"description", str(func(r *directoryRole) string { return r.description })},
		{"displayName", str(func(r *directoryRole) string { return r.displayName })},
		{"roleTemplateId", str(func(r *directoryRole) string { return r.templateID })},
	}
	byName := make(map[string]*roleProperty, len(props))
	for _, p := range props {
		byName[strings.ToLower(p.name)] = p
	}
	return props, byName
}()

func appendRoleProps(b []byte, r *directoryRole, props []*roleProperty) []byte {
	for i, p := range props {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.name)
		b = append(b, ':')
		b = p.value(b, r)
	}
	return b
}

// parseRoleSelect reads $select on /directoryRoles: directoryRole properties only.
func parseRoleSelect(raw string) (dirSelection, *graphError) {
	if strings.TrimSpace(raw) == "" {
		return dirSelection{roles: roleProps}, nil
	}
	var sel dirSelection
	var names []string
	for _, n := range strings.Split(raw, ",") {
		n = strings.TrimSpace(n)
		p := rolePropsByName[strings.ToLower(n)]
		if p == nil {
			return sel, errBadRequest("Could not find a property named '" + n + "' on type 'microsoft.graph.directoryRole'.")
		}
		if !slices.Contains(sel.roles, p) {
			sel.roles = append(sel.roles, p)
			names = append(names, n)
		}
	}
	sel.names = strings.Join(names, ",")
	return sel, nil
}

// roleTemplateEq is the one filter the lifecycle tools need on roles:
// roleTemplateId eq '{templateId}' (property names compare case-insensitively).
var roleTemplateEq = regexp.MustCompile(`^\s*(?i:roleTemplateId)\s+eq\s+'([^']*)'\s*$`)

// listRoles serves GET /v1.0/directoryRoles: every activated role, typed, sorted by id, with
// $filter=roleTemplateId eq '…', $select, and $top/$skiptoken paging like other collections.
// Any other filter is the documented "Unsupported Query.".
func (s *Server) listRoles(x *exchange) *graphError {
	opts, gerr := systemQueryOptions(x.r)
	if gerr != nil {
		return gerr
	}
	top, gerr := parseTop(opts)
	if gerr != nil {
		return gerr
	}
	for _, o := range []string{"$search", "$orderby", "$expand", "$count"} {
		if _, ok := opts[o]; ok {
			return errUnsupportedQuery()
		}
	}
	template := ""
	if f, ok := opts["$filter"]; ok {
		m := roleTemplateEq.FindStringSubmatch(f)
		if m == nil {
			return errUnsupportedQuery()
		}
		template = m[1]
	}
	sel, gerr := parseRoleSelect(opts["$select"])
	if gerr != nil {
		return gerr
	}
	after := ""
	if v, ok := opts["$skiptoken"]; ok {
		var valid bool
		if after, valid = s.tokens.decode(v); !valid {
			return errBadRequest("Invalid Skip Token")
		}
	}
	s.dir.mu.RLock()
	objs := make([]dirObject, 0, len(s.dir.roleOrder))
	for _, id := range s.dir.roleOrder {
		if r := s.dir.roles[id]; template == "" || strings.EqualFold(r.templateID, template) {
			objs = append(objs, dirObject{id: id, r: r})
		}
	}
	s.dir.mu.RUnlock()
	ctx := "directoryRoles"
	if sel.names != "" {
		ctx += "(" + sel.names + ")"
	}
	s.ok(x, s.encodeObjects(x.r, ctx, true, sel, objs, after, top))
	return nil
}

// getRole serves GET /v1.0/directoryRoles/{id} (object id or role template id) and the key
// form directoryRoles(roleTemplateId='…'), which requestSegments rewrites to the former.
func (s *Server) getRole(x *exchange, key string) *graphError {
	sel, gerr := parseRoleSelect(queryValue(x.r, "$select"))
	if gerr != nil {
		return gerr
	}
	s.dir.mu.RLock()
	r := s.dir.roleByKey(key)
	s.dir.mu.RUnlock()
	if r == nil {
		return errNotFound(key)
	}
	ctx := serviceRoot(x.r) + "/$metadata#directoryRoles"
	if sel.names != "" {
		ctx += "(" + sel.names + ")"
	}
	b := append([]byte(`{"@odata.context":`), appendString(nil, ctx+"/$entity")...)
	b = append(b, `,"@odata.type":"#microsoft.graph.directoryRole",`...)
	b = appendRoleProps(b, r, sel.roles)
	s.ok(x, append(b, '}'))
	return nil
}

// listRoleMembers serves GET /v1.0/directoryRoles/{id}/members: the role's direct members,
// users (disabled ones included) and groups, typed, sorted by id and paged like
// /groups/{id}/members.
func (s *Server) listRoleMembers(x *exchange, key string) *graphError {
	top, sel, after, gerr := s.collectionQuery(x.r)
	if gerr != nil {
		return gerr
	}
	s.dir.mu.RLock()
	r := s.dir.roleByKey(key)
	if r == nil {
		s.dir.mu.RUnlock()
		return errNotFound(key)
	}
	objs := make([]dirObject, 0, len(r.members))
	for id := range r.members {
		if u := s.dir.byID[id]; u != nil {
			objs = append(objs, dirObject{id: id, u: u})
		} else if g := s.dir.groups[id]; g != nil {
			objs = append(objs, dirObject{id: id, g: g})
		}
	}
	s.dir.mu.RUnlock()
	slices.SortFunc(objs, func(a, b dirObject) int { return strings.Compare(a.id, b.id) })
	s.ok(x, s.encodeObjects(x.r, "directoryObjects", true, sel, objs, after, top))
	return nil
}

// roleKeySegments rewrites directoryRoles(roleTemplateId='{templateId}') (Graph's alternate
// key for roles) to directoryRoles/{templateId}, and directoryRoles('{id}') to
// directoryRoles/{id}. ok is false when first is neither form.
func roleKeySegments(first string) (segs []string, ok bool, gerr *graphError) {
	const prefix = "directoryroles("
	if len(first) <= len(prefix) || !strings.EqualFold(first[:len(prefix)], prefix) || !strings.HasSuffix(first, ")") {
		return nil, false, nil
	}
	inner := first[len(prefix) : len(first)-1]
	name, lit, found := strings.Cut(inner, "=")
	if !found {
		// directoryRoles('{id}'): the ordinary key in parentheses.
		id, quoted := odataKey(strings.TrimSpace(inner))
		if !quoted || id == "" {
			return nil, true, errSegment(first)
		}
		return []string{"directoryRoles", id}, true, nil
	}
	key, quoted := odataKey(strings.TrimSpace(lit))
	if !strings.EqualFold(strings.TrimSpace(name), "roleTemplateId") || !quoted {
		return nil, true, errSegment(first)
	}
	// GET /directoryRoles/{id} accepts a template id as well, so the rewrite needs no lookup
	// here, and permissions are checked before anything is looked up.
	return []string{"directoryRoles", key}, true, nil
}
