package idpemu

import (
	"strings"

	"github.com/msidm/msidm/sandbox/token"
)

// resource is an API the tenant can issue tokens for.
type resource struct {
	audience     string   // aud of the minted token
	identifiers  []string // how a scope may name it: application ID URI, application (client) id
	defaultScope string   // delegated permission a "<resource>/.default" request receives
	appOnly      bool     // has application permissions, so client_credentials may target it
}

// knownResources lists the APIs of the sandbox. Microsoft Advertising has only the delegated
// msads.manage permission, so it cannot be reached with client credentials.
func knownResources() []resource {
	return []resource{
		{audience: token.AudienceGraph, identifiers: []string{token.AudienceGraph, "00000003-0000-0000-c000-000000000000"},
			defaultScope: "User.Read", appOnly: true},
		{audience: token.AudienceAds, identifiers: []string{token.AudienceAds}, defaultScope: "msads.manage"},
	}
}

// oidcScopes are the OpenID Connect scopes that name no resource.
func isOIDCScope(s string) bool {
	switch strings.ToLower(s) {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}

// scopeRequest is a parsed scope parameter: at most one resource (NOTES §7: "All scopes must be
// for one resource") with its permission names, plus any OpenID Connect scopes.
type scopeRequest struct {
	res    *resource
	prefix string   // how the request named the resource ("" for bare Graph names like User.Read)
	perms  []string // permission names, ".default" included as written
	oidc   []string
}

// parseScope splits a scope parameter. Names without a resource prefix are Microsoft Graph
// permissions, as the real service assumes.
func (s *Server) parseScope(raw string) (*scopeRequest, *oauthError) {
	sr := &scopeRequest{}
	for _, f := range strings.Fields(raw) {
		if isOIDCScope(f) {
			sr.oidc = append(sr.oidc, f)
			continue
		}
		id, perm := "", f
		if i := strings.LastIndex(f, "/"); i >= 0 {
			// "https://graph.microsoft.com//.default" (double slash) is accepted by the service.
			id, perm = strings.TrimRight(f[:i], "/"), f[i+1:]
		}
		res := s.resource(id)
		if res == nil {
			return nil, errUnknownResource(id, s.tenantID)
		}
		if sr.res != nil && sr.res != res {
			return nil, errManyResources(raw)
		}
		if perm == "" {
			return nil, errInvalidScope(raw)
		}
		sr.res, sr.perms = res, append(sr.perms, perm)
		if id != "" {
			sr.prefix = id + "/"
		}
	}
	return sr, nil
}

func (s *Server) resource(id string) *resource {
	if id == "" {
		return &s.resources[0] // Microsoft Graph
	}
	for i := range s.resources {
		for _, known := range s.resources[i].identifiers {
			if strings.EqualFold(id, known) {
				return &s.resources[i]
			}
		}
	}
	return nil
}

// delegated resolves the permissions of a delegated request: ".default" becomes the resource's
// default permission, and a request naming no resource gets Microsoft Graph's default.
// It returns the scp claim and the scope value of the response.
func (sr *scopeRequest) delegated(graph *resource) (res *resource, scp, granted string) {
	if sr.res == nil {
		sr.res, sr.perms = graph, []string{".default"}
	}
	var names, echoed []string
	for _, p := range sr.perms {
		if p == ".default" {
			p = sr.res.defaultScope
		}
		names = append(names, p)
		echoed = append(echoed, sr.prefix+p)
	}
	echoed = append(echoed, sr.oidc...)
	return sr.res, strings.Join(names, " "), strings.Join(echoed, " ")
}
