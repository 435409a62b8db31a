package graphemu

import (
	"net/http"
	"strings"
	"sync/atomic"
)

// route is one endpoint: a method, a path pattern below /v1.0 ("{name}" matches one segment
// that does not start with "$"), the permissions it needs (any one of them; nil for reads any
// Graph token may make) and the handler, which gets the pattern's parameters in order.
type route struct {
	method  string
	pattern string
	segs    []string
	perms   []string
	handle  func(x *exchange, p []string) *graphError
	calls   *atomic.Int64 // this endpoint's counter (Calls)
}

// Permissions that allow writes (application roles or delegated scopes). Directory.ReadWrite.All
// covers users and groups; the narrower ones follow the least-privilege table of each API
// page (NOTES §1.2 [whats-new], §1.6, §1.7, §1.10, §1.12).
var (
	permUserWrite    = []string{"User.ReadWrite.All", "Directory.ReadWrite.All"}
	permUserDelete   = []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "User.DeleteRestore.All"}
	permUserRevoke   = []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "User.RevokeSessions.All"}
	permLicense      = []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "LicenseAssignment.ReadWrite.All"}
	permGroupMembers = []string{"Group.ReadWrite.All", "GroupMember.ReadWrite.All", "Directory.ReadWrite.All"}
)

func (s *Server) routeTable() []route {
	rs := []route{
		{method: "GET", pattern: "/users", handle: func(x *exchange, _ []string) *graphError { return s.listUsers(x) }},
		{method: "POST", pattern: "/users", perms: permUserWrite, handle: func(x *exchange, _ []string) *graphError { return s.createUser(x) }},
		{method: "GET", pattern: "/users/delta", handle: func(x *exchange, _ []string) *graphError { return s.usersDelta(x) }},
		{method: "GET", pattern: "/users/$count", handle: func(x *exchange, _ []string) *graphError { return s.countUsers(x) }},
		{method: "GET", pattern: "/users/{id}", handle: func(x *exchange, p []string) *graphError { return s.getUser(x, p[0]) }},
		{method: "PATCH", pattern: "/users/{id}", perms: permUserWrite, handle: func(x *exchange, p []string) *graphError { return s.patchUser(x, p[0]) }},
		{method: "DELETE", pattern: "/users/{id}", perms: permUserDelete, handle: func(x *exchange, p []string) *graphError { return s.deleteUser(x, p[0]) }},
		{method: "POST", pattern: "/users/{id}/revokeSignInSessions", perms: permUserRevoke, handle: func(x *exchange, p []string) *graphError { return s.revokeSessions(x, p[0]) }},
		{method: "POST", pattern: "/users/{id}/assignLicense", perms: permLicense, handle: func(x *exchange, p []string) *graphError { return s.assignLicense(x, p[0]) }},
		{method: "GET", pattern: "/users/{id}/memberOf", handle: func(x *exchange, p []string) *graphError { return s.memberOf(x, p[0], false) }},
		{method: "GET", pattern: "/users/{id}/transitiveMemberOf", handle: func(x *exchange, p []string) *graphError { return s.memberOf(x, p[0], true) }},
		{method: "GET", pattern: "/users/{id}/manager", handle: func(x *exchange, p []string) *graphError { return s.getManager(x, p[0]) }},
		{method: "PUT", pattern: "/users/{id}/manager/$ref", perms: permUserWrite, handle: func(x *exchange, p []string) *graphError { return s.putManager(x, p[0]) }},
		{method: "DELETE", pattern: "/users/{id}/manager/$ref", perms: permUserWrite, handle: func(x *exchange, p []string) *graphError { return s.deleteManager(x, p[0]) }},
		{method: "GET", pattern: "/groups", handle: func(x *exchange, _ []string) *graphError { return s.listGroups(x) }},
		{method: "GET", pattern: "/groups/{id}", handle: func(x *exchange, p []string) *graphError { return s.getGroup(x, p[0]) }},
		{method: "GET", pattern: "/groups/{id}/members", handle: func(x *exchange, p []string) *graphError { return s.listMembers(x, p[0]) }},
		{method: "POST", pattern: "/groups/{id}/members/$ref", perms: permGroupMembers, handle: func(x *exchange, p []string) *graphError { return s.addMember(x, p[0]) }},
		{method: "DELETE", pattern: "/groups/{id}/members/{memberId}/$ref", perms: permGroupMembers, handle: func(x *exchange, p []string) *graphError { return s.removeMember(x, p[0], p[1]) }},
		{method: "GET", pattern: "/directoryRoles", perms: permDirectoryRead, handle: func(x *exchange, _ []string) *graphError { return s.listRoles(x) }},
		{method: "GET", pattern: "/directoryRoles/{id}", perms: permDirectoryRead, handle: func(x *exchange, p []string) *graphError { return s.getRole(x, p[0]) }},
		{method: "GET", pattern: "/directoryRoles/{id}/members", perms: permDirectoryRead, handle: func(x *exchange, p []string) *graphError { return s.listRoleMembers(x, p[0]) }},
		{method: "GET", pattern: "/subscribedSkus", handle: func(x *exchange, _ []string) *graphError { return s.listSkus(x) }},
		{method: "GET", pattern: "/directory/deletedItems/microsoft.graph.user", handle: func(x *exchange, _ []string) *graphError { return s.listDeleted(x) }},
		{method: "GET", pattern: "/directory/deletedItems/{id}", handle: func(x *exchange, p []string) *graphError { return s.getDeleted(x, p[0]) }},
		{method: "POST", pattern: "/directory/deletedItems/{id}/restore", perms: permUserDelete, handle: func(x *exchange, p []string) *graphError { return s.restoreDeleted(x, p[0]) }},
		{method: "DELETE", pattern: "/directory/deletedItems/{id}", perms: permUserDelete, handle: func(x *exchange, p []string) *graphError { return s.purgeDeleted(x, p[0]) }},
		{method: "POST", pattern: "/$batch", handle: func(x *exchange, _ []string) *graphError { return s.batch(x) }},
	}
	for i := range rs {
		rs[i].segs = strings.Split(strings.TrimPrefix(rs[i].pattern, "/"), "/")
	}
	return rs
}

