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

func errMethod(allowed, method string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_request", 900561,
		"The endpoint only accepts %s requests. Received a %s request.", allowed, method)
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

func errTwoCredentials() *oauthError {
	// RFC 6749 §2.3: a client must not use more than one authentication method per request.
	// AADSTS90023 is the documented generic InvalidRequest [aadsts]; the exact code is unverified.
	return newError(http.StatusBadRequest, "invalid_request", 90023,
		"The authentication service request isn't valid: send either 'client_secret' or 'client_assertion', not both.")
}

// Client assertion failures (NOTES §7 [cert], [aadsts]). All are client-authentication
// failures, so error is invalid_client with HTTP 401 like AADSTS7000215.

func errAssertionType() *oauthError {
	// AADSTS90100 InvalidRequestParameter [aadsts]; the code for this case is unverified.
	return newError(http.StatusBadRequest, "invalid_request", 90100,
		"The parameter 'client_assertion_type' is empty or not valid. Expected '%s'.", assertionTypeJWTBearer)
}

func errMalformedAssertion(reason string) *oauthError {
	// AADSTS50027 InvalidJwtToken: "token format isn't proper", "doesn't contain … claim" [aadsts].
	return newError(http.StatusUnauthorized, "invalid_client", 50027, "Invalid JWT token. %s", reason)
}

func errAssertionSignature(reason string) *oauthError {
	// AADSTS700027 "Client assertion failed signature validation." [aadsts]; the bracketed
	// reason follows the form real bodies are widely reported with.
	return newError(http.StatusUnauthorized, "invalid_client", 700027,
		"Client assertion failed signature validation. [Reason - %s]", reason)
}

func errAssertionKey(reason, thumbprint, clientID string) *oauthError {
	return errAssertionSignature(fmt.Sprintf("%s, Thumbprint of key used by client: '%s', Please visit the Azure Portal, "+
		"Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.", reason, thumbprint, clientID))
}

func errAssertionClientID() *oauthError {
	// AADSTS700021 is what the service is reported to answer; it is not in [aadsts] (unverified).
	return newError(http.StatusUnauthorized, "invalid_client", 700021,
		"Client assertion application identifier doesn't match 'client_id' parameter.")
}

func errAssertionSubject() *oauthError {
	return newError(http.StatusUnauthorized, "invalid_client", 50048,
		"Subject mismatches Issuer claim in the client assertion.")
}

func errAssertionAudience(aud string) *oauthError {
	// AADSTS50027 InvalidJwtToken lists "unexpected audience" [aadsts]. (AADSTS700023 is
	// InvalidResourcelessScope there, not an audience error.)
	return newError(http.StatusUnauthorized, "invalid_client", 50027,
		"Invalid JWT token. The client assertion's audience '%s' is not the token endpoint of this tenant.", aud)
}

func errAssertionTime(now time.Time, nbf, exp string) *oauthError {
	// AADSTS700024 is widely reported for expired client assertions but is not in [aadsts]
	// (unverified); the documented neighbours are 500133 and 50027.
	return newError(http.StatusUnauthorized, "invalid_client", 700024,
		"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. "+
			"Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
		now.UTC().Format(assertionTimeFormat), nbf, exp)
}

func errAssertionReplay(jti string) *oauthError {
	// AADSTS50013 InvalidAssertion [aadsts]. Whether the service rejects a replayed jti at all
	// is unverified; the sandbox does, within the assertion's lifetime.
	return newError(http.StatusUnauthorized, "invalid_client", 50013,
		"Assertion is invalid: the client assertion with jti '%s' was already used.", jti)
}

// Authorization endpoint and authorization_code grant (v2-oauth2-auth-code-flow.md, [aadsts]).

func errRedirectURI(uri, clientID string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_request", 50011,
		"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. "+
			"The sandbox accepts http://localhost and http://127.0.0.1 with any port (loopback redirect URIs).", uri, clientID)
}

func errResponseType(rt string) *oauthError {
	return newError(http.StatusBadRequest, "unsupported_response_type", 70005,
		"The app returned an unsupported response type '%s'. The sandbox supports only 'code'.", rt)
}

func errResponseMode(mode string) *oauthError {
	return newError(http.StatusBadRequest, "invalid_request", 70007,
		"The app returned an unsupported value of response_mode '%s'. The sandbox supports only 'query'.", mode)
}

