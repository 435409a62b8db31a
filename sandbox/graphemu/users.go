package graphemu

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

// listQuery is a parsed GET /users query.
type listQuery struct {
	top   int
	sel   selection
	match func(*user) bool // nil: every user
	after string           // position key from $skiptoken; "" for the first page
	count bool             // add @odata.count (first page only, NOTES §1.1 [paging])
}

// listUsers serves GET /v1.0/users (NOTES §1.1). Soft-deleted users are not listed.
func (s *Server) listUsers(x *exchange) *graphError {
	q, gerr := s.parseListQuery(x.r)
	if gerr != nil {
		return gerr
	}
	page, more := s.dir.page(q.after, q.top, q.match)
	count := -1
	if q.count {
		count = s.dir.count(q.match)
	}
	s.ok(x, s.encodeList(x.r, q, page, more, count))
	return nil
}

// getUser serves GET /v1.0/users/{id | userPrincipalName} (NOTES §1.2).
func (s *Server) getUser(x *exchange, key string) *graphError {
	sel, gerr := s.users.parseSelect(queryValue(x.r, "$select"), false)
	if gerr != nil {
		return gerr
	}
	var u *user
	if isGUID(key) {
		u = s.dir.userByID(key)
	} else {
		u = s.dir.userByUPN(key)
	}
	if u == nil {
		return userNotFound(key)
	}
	ctx := serviceRoot(x.r) + "/$metadata#users"
	if sel.names != "" {
		ctx += "(" + sel.names + ")"
	}
	s.ok(x, entityJSON(ctx+"/$entity", "", u, sel.props))
	return nil
}

// userEntity renders u as a single entity of the users set, as create and assignLicense
// answer (samples/user-create-response.json).
func (s *Server) userEntity(x *exchange, u *user, props []*property) []byte {
	return entityJSON(serviceRoot(x.r)+"/$metadata#users/$entity", "", u, props)
}

// entityJSON writes {"@odata.context":ctx[,"@odata.type":typ],props…}.
func entityJSON(ctx, typ string, u *user, props []*property) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, ctx)
	if typ != "" {
		b = append(b, `,"@odata.type":`...)
		b = appendString(b, typ)
	}
	b = append(b, ',')
	b = appendProps(b, u, props)
	return append(b, '}')
}

// countUsers serves GET /v1.0/users/$count: text/plain, and only as an advanced query
// (NOTES §1.1 [aq], samples/error-count-without-consistencylevel.json).
func (s *Server) countUsers(x *exchange) *graphError {
	if !eventual(x.r) {
		return errBadRequest("$count is not currently supported.")
	}
	opts, gerr := systemQueryOptions(x.r)
	if gerr != nil {
		return gerr
	}
	match, gerr := s.matcher(opts, true, true)
	if gerr != nil {
		return gerr
	}
	s.plainText(x, strconv.Itoa(s.dir.count(match)))
	return nil
}

// revokeSessions serves POST /v1.0/users/{id|upn}/revokeSignInSessions with the documented
// 200 {"value": true} (NOTES §1.6; clients must also accept the intended 204), and moves the
// user's signInSessionsValidFromDateTime to now.
func (s *Server) revokeSessions(x *exchange, key string) *graphError {
	now := s.now().UTC()
	s.dir.mu.Lock()
	cur := s.dir.lookup(key)
	if cur == nil {
		s.dir.mu.Unlock()
		return userNotFound(key)
	}
	u := *cur
	u.signInSessionsValidFrom = now.Truncate(time.Second)
	s.dir.insert(&u)
	s.dir.logChange(u.id, objectUser, kindUpsert, now)
	s.dir.mu.Unlock()
	s.ok(x, []byte(`{"@odata.context":"`+serviceRoot(x.r)+`/$metadata#Edm.Boolean","value":true}`))
	return nil
}

// SignInSessionsValidFrom reports when the user's sign-in sessions were last revoked (zero if
// never), and whether the user exists (live or deleted). For tests of offboarding flows.
func (s *Server) SignInSessionsValidFrom(id string) (time.Time, bool) {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	u := s.dir.byID[strings.ToLower(id)]
	if u == nil {
		u = s.dir.deleted[strings.ToLower(id)]
	}
	if u == nil {
		return time.Time{}, false
	}
	return u.signInSessionsValidFrom, true
}

func eventual(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual")
}

func newObjectID() string { return token.NewGUID() }

