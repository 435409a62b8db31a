// Package graphemu emulates the Microsoft Graph v1.0 endpoints msidm uses for the user
// lifecycle: users (list with $filter/$search/$count, get, create, update, delete), the
// deleted-items container, revokeSignInSessions, licences (subscribedSkus, assignLicense),
// groups and their members, directory roles and their members, memberOf/transitiveMemberOf,
// the manager reference, JSON batching and /users/delta (delta.go). Responses match the reference samples in shape: property names and order, nulls,
// @odata annotations, headers and the error envelope
// (/work/shared/reference/graph/NOTES.md §1, §3.1, §4).
//
// State lives in a directory (directory.go); each resource area has its own file (users.go,
// userwrite.go, deleted.go, licenses.go, groups.go, directoryroles.go, manager.go, batch.go), routes are one
// table (routes.go), and every mutation is recorded in one ordered change log
// (changelog.go) for delta.
package graphemu

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// Options configures a Server.
type Options struct {
	Signer *token.Signer
	Tenant *demo.Tenant
	Logger *slog.Logger // may be nil
	// Now is the directory's clock: createdDateTime, deletedDateTime, the 30-day retention of
	// deleted items and the sync-revert delay run on it. nil: the signer's clock. Tests inject
	// a clock here to expire deleted items without also expiring their tokens.
	Now func() time.Time
}

// Server is the Graph emulator. It is an http.Handler.
type Server struct {
	signer   *token.Signer
	log      *slog.Logger
	now      func() time.Time
	dir      *directory
	users    *userSchema
	groups   *groupSchema
	filters  *filterSchema
	tokens   skipTokens
	verified tokenCache
	domains  []string // verified domains for userPrincipalName (NOTES §1.3)
	routes   []route
	calls    map[string]*atomic.Int64 // key: method + " " + pattern
	// syncDelay is the sync-revert delay in ns (SetSyncDelay).
	syncDelay atomic.Int64
	// delta holds /users/delta settings and its cache of incremental rounds (delta.go).
	delta deltaState

	// BatchItemHook, when set, is asked about every $batch item before it is dispatched, with
	// the item's method and url as sent. Returning inject=true answers the item with status
	// (and a Retry-After item header when retryAfter is not empty) without running it, so a
	// fault layer can throttle single items (NOTES §3.2, §4). Set it before serving requests.
	BatchItemHook func(method, url string) (status int, retryAfter string, inject bool)
}

// New seeds a Server with a deep copy of the tenant's people, SKUs and groups.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = opts.Signer.Now
	}
	plans := make(map[string][]demo.ServicePlan, len(opts.Tenant.SKUs))
	for _, k := range opts.Tenant.SKUs {
		plans[strings.ToLower(k.ID)] = slices.Clone(k.ServicePlans)
	}
	users := newUserSchema(plans)
	filters := newFilterSchema(users)
	s := &Server{
		signer:  opts.Signer,
		log:     opts.Logger,
		now:     opts.Now,
		users:   users,
		groups:  newGroupSchema(),
		filters: filters,
		tokens:  newSkipTokens(),
		domains: []string{strings.ToLower(opts.Tenant.Domain), "contoso.onmicrosoft.example"},
	}
	s.dir = newDirectory(opts.Tenant, opts.Now().UTC(), filters)
	s.syncDelay.Store(int64(defaultSyncDelay))
	s.delta.init()
	s.routes = s.routeTable()
	s.calls = make(map[string]*atomic.Int64, len(s.routes))
	for i := range s.routes {
		s.routes[i].calls = new(atomic.Int64)
		s.calls[s.routes[i].method+" "+s.routes[i].pattern] = s.routes[i].calls
	}
	return s
}

// exchange is one request/response with its correlation ids and the caller's claims.
type exchange struct {
	w               http.ResponseWriter
	r               *http.Request
	requestID       string
	clientRequestID string
	claims          token.Claims
}

func newExchange(w http.ResponseWriter, r *http.Request) *exchange {
	x := &exchange{w: w, r: r, requestID: token.NewGUID(), clientRequestID: r.Header.Get("client-request-id")}
	if x.clientRequestID == "" {
		// Without a client-request-id the service reports its own request-id in both places.
		x.clientRequestID = x.requestID
	}
	return x
}

// ServeHTTP authenticates every request, runs due maintenance, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(newExchange(w, r))
}

func (s *Server) serve(x *exchange) {
	claims, gerr := s.authenticate(x.r)
	if gerr != nil {
		s.fail(x, gerr)
		return
	}
	x.claims = claims
	s.dir.maintain(s.now())
	if gerr := s.route(x); gerr != nil {
		s.fail(x, gerr)
	}
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
func (s *Server) ok(x *exchange, body []byte) { s.reply(x, http.StatusOK, body) }

// created answers a create with 201 and the new object (NOTES §1.3).
func (s *Server) created(x *exchange, body []byte) { s.reply(x, http.StatusCreated, body) }

func (s *Server) reply(x *exchange, status int, body []byte) {
	h := x.w.Header()
	h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	h.Set("OData-Version", "4.0")
	s.correlate(x)
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

// noContent answers a write with 204 and no body (NOTES §1.4, §1.5, §1.9, §1.10).
func (s *Server) noContent(x *exchange) {
	s.correlate(x)
	x.w.WriteHeader(http.StatusNoContent)
}

// plainText answers /$count segments: a bare integer as text/plain (NOTES §1.1 [aq]).
func (s *Server) plainText(x *exchange, text string) {
	x.w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	s.correlate(x)
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write([]byte(text))
}

func (s *Server) correlate(x *exchange) {
	h := x.w.Header()
	h.Set("request-id", x.requestID)
	h.Set("client-request-id", x.clientRequestID)
	h.Set("Cache-Control", "no-cache")
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