func errChallengeMethod(method string) *oauthError {
	// The service also accepts "plain"; the sandbox refuses it so clients are held to S256.
	// AADSTS90100 InvalidRequestParameter [aadsts] is the sandbox's choice of code.
	return newError(http.StatusBadRequest, "invalid_request", 90100,
		"The parameter 'code_challenge_method' is empty or not valid ('%s'). The sandbox accepts only 'S256'.", method)
}

func errChallengeSize() *oauthError {
	return newError(http.StatusBadRequest, "invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
}

func errNotSignedIn() *oauthError {
	return newError(http.StatusBadRequest, "interaction_required", 50058,
		"A silent sign-in request was sent but no user is signed in. Configure the sandbox's signed-in user (SignInUser).")
}

func errInvalidCode() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 70000,
		"The provided value for the input parameter 'code' is not valid.")
}

func errExpiredCode() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 70008,
		"The provided authorization code or refresh token has expired due to inactivity. "+
			"Send a new interactive authorization request for this user and resource.")
}

func errCodeRedeemed() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 54005,
		"OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
}

func errCodeTenant() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 700005,
		"Provided Authorization Code is intended to use against other tenant, thus rejected.")
}

func errRedirectMismatch(got, want string) *oauthError {
	// AADSTS500112 is widely reported for this case but not in [aadsts] (unverified); the
	// documented neighbour is AADSTS50011 InvalidReplyTo.
	return newError(http.StatusBadRequest, "invalid_grant", 500112,
		"The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", got, want)
}

func errVerifierMismatch() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 501481,
		"The Code_Verifier does not match the code_challenge supplied in the authorization request.")
}

// Device authorization grant (v2-oauth2-device-code.md "Expected errors", [aadsts]).

func errAuthorizationPending() *oauthError {
	return newError(http.StatusBadRequest, "authorization_pending", 70016,
		"OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
}

func errAuthorizationDeclined() *oauthError {
	// The device-code page names the error authorization_declined (RFC 8628 says access_denied);
	// AADSTS65004 UserDeclinedConsent is the documented code closest to it (unverified here).
	return newError(http.StatusBadRequest, "authorization_declined", 65004,
		"User declined to consent to access the app.")
}

func errBadVerificationCode() *oauthError {
	return newError(http.StatusBadRequest, "bad_verification_code", 70018,
		"Invalid verification code. The provided value for the input parameter 'device_code' is not valid.")
}

func errDeviceCodeExpired() *oauthError {
	return newError(http.StatusBadRequest, "expired_token", 70019,
		"Verification code expired. Have the user retry the sign-in.")
}

func errDeviceCodeRedeemed() *oauthError {
	return newError(http.StatusBadRequest, "invalid_grant", 90120,
		"The request was already authorized or declined, and its tokens were already issued.")
}

// errUnavailable is an injected fault (Server.Fault).
func errUnavailable(status int) *oauthError {
	if status < 400 {
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusTooManyRequests {
		return newError(status, "temporarily_unavailable", 90055,
			"There are too many incoming requests. Try again later.")
	}
	return newError(status, "temporarily_unavailable", 90006, "The service is temporarily unavailable. Try again later.")
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

// assertionTimeFormat is how the service prints times in AADSTS700024 descriptions.
const assertionTimeFormat = "2006-01-02T15:04:05.0000000Z"

// description is error_description: the AADSTS text followed by the trace lines.
func (e *oauthError) description(traceID, correlationID, ts string) string {
	return "AADSTS" + strconv.Itoa(e.code) + ": " + e.desc +
		"\r\nTrace ID: " + traceID + "\r\nCorrelation ID: " + correlationID + "\r\nTimestamp: " + ts
}

func writeError(w http.ResponseWriter, e *oauthError, traceID, correlationID string, now time.Time) {
	ts := now.UTC().Format(stsTimestamp)
	body := errorBody{
		Error:            e.err,
		ErrorDescription: e.description(traceID, correlationID, ts),
		ErrorCodes:       []int{e.code},
		Timestamp:        ts,
		TraceID:          traceID,
		CorrelationID:    correlationID,
		ErrorURI:         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.code),
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
