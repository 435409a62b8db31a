package graphemu

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
		if u = s.dir.userByID(key); u == nil {
			return errNotFound(key)
		}
	} else if u = s.dir.userByUPN(key); u == nil {
		// Addressed by UPN the service quotes the path (NOTES §1.2).
		return errNotFound("/users/" + key)
	}
	ctx := serviceRoot(x.r) + "/$metadata#users"
	if sel.names != "" {
		ctx += "(" + sel.names + ")"
	}
	b := make([]byte, 0, 1024)
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, ctx+"/$entity")
	b = append(b, ',')
	b = appendProps(b, u, sel.props)
	s.ok(x, append(b, '}'))
	return nil
}

// parseListQuery reads the system query options of /users in a fixed order, so a request
// with several problems always reports the same one.
func (s *Server) parseListQuery(r *http.Request) (listQuery, *graphError) {
	opts, gerr := systemQueryOptions(r)
	if gerr != nil {
		return listQuery{}, gerr
	}
	eventual := strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual")
	q := listQuery{top: 100} // default page size (NOTES §1.1)
	if _, ok := opts["$skip"]; ok {
		return q, errBadRequest("'$skip' is not supported by the service.")
	}
	if v, ok := opts["$top"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			// samples/error-top-too-large.OBSERVED.txt
			return q, newError(http.StatusBadRequest, "Request_UnsupportedQuery",
				"Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
		}
		q.top = n
	}
	if q.sel, gerr = s.users.parseSelect(opts["$select"], true); gerr != nil {
		return q, gerr
	}
	if _, ok := opts["$search"]; ok {
		if !eventual {
			// samples/error-search-without-consistencylevel.json
			return q, newError(http.StatusBadRequest, "Request_UnsupportedQuery", "Request with $search query parameter only "+
				"works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
		}
		return q, errUnsupportedQuery() // $search is added with the advanced-query issue
	}
	for _, o := range []string{"$orderby", "$expand"} {
		if _, ok := opts[o]; ok {
			return q, errUnsupportedQuery() // added with the advanced-query issue
		}
	}
	// $count=true without ConsistencyLevel is silently ignored by the service (NOTES §1.1 [aq]).
	advanced := eventual && strings.EqualFold(opts["$count"], "true")
	q.count = advanced
	if v, ok := opts["$filter"]; ok {
		if q.match, gerr = s.filters.parse(v, advanced); gerr != nil {
			return q, gerr
		}
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
	root := serviceRoot(r)
	ctx := root + "/$metadata#users"
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
		b = appendString(b, root+"/users?"+nextQuery(r.URL.RawQuery, s.tokens.encode(strings.ToLower(page[len(page)-1].id))))
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
