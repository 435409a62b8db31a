package graphemu

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
)

// group is the emulator's copy of one Entra ID group. Its properties never change after
// seeding; only members does, under directory.mu.
type group struct {
	id, displayName, description, mailNickname, mail string
	groupTypes                                       []string
	mailEnabled, securityEnabled                     bool
	isAssignableToRole, onPremisesSyncEnabled        bool
	membershipRule                                   string
	visibility                                       string
	createdDateTime                                  time.Time
	// rule is the compiled membershipRule of a dynamic group (nil otherwise): membership is
	// computed from user attributes on every read, as the service re-evaluates it.
	rule    func(*user) bool
	members map[string]bool // lower-cased ids of member users and groups (assigned membership)
}

func groupFromDemo(g demo.Group, rules *filterSchema) *group {
	gr := &group{
		id: g.ID, displayName: g.DisplayName, description: g.Description, mailNickname: g.MailNickname, mail: g.Mail,
		groupTypes: clone(g.GroupTypes), mailEnabled: g.MailEnabled, securityEnabled: g.SecurityEnabled,
		isAssignableToRole: g.IsAssignableToRole, onPremisesSyncEnabled: g.OnPremisesSyncEnabled,
		membershipRule: g.MembershipRule, visibility: g.Visibility, createdDateTime: g.CreatedDateTime.UTC(),
		members: make(map[string]bool, len(g.MemberIDs)),
	}
	for _, id := range g.MemberIDs {
		gr.members[strings.ToLower(id)] = true
	}
	if gr.dynamic() {
		gr.rule = compileRule(g.MembershipRule, rules)
	}
	return gr
}

func (g *group) dynamic() bool { return slices.Contains(g.groupTypes, "DynamicMembership") }

// has reports whether the object with lower-cased id (u when it is a live user) is a direct
// member. The caller holds directory.mu.
func (g *group) has(id string, u *user) bool {
	if g.rule != nil {
		return u != nil && g.rule(u)
	}
	return g.members[id]
}

// compileRule compiles the subset of the dynamic membership rule language the demo uses:
// clauses (user.<property> -eq|-ne|-startsWith|-contains "value") or (user.<p> -eq true),
// joined by -and / -or (-and binds tighter). A rule it cannot read matches nobody, as a
// paused rule does.
func compileRule(rule string, fields *filterSchema) func(*user) bool {
	var alts [][]func(*user) bool
	for _, alt := range splitFold(rule, " -or ") {
		var all []func(*user) bool
		for _, c := range splitFold(alt, " -and ") {
			f := ruleClause(strings.Trim(strings.TrimSpace(c), "()"), fields)
			if f == nil {
				return func(*user) bool { return false }
			}
			all = append(all, f)
		}
		alts = append(alts, all)
	}
	return func(u *user) bool {
		for _, all := range alts {
			if !slices.ContainsFunc(all, func(f func(*user) bool) bool { return !f(u) }) {
				return true
			}
		}
		return false
	}
}

func ruleClause(c string, fields *filterSchema) func(*user) bool {
	parts := strings.SplitN(c, " ", 3)
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "user.") {
		return nil
	}
	f, ok := fields.fields[strings.ToLower(strings.TrimPrefix(parts[0], "user."))]
	if !ok || f.get == nil {
		return nil
	}
	v := strings.Trim(strings.TrimSpace(parts[2]), `"`)
	switch strings.ToLower(parts[1]) {
	case "-eq":
		return func(u *user) bool { return strings.EqualFold(f.get(u), v) }
	case "-ne":
		return func(u *user) bool { return !strings.EqualFold(f.get(u), v) }
	case "-startswith":
		return func(u *user) bool { return hasPrefixFold(f.get(u), v) }
	case "-contains":
		return func(u *user) bool { return strings.Contains(strings.ToLower(f.get(u)), strings.ToLower(v)) }
	}
	return nil
}

// splitFold splits s around sep, ignoring case.
func splitFold(s, sep string) []string {
	var out []string
	for {
		i := strings.Index(strings.ToLower(s), sep)
		if i < 0 {
			return append(out, s)
		}
		out, s = append(out, s[:i]), s[i+len(sep):]
	}
}

// groupProperty is one property of the group resource.
type groupProperty struct {
	name  string
	value func(b []byte, g *group) []byte
}

// groupSchema lists the group properties in the order GET /groups returns them.
type groupSchema struct {
	props  []*groupProperty
	byName map[string]*groupProperty
}

