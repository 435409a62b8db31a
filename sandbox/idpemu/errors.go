package idpemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// oauthError is one failure of the token endpoint: the OAuth 2.0 error value, the AADSTS code,
// the HTTP status and the description text (without the trace lines the service appends).
//
// NOTES §7: every error body is JSON with error, error_description ("AADSTSnnnnn: … \r\nTrace ID:
// …\r\nCorrelation ID: …\r\nTimestamp: …"), error_codes, timestamp, trace_id, correlation_id and
// error_uri. The service answers 400 for most errors and 401 for invalid_client.
type oauthError struct {
	status int
	err    string // OAuth error value: invalid_request, invalid_client, invalid_grant, ...
	code   int    // AADSTS code
	desc   string // text after "AADSTSnnnnn: "; must never contain a secret
}

func (e *oauthError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.err, e.code, e.desc) }

func newError(status int, oauth string, code int, format string, args ...any) *oauthError {
	return &oauthError{status: status, err: oauth, code: code, desc: fmt.Sprintf(format, args...)}
}

// The errors the grants produce. Descriptions follow the AADSTS reference [aadsts] and the
// observed bodies quoted in NOTES §7; where the notes are silent the wording is the service's
// as commonly reported (marked in the report that introduced them).

func errMissingParam(name string) *oauthError {
	// AADSTS900144 is what the service returns for any absent form field, including a body that
	// was not form-encoded at all (it then sees no grant_type).
	return newError(http.StatusBadRequest, "invalid_request", 900144,
		"The request body must contain the following parameter: '%s'.", name)
}

func errMethod(method string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_request", 900561,
		"The endpoint only accepts POST, OPTIONS requests. Received a %s request.", method)
}

func errTenantNotFound(tenant string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_request", 90002,
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "+
			"Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
}

func errNoTenantInfo() *oauthError {
	// client_credentials against /common or /organizations: there is no user to pick a tenant.
	return newError(http.StatusBadRequest, "invalid_request", 50059,
		"No tenant-identifying information found in either the request or implied by any provided credentials.")
}

func errUnsupportedGrant(grant string) *oauthError {
	return newError(http.StatusBadRequest, "unsupported_grant_type", 70003,
		"The app requested an unsupported grant type '%s'.", grant)
}

func errUnknownClient(clientID, tenant string) *oauthError {
	return newError(http.StatusBadRequest, "unauthorized_client", 700016,
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not "+
			"been installed by the administrator of the tenant or consented to by any user in the tenant. "+
			"You may have sent your authentication request to the wrong tenant.", clientID, tenant)
}

func errInvalidSecret(clientID string) *oauthError {
	// Observed as HTTP 401 (samples/token-error-invalid-client-7000215.OBSERVED.json).
	return newError(http.StatusUnauthorized, "invalid_client", 7000215,
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
			"not the client secret ID, for a secret added to app '%s'.", clientID)
}

func errNoCredential() *oauthError {
	return newError(http.StatusUnauthorized, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

func errInvalidScope(scope string) *oauthError {
	// Shaped like samples/token-error-invalid-scope.json.
	return newError(http.StatusBadRequest, "invalid_scope", 70011,
		"The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid.", scope)
}

func errNotDefaultScope(scope string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_scope", 1002012,
		"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default "+
			"suffixed to the resource identifier (application ID URI).", scope)
}

func errManyResources(scope string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_scope", 28000,
		"Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", scope)
}

func errUnknownResource(resource, tenant string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_resource", 500011,
		"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not "+
			"been installed by the administrator of the tenant or consented to by any user in the tenant. "+
			"You might have sent your authentication request to the wrong tenant.", resource, tenant)
}

func errMalformedGrant() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
}

func errInvalidRefreshToken() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 70000,
		"The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.")
}

func errRevokedGrant() *oauthError {
	// AADSTS50173 (FreshTokenNeeded) is the documented code for a grant that was revoked.
	return newError(http.StatusBadRequest, "invalid_grant", 50173,
		"The provided grant has expired due to it being revoked, a fresh auth token is needed. "+
			"The user might have changed or reset their password.")
}

// errorBody is the wire shape; field order follows the observed bodies.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

// stsTimestamp is the service's "2022-10-31 09:03:41Z" format.
const stsTimestamp = "2006-01-02 15:04:05Z"

func writeError(w http.ResponseWriter, e *oauthError, traceID, correlationID string, now time.Time) {
	ts := now.UTC().Format(stsTimestamp)
	body := errorBody{
		Error: e.err,
		ErrorDescription: "AADSTS" + strconv.Itoa(e.code) + ": " + e.desc +
			"\r\nTrace ID: " + traceID + "\r\nCorrelation ID: " + correlationID + "\r\nTimestamp: " + ts,
		ErrorCodes:    []int{e.code},
		Timestamp:     ts,
		TraceID:       traceID,
		CorrelationID: correlationID,
		ErrorURI:      "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.code),
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