// Calls reports how many requests reached the handler of one endpoint: method is the HTTP
// method, pathPattern a pattern of the route table exactly as written there, e.g. "/users/{id}",
// "/groups/{id}/members/$ref", "/$batch". Requests that failed authentication or routing are
// not counted; $batch items are counted under their own endpoint, except items answered by
// BatchItemHook (they never ran), so tests can check that a retried write ran exactly once.
// An unknown pattern reports 0.
func (s *Server) Calls(method, pathPattern string) int {
	c := s.calls[strings.ToUpper(method)+" "+pathPattern]
	if c == nil {
		return 0
	}
	return int(c.Load())
}

// route dispatches on the path below /v1.0. Path segments are unescaped one by one so that a
// guest UPN's %23EXT%23 becomes #EXT# (NOTES §1.2) without an escaped "/" splitting a segment.
func (s *Server) route(x *exchange) *graphError {
	segs, gerr := s.requestSegments(x.r)
	if gerr != nil {
		return gerr
	}
	best, methodMismatch := 0, false
	for i := range s.routes {
		rt := &s.routes[i]
		n := rt.match(segs)
		if n < len(segs) || len(rt.segs) != len(segs) {
			best = max(best, n)
			continue
		}
		if rt.method != x.r.Method {
			methodMismatch = true
			continue
		}
		rt.calls.Add(1)
		if rt.perms != nil && !granted(x, rt.perms) {
			return errAccessDenied()
		}
		return rt.handle(x, rt.params(segs))
	}
	if methodMismatch {
		return errMethodNotAllowed()
	}
	return errSegment(segs[min(best, len(segs)-1)])
}

// requestSegments returns the path below /v1.0, with users('key') (the form for UPNs that
// start with $, NOTES §1.2) rewritten to users/key, and directoryRoles(roleTemplateId='…')
// to directoryRoles/{templateId} (directoryroles.go).
func (s *Server) requestSegments(r *http.Request) ([]string, *graphError) {
	segs, err := pathSegments(r.URL.EscapedPath())
	if err != nil || len(segs) == 0 || segs[0] == "" {
		return nil, errSegment(strings.TrimPrefix(r.URL.Path, "/"))
	}
	if segs[0] != "v1.0" {
		return nil, newError(http.StatusBadRequest, "BadRequest", "Invalid version: "+segs[0])
	}
	segs = segs[1:]
	if len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1] // /v1.0/users/ is /v1.0/users
	}
	if len(segs) == 0 {
		return nil, errSegment("v1.0")
	}
	if first := segs[0]; strings.HasPrefix(first, "users(") && strings.HasSuffix(first, ")") {
		key, ok := odataKey(first[len("users(") : len(first)-1])
		if !ok {
			return nil, errSegment(first)
		}
		segs = append([]string{"users", key}, segs[1:]...)
	}
	if len(segs) == 2 && strings.EqualFold(segs[0], "users") && isDeltaSegment(segs[1]) {
		segs = []string{"users", "delta"} // delta.go: /users/delta(), /users/microsoft.graph.delta
	}
	if rs, ok, gerr := roleKeySegments(segs[0]); gerr != nil {
		return nil, gerr
	} else if ok {
		segs = append(rs, segs[1:]...)
	}
	return segs, nil
}

// match returns how many leading segments match the pattern. Literal segments compare
// case-insensitively, as OData segments do (deletedItems, deleteditems); a {parameter} takes
// any segment that does not start with "$".
func (rt *route) match(segs []string) int {
	for i, p := range rt.segs {
		switch {
		case i >= len(segs):
			return i
		case p[0] == '{':
			if segs[i] == "" || segs[i][0] == '$' {
				return i
			}
		case !strings.EqualFold(p, segs[i]):
			return i
		}
	}
	return len(rt.segs)
}

// params returns the values of the pattern's parameters in a fully matched path.
func (rt *route) params(segs []string) []string {
	var ps []string
	for i, p := range rt.segs {
		if p[0] == '{' {
			ps = append(ps, segs[i])
		}
	}
	return ps
}

// granted reports whether the token carries one of perms as an application role or a
// delegated scope.
func granted(x *exchange, perms []string) bool {
	for _, p := range perms {
		for _, r := range x.claims.Roles {
			if strings.EqualFold(r, p) {
				return true
			}
		}
		for _, sc := range strings.Fields(x.claims.Scope) {
			if strings.EqualFold(sc, p) {
				return true
			}
		}
	}
	return false
}
