// Package adsemu emulates the Microsoft Advertising Customer Management service v13 in both
// of its bindings — SOAP 1.1 at /Api/CustomerManagement/v13/CustomerManagementService.svc
// and JSON REST below /CustomerManagement/v13/ — closely enough that msidm's real clients
// cannot tell it from Microsoft's: same envelopes and JSON shapes, namespaces, prefixes,
// element order, nil handling and faults.
//
// The ground truth is /work/shared/reference/ads (the WSDL first, then NOTES.md and the
// examples). Comments cite NOTES.md sections as "NOTES §n".
//
// Layout: server.go routes HTTP, authenticates and serves SOAP; rest.go serves REST;
// users.go holds the operations as functions over typed Go values; ops.go binds each to its
// codecs: soap.go and soapcodec.go (envelopes, request members, faults), entities.go (SOAP
// data objects), restcodec.go (JSON); state.go is the transport-neutral database;
// control.go is the Go API tests and the sandbox use to drive it (accept invitations, move
// the clock, count calls, inject faults). A new operation is a typed function in users.go,
// its four codecs, and one line in operations().
package adsemu

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// ServicePath is the SOAP endpoint below the service root (NOTES §1).
const ServicePath = "/Api/CustomerManagement/v13/CustomerManagementService.svc"

// maxRequestBytes bounds request bodies. User operations are a few KiB; WCF rejects
// messages over its MaxReceivedMessageSize with 413 as well.
const maxRequestBytes = 1 << 20

// Options configures a Server.
type Options struct {
	Signer         *token.Signer
	Tenant         *demo.Tenant
	DeveloperToken string       // the only developer token accepted
	Logger         *slog.Logger // may be nil
	// Now is the clock of writes (LastModifiedTime) and invitation expiry; nil is time.Now.
	// Access tokens are checked against the Signer's own clock.
	Now func() time.Time
}

// Server is the emulated Customer Management service. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	signer      *token.Signer
	devToken    string
	log         *slog.Logger
	state       *state
	ops         map[string]*operation // by name (SOAP)
	routes      map[string]*operation // by "METHOD path" (REST)
	faultStatus atomic.Int32
}

// New seeds a Server from opts.Tenant (deep copy; the tenant is not retained).
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{signer: opts.Signer, devToken: opts.DeveloperToken, log: log, state: newState(opts.Tenant, now)}
	s.ops = operations()
	s.routes = make(map[string]*operation, len(s.ops))
	for _, op := range s.ops {
		s.routes[op.method+" "+op.path] = op
	}
	s.faultStatus.Store(http.StatusInternalServerError)
	return s
}

// SetFaultStatus sets the HTTP status of service faults (AdApiFaultDetail and ApiFault).
// The documented status is 500, the default; the live service has also been seen sending
// faults with 200 (NOTES §6.2), which clients must handle. 0 restores 500. Plumbing faults
// (bad envelope, unknown action) keep their own status.
func (s *Server) SetFaultStatus(status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.faultStatus.Store(int32(status))
}

// ServeHTTP serves the SOAP endpoint at ServicePath and the REST binding below RESTPrefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, RESTPrefix) {
		s.serveREST(w, r)
		return
	}
	if r.URL.Path != ServicePath {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		if q.Has("wsdl") || q.Has("singleWsdl") {
			// The real service serves its WSDL here (NOTES §1); PHP's SoapClient needs it.
			// Not emulated yet: the file lives outside the repository and its soap:address
			// would have to be rewritten to this listener, or clients would call production.
			http.NotFound(w, r)
			return
		}
		fallthrough
	default:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !isSOAP11ContentType(r.Header.Get("Content-Type")) {
		// WCF's BasicHttpBinding answers any other content type with 415 and no body.
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
		return
	}
	trackingID := token.NewGUID()
	w.Header().Set("TrackingId", trackingID) // as the REST binding does (NOTES §9); harmless for SOAP
	op, resp, err := s.handle(r, data)
	if err != nil {
		s.writeError(w, trackingID, op, err)
		return
	}
	s.log.Debug("customer management call", "op", op, "tracking_id", trackingID)
	writeXML(w, http.StatusOK, envelope(trackingID, resp))
}

