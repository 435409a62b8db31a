// Package graphemu emulates the Microsoft Graph v1.0 endpoints msidm uses, starting with
// users: GET /v1.0/users (paging, $top, $select, simple $filter) and GET /v1.0/users/{id|upn}.
// Responses match the reference samples byte-for-byte in shape: property names and order,
// nulls, @odata annotations, headers and the error envelope
// (/work/shared/reference/graph/NOTES.md §1.1, §1.2, §3.1).
//
// State lives in a directory (directory.go); each resource area has its own file (users.go),
// so groups, licences, delta and fault injection can be added beside it.
package graphemu

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// Options configures a Server.
type Options struct {
	Signer *token.Signer
	Tenant *demo.Tenant
	Logger *slog.Logger // may be nil
}

// Server is the Graph emulator. It is an http.Handler.
type Server struct {
	signer   *token.Signer
	log      *slog.Logger
	dir      *directory
	users    *userSchema
	filters  *filterSchema
	tokens   skipTokens
	verified tokenCache
}

// New seeds a Server with a deep copy of the tenant's people.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	users := newUserSchema()
	return &Server{
		signer:  opts.Signer,
		log:     opts.Logger,
		dir:     newDirectory(opts.Tenant),
		users:   users,
		filters: newFilterSchema(users),
		tokens:  newSkipTokens(),
	}
}

// exchange is one request/response with its correlation ids.
type exchange struct {
	w               http.ResponseWriter
	r               *http.Request
	requestID       string
	clientRequestID string
}

// ServeHTTP authenticates every request, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{w: w, r: r, requestID: token.NewGUID(), clientRequestID: r.Header.Get("client-request-id")}
	if x.clientRequestID == "" {
		// Without a client-request-id the service reports its own request-id in both places.
		x.clientRequestID = x.requestID
	}
	if _, gerr := s.authenticate(r); gerr != nil {
		s.fail(x, gerr)
		return
	}
	if gerr := s.route(x); gerr != nil {
		s.fail(x, gerr)
	}
}

// route dispatches on the path below /v1.0. Path segments are unescaped one by one so that a
// guest UPN's %23EXT%23 becomes #EXT# (NOTES §1.2) without an escaped "/" splitting a segment.
func (s *Server) route(x *exchange) *graphError {
	segs, err := pathSegments(x.r.URL.EscapedPath())
	if err != nil || len(segs) == 0 || segs[0] == "" {
		return errSegment(strings.TrimPrefix(x.r.URL.Path, "/"))
	}
	if segs[0] != "v1.0" {
		return newError(http.StatusBadRequest, "BadRequest", "Invalid version: "+segs[0])
	}
	segs = segs[1:]
	if len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1] // /v1.0/users/ is /v1.0/users
	}
	if len(segs) == 0 {
		return errSegment("v1.0")
	}
	switch {
	case segs[0] == "users" && len(segs) == 1:
		return s.onlyGET(x, s.listUsers)
	case segs[0] == "users" && len(segs) == 2 && strings.HasPrefix(segs[1], "$"):
		// A UPN that starts with $ must be addressed as users('$x@y') (NOTES §1.2).
		return errSegment(segs[1])
	case segs[0] == "users" && len(segs) == 2:
		return s.onlyGET(x, func(x *exchange) *graphError { return s.getUser(x, segs[1]) })
	case strings.HasPrefix(segs[0], "users(") && strings.HasSuffix(segs[0], ")") && len(segs) == 1:
		key, ok := odataKey(segs[0][len("users(") : len(segs[0])-1])
		if !ok {
			return errSegment(segs[0])
		}
		return s.onlyGET(x, func(x *exchange) *graphError { return s.getUser(x, key) })
	case segs[0] == "users":
		return errSegment(segs[2])
	default:
		return errSegment(segs[0])
	}
}

func (s *Server) onlyGET(x *exchange, h func(*exchange) *graphError) *graphError {
	if x.r.Method != http.MethodGet {
		return errMethodNotAllowed()
	}
	return h(x)
}

func pathSegments(escaped string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		v, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = v
	}
	return parts, nil
}

// odataKey reads the key of users('key'): a quoted OData string literal with ” for '. This
// form addresses UPNs that start with $ (NOTES §1.2).
func odataKey(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	return strings.ReplaceAll(lit[1:len(lit)-1], "''", "'"), true
}

// ok writes a successful OData body with the headers of NOTES §1 [auth-svc].
func (s *Server) ok(x *exchange, body []byte) {
	h := x.w.Header()
	h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	h.Set("request-id", x.requestID)
	h.Set("client-request-id", x.clientRequestID)
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(body)
}

// fail writes the error envelope. Content-Type must be application/json or the Graph SDK
// cannot parse it (NOTES §3.1).
func (s *Server) fail(x *exchange, e *graphError) {
	h := x.w.Header()
	for k, v := range e.header {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	h.Set("request-id", x.requestID)
	h.Set("client-request-id", x.clientRequestID)
	h.Set("Cache-Control", "no-cache")
	x.w.WriteHeader(e.status)
	_, _ = x.w.Write(errorJSON(e, x.requestID, x.clientRequestID, s.signer.Now()))
	s.log.Info("graph request failed", "method", x.r.Method, "path", x.r.URL.Path, "status", e.status, "code", e.code,
		"request_id", x.requestID)
}

// serviceRoot is the absolute URL of /v1.0 as the client addressed it, for @odata.context and
// @odata.nextLink (clients follow nextLink verbatim, NOTES §1.1 [paging]).
func serviceRoot(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/v1.0"
}