// parseListQuery reads the system query options of /users in a fixed order, so a request
// with several problems always reports the same one.
func (s *Server) parseListQuery(r *http.Request) (listQuery, *graphError) {
	opts, gerr := systemQueryOptions(r)
	if gerr != nil {
		return listQuery{}, gerr
	}
	q := listQuery{}
	if q.top, gerr = parseTop(opts); gerr != nil {
		return q, gerr
	}
	if q.sel, gerr = s.users.parseSelect(opts["$select"], true); gerr != nil {
		return q, gerr
	}
	for _, o := range []string{"$orderby", "$expand"} {
		if _, ok := opts[o]; ok {
			return q, errUnsupportedQuery() // not emulated
		}
	}
	// $count=true without ConsistencyLevel is silently ignored by the service (NOTES §1.1 [aq]).
	advanced := eventual(r) && strings.EqualFold(opts["$count"], "true")
	q.count = advanced
	if q.match, gerr = s.matcher(opts, advanced, eventual(r)); gerr != nil {
		return q, gerr
	}
	if v, ok := opts["$skiptoken"]; ok {
		after, valid := s.tokens.decode(v)
		if !valid {
			return q, errBadRequest("Invalid Skip Token")
		}
		q.after, q.count = after, false
	}
	return q, nil
}

// parseTop reads $top: default 100, at most 999 (NOTES §1.1); $skip is refused.
func parseTop(opts map[string]string) (int, *graphError) {
	if _, ok := opts["$skip"]; ok {
		return 0, errBadRequest("'$skip' is not supported by the service.")
	}
	v, ok := opts["$top"]
	if !ok {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 999 {
		// samples/error-top-too-large.OBSERVED.txt
		return 0, newError(http.StatusBadRequest, "Request_UnsupportedQuery",
			"Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
	}
	return n, nil
}

// matcher compiles $search and $filter into one predicate (nil: every user). advanced means
// the request is an advanced query (ConsistencyLevel: eventual and $count); $search needs only
// the header (NOTES §1.1 [aq]).
func (s *Server) matcher(opts map[string]string, advanced, eventual bool) (func(*user) bool, *graphError) {
	var search, filter func(*user) bool
	if v, ok := opts["$search"]; ok {
		if !eventual {
			// samples/error-search-without-consistencylevel.json
			return nil, newError(http.StatusBadRequest, "Request_UnsupportedQuery", "Request with $search query parameter only "+
				"works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
		}
		var gerr *graphError
		if search, gerr = parseSearch(v); gerr != nil {
			return nil, gerr
		}
	}
	if v, ok := opts["$filter"]; ok {
		var gerr *graphError
		if filter, gerr = s.filters.parse(v, advanced); gerr != nil {
			return nil, gerr
		}
	}
	switch {
	case search == nil:
		return filter, nil
	case filter == nil:
		return search, nil
	}
	return func(u *user) bool { return search(u) && filter(u) }, nil
}

// systemQueryOptions returns the $-prefixed query options, keyed by lower-cased name. Other
// parameters are ignored; an unknown $ option is rejected as the service does.
func systemQueryOptions(r *http.Request) (map[string]string, *graphError) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errBadRequest("The query specified in the URI is not valid.")
	}
	opts := make(map[string]string, len(vals))
	for k, v := range vals {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "$") {
			continue
		}
		switch lk {
		case "$top", "$select", "$skiptoken", "$skip", "$filter", "$count", "$search", "$orderby", "$expand":
			opts[lk] = v[0]
		default:
			return nil, errBadRequest("Unrecognized query argument specified: '" + k + "'.")
		}
	}
	return opts, nil
}

func queryValue(r *http.Request, name string) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// encodeList renders a /users page like samples/users-list.json, with @odata.nextLink before
// value when more users follow.
func (s *Server) encodeList(r *http.Request, q listQuery, page []*user, more bool, count int) []byte {
	return s.encodeUserPage(r, "users", q, page, more, count)
}

// encodeUserPage renders a page of users for the entity set named in @odata.context.
func (s *Server) encodeUserPage(r *http.Request, set string, q listQuery, page []*user, more bool, count int) []byte {
	root := serviceRoot(r)
	ctx := root + "/$metadata#" + set
	if q.sel.names != "" {
		ctx += "(" + q.sel.names + ")"
	}
	b := make([]byte, 0, 256+len(page)*64*len(q.sel.props))
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, ctx)
	if count >= 0 {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(count), 10)
	}
	if more && len(page) > 0 {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, root+strings.TrimPrefix(r.URL.Path, "/v1.0")+"?"+
			nextQuery(r.URL.RawQuery, s.tokens.encode(strings.ToLower(page[len(page)-1].id))))
	}
	// value is always an array, never null: the Graph SDK page iterator stops on a nil value.
	b = append(b, `,"value":[`...)
	for i, u := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendProps(b, u, q.sel.props)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// nextQuery keeps the client's query options exactly as sent (NOTES §1.1: the nextLink carries
// the original query) and replaces $skiptoken.
func nextQuery(raw, tok string) string {
	var parts []string
	for _, p := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); p == "" || (err == nil && strings.EqualFold(dk, "$skiptoken")) {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(append(parts, "$skiptoken="+url.QueryEscape(tok)), "&")
}

// isGUID reports whether s has the 8-4-4-4-12 hex form of an object id.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