func newGroupSchema() *groupSchema {
	str := func(get func(*group) string) func([]byte, *group) []byte {
		return func(b []byte, g *group) []byte { return appendNullableString(b, get(g)) }
	}
	boolean := func(get func(*group) bool) func([]byte, *group) []byte {
		return func(b []byte, g *group) []byte { return appendBool(b, get(g)) }
	}
	lit := func(v string) func([]byte, *group) []byte {
		return func(b []byte, _ *group) []byte { return append(b, v...) }
	}
	props := []groupProperty{
		{"id", str(func(g *group) string { return g.id })},
		{"deletedDateTime", lit("null")},
		{"classification", lit("null")},
		{"createdDateTime", func(b []byte, g *group) []byte { return appendTime(b, g.createdDateTime) }},
		{"description", str(func(g *group) string { return g.description })},
		{"displayName", str(func(g *group) string { return g.displayName })},
		{"expirationDateTime", lit("null")},
		{"groupTypes", func(b []byte, g *group) []byte { return appendStrings(b, g.groupTypes) }},
		{"isAssignableToRole", func(b []byte, g *group) []byte {
			if !g.isAssignableToRole {
				return append(b, "null"...)
			}
			return append(b, "true"...)
		}},
		{"mail", str(func(g *group) string { return g.mail })},
		{"mailEnabled", boolean(func(g *group) bool { return g.mailEnabled })},
		{"mailNickname", str(func(g *group) string { return g.mailNickname })},
		{"membershipRule", str(func(g *group) string { return g.membershipRule })},
		{"membershipRuleProcessingState", str(func(g *group) string {
			if g.dynamic() {
				return "On"
			}
			return ""
		})},
		{"onPremisesSyncEnabled", func(b []byte, g *group) []byte {
			if !g.onPremisesSyncEnabled {
				return append(b, "null"...)
			}
			return append(b, "true"...)
		}},
		{"preferredLanguage", lit("null")},
		{"proxyAddresses", func(b []byte, g *group) []byte {
			if g.mail == "" {
				return append(b, "[]"...)
			}
			return appendStrings(b, []string{"SMTP:" + g.mail})
		}},
		{"renewedDateTime", func(b []byte, g *group) []byte { return appendTime(b, g.createdDateTime) }},
		{"securityEnabled", boolean(func(g *group) bool { return g.securityEnabled })},
		{"securityIdentifier", lit("null")},
		{"visibility", str(func(g *group) string { return g.visibility })},
		{"onPremisesProvisioningErrors", lit("[]")},
	}
	s := &groupSchema{byName: make(map[string]*groupProperty, len(props))}
	for i := range props {
		s.props = append(s.props, &props[i])
		s.byName[strings.ToLower(props[i].name)] = &props[i]
	}
	return s
}

func appendGroupProps(b []byte, g *group, props []*groupProperty) []byte {
	for i, p := range props {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.name)
		b = append(b, ':')
		b = p.value(b, g)
	}
	return b
}

// dirSelection is a $select over directoryObjects: each name must be a user, group or
// directoryRole property; each object shows the selected properties its type has.
type dirSelection struct {
	users  []*property
	groups []*groupProperty
	roles  []*roleProperty
	names  string
}

