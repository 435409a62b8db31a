package graphemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/msidm/msidm/sandbox/chaos"
	"github.com/msidm/msidm/sandbox/token"
)

// This file is Graph's side of fault injection (package chaos): who a request is charged to,
// what it costs, and how an injected failure looks on the wire (NOTES §3.1, §3.2).

// ThrottleKey returns the throttling client of r: Graph's identity limits are per application
// per tenant (NOTES §3.2), so the key is "<appId>/<tenantId>" read from the bearer token's
// claims. The token is not verified here (the emulator does that when the request passes);
// a request whose token has no readable appid and tid is keyed by a hash of its Authorization
// header, so every distinct credential still gets its own budget.
func ThrottleKey(r *http.Request) string {
	if app, tenant, ok := faultAppAndTenant(r); ok {
		return app + "/" + tenant
	}
	sum := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	return "authorization:" + hex.EncodeToString(sum[:8])
}

// faultAppAndTenant reads appid (v1 tokens) or azp (v2) and tid from the unverified JWT payload.
func faultAppAndTenant(r *http.Request) (app, tenant string, ok bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", "", false
	}
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		return "", "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", false
	}
	var c struct {
		AppID    string `json:"appid"`
		AZP      string `json:"azp"`
		TenantID string `json:"tid"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", "", false
	}
	app = c.AppID
	if app == "" {
		app = c.AZP
	}
	return app, c.TenantID, app != "" && c.TenantID != ""
}

// faultMeCosts are the documented base costs of calls below users/{id|upn}/ ("me/ costs apply to
// users/{id|upn}/", NOTES §3.2 [limits-ia]), by the path segment after the user.
var faultMeCosts = map[string]int{
	"memberOf": 2, "transitiveMemberOf": 2, "ownedObjects": 2, "licenseDetails": 2,
	"checkMemberGroups": 4, "checkMemberObjects": 4, "getMemberGroups": 2, "getMemberObjects": 2,
}

// ResourceUnits is the documented resource-unit cost of r against the identity and access
// limits (NOTES §3.2 [limits-ia]): base cost by resource (GET users 2, groups/{id}/members 3,
// groups/{id}/transitiveMembers 5, subscribedSkus 3, directoryObjects/getByIds 5, any other
// GET 1, every write 1), then $select −1, $expand +1, $top below 20 −1, and at least 1.
func ResourceUnits(r *http.Request) int {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 && segs[0] == "v1.0" {
		segs = segs[1:]
	}
	seg := func(i int) string {
		if i < len(segs) {
			return segs[i]
		}
		return ""
	}
	cost := 1
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
		return 1 // PATCH/PUT/DELETE: 1, no modifiers
	case r.Method == http.MethodPost && seg(0) == "directoryObjects" && seg(1) == "getByIds":
		cost = 5
		if r.URL.Query().Has("$select") {
			return 2 // documented as exactly 2 with $select
		}
	case r.Method == http.MethodPost && (seg(0) == "users" || seg(0) == "me") && faultMeCosts[seg(len(segs)-1)] > 0:
		cost = faultMeCosts[seg(len(segs)-1)]
	case r.Method == http.MethodPost:
		return 1
	case (seg(0) == "users" || strings.HasPrefix(seg(0), "users(")) && len(segs) <= 2 && seg(1) != "delta":
		cost = 2
	case seg(0) == "users" && len(segs) == 3 && faultMeCosts[seg(2)] > 0:
		cost = faultMeCosts[seg(2)]
	case seg(0) == "groups" && len(segs) == 3 && seg(2) == "members":
		cost = 3
	case seg(0) == "groups" && len(segs) == 3 && seg(2) == "transitiveMembers":
		cost = 5
	case seg(0) == "subscribedSkus":
		cost = 3
	case seg(0) == "applications" && len(segs) == 1:
		cost = 2
	}
	q := r.URL.Query()
	if q.Has("$select") {
		cost--
	}
	if q.Has("$expand") {
		cost++
	}
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < 20 {
		cost--
	}
	return max(cost, 1)
}

// WriteChaosFault writes an injected failure the way Microsoft Graph answers it. Its type is
// chaos.FaultWriter.
//
//   - 429 (a spent budget or an injected fault): the TooManyRequests body of
//     samples/error-429.json, Retry-After in whole seconds, x-ms-throttle-scope
//     Tenant_Application/ReadWrite/<appId>/<tenantId> when the token names both, and
//     x-ms-throttle-information (ResourceUnitLimitExceeded for a spent budget, CPULimitExceeded
//     for an injected 429) (NOTES §3.2).
//   - 503: serviceNotAvailable with Retry-After; 500, 502, 504: generalException (NOTES §3.1).
//
// Every answer carries request-id and client-request-id headers, Content-Type
// application/json (without it the Graph SDK cannot read the error, NOTES §3.1) and the
// request-id in innerError.
func (s *Server) WriteChaosFault(w http.ResponseWriter, r *http.Request, d chaos.Decision) {
	requestID := token.NewGUID()
	clientRequestID := r.Header.Get("client-request-id")
	if clientRequestID == "" {
		clientRequestID = requestID
	}
	retryAfter := ""
	if d.RetryAfter > 0 {
		retryAfter = chaos.RetryAfterSeconds(d.RetryAfter)
	}
	var e *graphError
	switch d.Status {
	case http.StatusTooManyRequests:
		e = errThrottled(retryAfter)
	case http.StatusServiceUnavailable:
		e = newError(d.Status, "serviceNotAvailable",
			"The service is temporarily unavailable for maintenance or is overloaded. You may repeat the request after a delay.")
	default:
		e = newError(d.Status, "generalException", "An unspecified error has occurred.")
	}
	h := w.Header()
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	if d.Status == http.StatusTooManyRequests {
		if app, tenant, ok := faultAppAndTenant(r); ok {
			h.Set("x-ms-throttle-scope", "Tenant_Application/ReadWrite/"+app+"/"+tenant)
		}
		info := "CPULimitExceeded"
		if d.Kind == chaos.Throttle {
			info = "ResourceUnitLimitExceeded"
		}
		h.Set("x-ms-throttle-information", info)
	}
	h.Set("Content-Type", "application/json")
	h.Set("request-id", requestID)
	h.Set("client-request-id", clientRequestID)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(d.Status)
	_, _ = w.Write(errorJSON(e, requestID, clientRequestID, s.signer.Now()))
	s.log.Info("graph fault injected", "method", r.Method, "path", r.URL.Path, "status", d.Status, "kind", d.Kind.String(),
		"request_id", requestID)
}
