package graphemu

import (
	"net/http"
	"time"
)

// graphError is one failure in the Microsoft Graph error envelope (NOTES §3.1):
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
// Directory APIs use Request_* codes rather than the generic ones [errors].
type graphError struct {
	status    int
	code      string
	message   string
	header    map[string]string // extra response headers, e.g. WWW-Authenticate on 401
	details   []errorDetail     // error.details, e.g. ObjectConflict (NOTES §1.3)
	throttled bool              // a 429 body, whose innerError differs (samples/error-429.json)
}

// errorDetail is one element of error.details.
type errorDetail struct {
	code, message, target string
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

func errAccessDenied() *graphError {
	// samples/error-403-authorization-requestdenied.json
	return newError(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// errConflict is the duplicate-value error of samples/error-objectconflict.OBSERVED.json,
// for property (NOTES §1.3: userPrincipalName on create).
func errConflict(property string) *graphError {
	msg := "Another object with the same value for property " + property + " already exists."
	e := errBadRequest(msg)
	e.details = []errorDetail{{code: "ObjectConflict", message: msg, target: property}}
	return e
}

// errInvalidValue is the directory's answer to a property value it cannot accept.
func errInvalidValue(property string) *graphError {
	return errBadRequest("Invalid value specified for property '" + property + "' of resource 'User'.")
}

// errBadJSON is the OData layer's answer to a body that is not a JSON object.
func errBadJSON() *graphError {
	return newError(http.StatusBadRequest, "BadRequest",
		"Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
}

// errThrottled is the 429 of samples/error-429.json, used for injected batch items.
func errThrottled(retryAfter string) *graphError {
	e := newError(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	e.throttled = true
	if retryAfter != "" {
		e.header = map[string]string{"Retry-After": retryAfter}
	}
	return e
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
	if len(e.details) > 0 {
		b = append(b, `,"details":[`...)
		for i, d := range e.details {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"code":`...)
			b = appendString(b, d.code)
			b = append(b, `,"message":`...)
			b = appendString(b, d.message)
			b = append(b, `,"target":`...)
			b = appendString(b, d.target)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"innerError":{`...)
	if e.throttled {
		// The throttling body's innerError (samples/error-429.json): code, date, message,
		// request-id, status, and no client-request-id.
		b = append(b, `"code":"429","date":`...)
		b = appendString(b, now.UTC().Format(innerDate))
		b = append(b, `,"message":"Please retry after","request-id":`...)
		b = appendString(b, requestID)
		return append(b, `,"status":"429"}}}`...)
	}
	b = append(b, `"date":`...)
	b = appendString(b, now.UTC().Format(innerDate))
	b = append(b, `,"request-id":`...)
	b = appendString(b, requestID)
	b = append(b, `,"client-request-id":`...)
	b = appendString(b, clientRequestID)
	return append(b, "}}}"...)
}
