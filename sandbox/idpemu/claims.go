package idpemu

import "github.com/msidm/msidm/sandbox/token"

// issuer is the v1 issuer Graph and Ads access tokens carry, whatever endpoint minted them.
func (s *Server) issuer() string { return "https://sts.windows.net/" + s.tenantID + "/" }

func (s *Server) appClaims(a *app, audience string) token.Claims {
	return token.Claims{
		Audience: audience,
		Issuer:   s.issuer(),
		TenantID: s.tenantID,
		AppID:    a.ClientID,
		ObjectID: a.objectID,
		Roles:    append([]string(nil), a.Roles...),
	}
}

func (s *Server) userClaims(a *app, g refreshGrant, audience, scp string) token.Claims {
	return token.Claims{
		Audience: audience,
		Issuer:   s.issuer(),
		TenantID: s.tenantID,
		AppID:    a.ClientID,
		ObjectID: g.oid,
		UPN:      g.upn,
		Scope:    scp,
	}
}
