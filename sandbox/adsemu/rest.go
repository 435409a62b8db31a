package adsemu

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/msidm/msidm/sandbox/token"
)

// RESTPrefix is the root of the REST binding below the service root: the SOAP URL without
// /Api and the .svc (REST.md §1).
const RESTPrefix = "/CustomerManagement/v13/"

// serveREST serves the JSON REST binding (REST.md): one route per operation, a JSON body for
// every method (DELETE included), credentials in the Authorization: Bearer and
// DeveloperToken HTTP headers, a TrackingId response header, and faults as the
// ApplicationFault JSON with its "Type" discriminator.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, RESTPrefix)
	op := s.routes[r.Method+" "+rel]
	if op == nil {
		// An unknown route is 404, never a fault: the .NET SDK reads 404 as "service not
		// available" and backs off for an hour (REST.md §3), so entity errors never use it.
		var allow []string
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			if s.routes[m+" "+rel] != nil {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
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
	w.Header().Set("TrackingId", trackingID)
	op.calls.Add(1)
	out, err := s.runREST(op, r, data)
	if err != nil {
		e, ok := asAPIError(err)
		if !ok { // a programming error
			s.log.Error("customer management handler failed", "op", op.name, "tracking_id", trackingID, "err", err)
			e = errInternal
		}
		s.log.Debug("customer management REST fault", "op", op.name, "tracking_id", trackingID, "code", e.Code)
		writeJSON(w, restStatus(e), restFault(trackingID, e))
		return
	}
	s.log.Debug("customer management REST call", "op", op.name, "tracking_id", trackingID)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) runREST(op *operation, r *http.Request, data []byte) (any, error) {
	authz, devTok := r.Header.Get("Authorization"), r.Header.Get("DeveloperToken")
	tok, ok := bearerToken(authz)
	if !ok && authz != "" && devTok != "" {
		return nil, errInvalidCredentials
	}
	caller, err := s.authenticate(tok, devTok)
	if err != nil {
		return nil, err
	}
	return op.rest(s, caller, data)
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header (scheme
// case-insensitive, RFC 9110 §11.1). The docs insist on the prefix (REST.md §2.1): a header
// without it is not a bearer token, and runREST answers it with 105 InvalidCredentials,
// while an absent header is 116 RequestMissingHeaders.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return tok, true
}

// restStatus is the HTTP status of a REST fault. No document maps codes to statuses
// (REST.md §3 "[not found]"); this follows REST.md's inferred mapping: authentication 401
// (the .NET SDK refreshes its token once on 401), authorization 403, throttling 429,
// internal errors 500, every other (validation) error 400 — never 404.
func restStatus(e apiError) int {
	switch e.Code {
	case errInvalidCredentials.Code, errTokenExpired.Code, errMissingHeaders.Code:
		return http.StatusUnauthorized
	case errUserIsNotAuthorized.Code, errNotAuthorized.Code:
		return http.StatusForbidden
	case errCallRateExceeded.Code:
		return http.StatusTooManyRequests
	case errInternal.Code:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// writeJSON writes v as the response body; .NET's StringContent sends this content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // every value written here is a plain struct
		status, body = http.StatusInternalServerError, []byte(`{}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// isREST reports whether r was sent to the REST binding.
func isREST(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, RESTPrefix) }