func (s *Server) parseDirSelect(raw string) (dirSelection, *graphError) {
	if strings.TrimSpace(raw) == "" {
		return dirSelection{users: s.users.defaults, groups: s.groups.props, roles: roleProps}, nil
	}
	var sel dirSelection
	var names []string
	for _, n := range strings.Split(raw, ",") {
		n = strings.TrimSpace(n)
		up, gp, rp := s.users.byName[strings.ToLower(n)], s.groups.byName[strings.ToLower(n)], rolePropsByName[strings.ToLower(n)]
		if up == nil && gp == nil && rp == nil {
			return sel, errBadRequest("Could not find a property named '" + n + "' on type 'microsoft.graph.directoryObject'.")
		}
		if up != nil && !slices.Contains(sel.users, up) {
			if up.singleOnly {
				return sel, errNotImplemented()
			}
			sel.users = append(sel.users, up)
		}
		if gp != nil && !slices.Contains(sel.groups, gp) {
			sel.groups = append(sel.groups, gp)
		}
		if rp != nil && !slices.Contains(sel.roles, rp) {
			sel.roles = append(sel.roles, rp)
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	sel.names = strings.Join(names, ",")
	return sel, nil
}

// dirObject is one member of a directoryObject collection: a user, a group or a
// directory role.
type dirObject struct {
	id string // lower-cased, the paging key
	u  *user
	g  *group
	r  *directoryRole
}

// listGroups serves GET /v1.0/groups: $top (≤ 999), $select and skiptoken paging like users.
func (s *Server) listGroups(x *exchange) *graphError {
	top, sel, after, gerr := s.collectionQuery(x.r, "$filter")
	if gerr != nil {
		return gerr
	}
	match, gerr := groupFilter(queryValue(x.r, "$filter"))
	if gerr != nil {
		return gerr
	}
	s.dir.mu.RLock()
	objs := make([]dirObject, 0, len(s.dir.groupOrder))
	for _, id := range s.dir.groupOrder {
		if g := s.dir.groups[id]; match(g) {
			objs = append(objs, dirObject{id: id, g: g})
		}
	}
	s.dir.mu.RUnlock()
	ctx := "groups"
	if sel.names != "" {
		ctx += "(" + sel.names + ")"
	}
	s.ok(x, s.encodeObjects(x.r, ctx, false, sel, objs, after, top))
	return nil
}

// getGroup serves GET /v1.0/groups/{id}.
func (s *Server) getGroup(x *exchange, id string) *graphError {
	sel, gerr := s.parseDirSelect(queryValue(x.r, "$select"))
	if gerr != nil {
		return gerr
	}
	g := s.groupByID(id)
	if g == nil {
		return errNotFound(id)
	}
	ctx := serviceRoot(x.r) + "/$metadata#groups"
	if sel.names != "" {
		ctx += "(" + sel.names + ")"
	}
	b := append([]byte(`{"@odata.context":`), appendString(nil, ctx+"/$entity")...)
	b = append(b, ',')
	b = appendGroupProps(b, g, sel.groups)
	s.ok(x, append(b, '}'))
	return nil
}

func (s *Server) groupByID(id string) *group {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	return s.dir.groups[strings.ToLower(id)]
}

// collectionQuery reads $top, $select and $skiptoken of a directoryObject collection; other
// options are not emulated there.
// allowed names the query options the caller handles itself (e.g. "$filter" for groups).
func (s *Server) collectionQuery(r *http.Request, allowed ...string) (int, dirSelection, string, *graphError) {
	opts, gerr := systemQueryOptions(r)
	if gerr != nil {
		return 0, dirSelection{}, "", gerr
	}
	top, gerr := parseTop(opts)
	if gerr != nil {
		return 0, dirSelection{}, "", gerr
	}
	for _, o := range []string{"$filter", "$search", "$orderby", "$expand", "$count"} {
		if _, ok := opts[o]; ok && !slices.Contains(allowed, o) {
			return 0, dirSelection{}, "", errUnsupportedQuery()
		}
	}
	sel, gerr := s.parseDirSelect(opts["$select"])
	if gerr != nil {
		return 0, sel, "", gerr
	}
	after := ""
	if v, ok := opts["$skiptoken"]; ok {
		var valid bool
		if after, valid = s.tokens.decode(v); !valid {
			return 0, sel, "", errBadRequest("Invalid Skip Token")
		}
	}
	return top, sel, after, nil
}

// encodeObjects renders one page of objs (sorted by id) after `after`. typed adds
// @odata.type to every item, as directoryObject collections do (samples/memberof-response.json).
func (s *Server) encodeObjects(r *http.Request, ctx string, typed bool, sel dirSelection, objs []dirObject, after string, top int) []byte {
	i, _ := slices.BinarySearchFunc(objs, after, func(o dirObject, id string) int { return strings.Compare(o.id, id) })
	if i < len(objs) && objs[i].id == after {
		i++
	}
	page := objs[i:min(len(objs), i+top)]
	root := serviceRoot(r)
	b := append([]byte(`{"@odata.context":`), appendString(nil, root+"/$metadata#"+ctx)...)
	if i+top < len(objs) && len(page) > 0 {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, root+strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0")+"?"+
			nextQuery(r.URL.RawQuery, s.tokens.encode(page[len(page)-1].id)))
	}
	b = append(b, `,"value":[`...)
	for j, o := range page {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		switch {
		case o.u != nil:
			if typed {
				b = append(b, `"@odata.type":"#microsoft.graph.user"`...)
				if len(sel.users) > 0 {
					b = append(b, ',')
				}
			}
			b = appendProps(b, o.u, sel.users)
		case o.r != nil:
			if typed {
				b = append(b, `"@odata.type":"#microsoft.graph.directoryRole"`...)
				if len(sel.roles) > 0 {
					b = append(b, ',')
				}
			}
			b = appendRoleProps(b, o.r, sel.roles)
		default:
			if typed {
				b = append(b, `"@odata.type":"#microsoft.graph.group"`...)
				if len(sel.groups) > 0 {
					b = append(b, ',')
				}
			}
			b = appendGroupProps(b, o.g, sel.groups)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// listMembers serves GET /v1.0/groups/{id}/members: users and nested groups, typed. A
// dynamic group's members are computed from its rule now.
func (s *Server) listMembers(x *exchange, id string) *graphError {
	top, sel, after, gerr := s.collectionQuery(x.r)
	if gerr != nil {
		return gerr
	}
	s.dir.mu.RLock()
	g := s.dir.groups[strings.ToLower(id)]
	if g == nil {
		s.dir.mu.RUnlock()
		return errNotFound(id)
	}
	objs := s.dir.membersOf(g)
	s.dir.mu.RUnlock()
	s.ok(x, s.encodeObjects(x.r, "directoryObjects", true, sel, objs, after, top))
	return nil
}

// membersOf lists g's live members sorted by id. The caller holds d.mu.
func (d *directory) membersOf(g *group) []dirObject {
	var objs []dirObject
	if g.rule != nil {
		for _, id := range d.order {
			if u := d.byID[id]; g.rule(u) {
				objs = append(objs, dirObject{id: id, u: u})
			}
		}
		return objs
	}
	for id := range g.members {
		if u := d.byID[id]; u != nil {
			objs = append(objs, dirObject{id: id, u: u})
		} else if sub := d.groups[id]; sub != nil {
			objs = append(objs, dirObject{id: id, g: sub})
		}
	}
	slices.SortFunc(objs, func(a, b dirObject) int { return strings.Compare(a.id, b.id) })
	return objs
}

// memberOf serves GET /v1.0/users/{id|upn}/memberOf and /transitiveMemberOf (NOTES §1.8):
// the groups and directory roles the user belongs to directly, or through nested groups
// (and role-assignable groups holding a role) too.
func (s *Server) memberOf(x *exchange, key string, transitive bool) *graphError {
	top, sel, after, gerr := s.collectionQuery(x.r)
	if gerr != nil {
		return gerr
	}
	s.dir.mu.RLock()
	u := s.dir.lookup(key)
	if u == nil {
		s.dir.mu.RUnlock()
		return userNotFound(key)
	}
	ids := s.dir.groupsOf(strings.ToLower(u.id), u, transitive)
	objs := make([]dirObject, 0, len(ids))
	for _, id := range ids {
		objs = append(objs, dirObject{id: id, g: s.dir.groups[id]})
	}
	var via []string // groups through which roles are held: none for direct memberOf
	if transitive {
		via = ids
	}
	objs = append(objs, s.dir.rolesOf(strings.ToLower(u.id), via)...)
	s.dir.mu.RUnlock()
	slices.SortFunc(objs, func(a, b dirObject) int { return strings.Compare(a.id, b.id) })
	s.ok(x, s.encodeObjects(x.r, "directoryObjects", true, sel, objs, after, top))
	return nil
}

// groupsOf returns the lower-cased ids of the groups containing the object, sorted; with
// transitive, also the groups containing those, to any depth (cycles are harmless). The
// caller holds d.mu.
func (d *directory) groupsOf(id string, u *user, transitive bool) []string {
	in := map[string]bool{}
	for _, gid := range d.groupOrder {
		if d.groups[gid].has(id, u) {
			in[gid] = true
		}
	}
	for grew := transitive; grew; {
		grew = false
		for _, gid := range d.groupOrder {
			if in[gid] {
				continue
			}
			for member := range in {
				if d.groups[gid].has(member, nil) {
					in[gid], grew = true, true
					break
				}
			}
		}
	}
	ids := make([]string, 0, len(in))
	for gid := range in {
		ids = append(ids, gid)
	}
	slices.Sort(ids)
	return ids
}

var (
	groupNameEq     = regexp.MustCompile(`^\s*(displayName|mailNickname)\s+eq\s+'((?:[^']|'')*)'\s*$`)
	groupNamePrefix = regexp.MustCompile(`^\s*startswith\(\s*(displayName|mailNickname)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$`)
)

// groupFilter supports the group filters lifecycle tools need: displayName or mailNickname
// eq, and startswith on them (both default-supported on groups). Values compare
// case-insensitively, as Graph does. Anything else is the documented "Unsupported Query."
func groupFilter(expr string) (func(*group) bool, *graphError) {
	if strings.TrimSpace(expr) == "" {
		return func(*group) bool { return true }, nil
	}
	prop := func(g *group, name string) string {
		if name == "mailNickname" {
			return g.mailNickname
		}
		return g.displayName
	}
	if m := groupNameEq.FindStringSubmatch(expr); m != nil {
		v := strings.ReplaceAll(m[2], "''", "'")
		return func(g *group) bool { return strings.EqualFold(prop(g, m[1]), v) }, nil
	}
	if m := groupNamePrefix.FindStringSubmatch(expr); m != nil {
		v := strings.ReplaceAll(m[2], "''", "'")
		return func(g *group) bool { return hasPrefixFold(prop(g, m[1]), v) }, nil
	}
	return nil, errUnsupportedQuery()
}