// handle parses, dispatches, authenticates and runs one request.
func (s *Server) handle(r *http.Request, data []byte) (op string, resp *etree.Element, err error) {
	req, err := parseRequest(data)
	if err != nil {
		return "", nil, err
	}
	// The body decides the operation; the SOAPAction header (quoted, unquoted or absent,
	// NOTES §1) is only compared for the log.
	if action := soapAction(r); action != "" && action != req.Op {
		s.log.Debug("SOAPAction disagrees with the body; using the body", "soap_action", action, "body", req.BodyName)
	}
	o, ok := s.ops[req.Op]
	if !ok {
		// WCF rejects an unknown action before any service code (and so before auth) runs.
		action := req.Op
		if action == "" {
			action = req.BodyName
		}
		return req.Op, nil, actionNotSupported(action)
	}
	o.calls.Add(1)
	caller, err := s.authenticate(req.AuthenticationToken, req.DeveloperToken)
	if err != nil {
		return req.Op, nil, err
	}
	resp, err = o.soap(s, caller, req.Body)
	return req.Op, resp, err
}

// authenticate checks the two credentials, from the SOAP headers or the REST HTTP headers
// (NOTES §2, §7, §12.2). The access token is checked before the developer token so that an
// expired token always yields 109, the one code the SDKs refresh on (NOTES §9); the order
// in the real service is not documented.
func (s *Server) authenticate(accessToken, developerToken string) (user, error) {
	if accessToken == "" || developerToken == "" {
		return user{}, errMissingHeaders
	}
	claims, err := s.signer.Verify(accessToken, token.AudienceAds)
	switch {
	case errors.Is(err, token.ErrExpired):
		return user{}, errTokenExpired
	case err != nil: // malformed, bad signature, wrong audience
		return user{}, errInvalidCredentials
	}
	// There is no separate "invalid developer token" code: it is 105 (NOTES §7).
	if subtle.ConstantTimeCompare([]byte(developerToken), []byte(s.devToken)) != 1 {
		return user{}, errInvalidCredentials
	}
	// A delegated token for msads.manage of an active user of this customer; app-only tokens
	// and unknown or inactive users are 105 ("…or the account is inactive").
	if !hasScope(claims.Scope, "msads.manage") {
		return user{}, errInvalidCredentials
	}
	u, ok := s.state.userByName(claims.UPN)
	if !ok || u.Status != "Active" {
		return user{}, errInvalidCredentials
	}
	return u, nil
}

// hasScope reports whether the space-separated scp claim grants scope, in its short form or
// qualified by the resource (https://ads.microsoft.com/msads.manage).
func hasScope(scp, scope string) bool {
	for _, s := range strings.Fields(scp) {
		if s == scope || strings.HasSuffix(s, "/"+scope) {
			return true
		}
	}
	return false
}

// writeError writes err as a SOAP fault. Faults carry no s:Header (NOTES §2: the tracking id
// is then in the detail and the faultstring).
func (s *Server) writeError(w http.ResponseWriter, trackingID, op string, err error) {
	if e, ok := asAPIError(err); ok {
		s.log.Debug("customer management fault", "op", op, "tracking_id", trackingID, "code", e.Code)
		writeXML(w, int(s.faultStatus.Load()), envelope("", faultElement(trackingID, e)))
		return
	}
	f, ok := asWCFFault(err)
	if !ok { // a programming error: answer like WCF's unhandled-exception fault
		s.log.Error("customer management handler failed", "op", op, "tracking_id", trackingID, "err", err)
		f = &wcfFault{Status: http.StatusInternalServerError, Code: "Server",
			Reason: "The server was unable to process the request due to an internal error."}
	}
	s.log.Debug("customer management plumbing fault", "op", op, "tracking_id", trackingID, "fault", f.Code)
	writeXML(w, f.Status, envelope("", wcfFaultElement(f)))
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// isSOAP11ContentType accepts text/xml with no charset or charset utf-8 (NOTES §1).
func isSOAP11ContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "text/xml" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// soapAction returns the SOAPAction header without its optional quotes.
func soapAction(r *http.Request) string {
	a := strings.TrimSpace(r.Header.Get("SOAPAction"))
	if len(a) >= 2 && a[0] == '"' && a[len(a)-1] == '"' {
		a = a[1 : len(a)-1]
	}
	return a
}
