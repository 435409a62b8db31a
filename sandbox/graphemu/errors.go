package graphemu

import (
	"net/http"
	"time"
)

// graphError is one failure in the Microsoft Graph error envelope (NOTES §3.1):
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
// Directory APIs use Request_* codes rather than the generic ones [errors].
type graphError struct {
	status  int
	code    string
	message string
	header  map[string]string // extra response headers, e.g. WWW-Authenticate on 401
}

func newError(status int, code, message string) *graphError {
	return &graphError{status: status, code: code, message: message}
}

func errNotFound(what string) *graphError {
	// samples/error-404-resource-not-found.json
	return newError(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+what+"' does not exist or one of its queried reference-property objects are not present.")
}

func errUnsupportedQuery() *graphError {
	// samples/error-advanced-query-missing.json
	return newError(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
}

func errBadRequest(message string) *graphError {
	return newError(http.StatusBadRequest, "Request_BadRequest", message)
}

func errSegment(segment string) *graphError {
	// OData routing failure for a path segment the service does not know.
	return newError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segment+"'.")
}

func errMethodNotAllowed() *graphError {
	// NOTES §3.1: Request_BadRequest with HTTP 405 [batching].
	return newError(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

func errNotImplemented() *graphError {
	// samples/error-501-not-implemented.json; NOTES §1.1 (single-GET-only properties on /users).
	return newError(http.StatusNotImplemented, "NotImplemented", "This operation target is not yet supported.")
}

// innerDate is the innerError date format of the samples: "2023-02-14T11:10:50" (UTC, no zone).
const innerDate = "2006-01-02T15:04:05"

// errorJSON renders the envelope. Hand-written so the key order matches the samples
// (code, message, innerError{date, request-id, client-request-id}).
func errorJSON(e *graphError, requestID, clientRequestID string, now time.Time) []byte {
	b := make([]byte, 0, 256+len(e.message))
	b = append(b, `{"error":{"code":`...)
	b = appendString(b, e.code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.message)
	b = append(b, `,"innerError":{"date":`...)
	b = appendString(b, now.UTC().Format(innerDate))
	b = append(b, `,"request-id":`...)
	b = appendString(b, requestID)
	b = append(b, `,"client-request-id":`...)
	b = appendString(b, clientRequestID)
	return append(b, "}}}"...)
}
