package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/msidm/msidm/clients/transport"
)

// IMDSEndpoint is the Azure Instance Metadata Service token endpoint.
const IMDSEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

// ManagedIdentity selects an Azure managed identity: the VM's IMDS endpoint, or the App
// Service / Functions endpoint when AppServiceEndpoint is set.
type ManagedIdentity struct {
	Resource string // the resource, not a scope: e.g. https://graph.microsoft.com (see GraphResource)
	ClientID string // a user-assigned identity's client id; empty for the system-assigned one

	Endpoint string // IMDS token endpoint; default IMDSEndpoint

	// App Service (IDENTITY_ENDPOINT, IDENTITY_HEADER). The header value is a secret.
	AppServiceEndpoint string
	AppServiceHeader   string
}

// ManagedIdentityFromEnv fills the App Service fields from IDENTITY_ENDPOINT and
// IDENTITY_HEADER when both are set; getenv is os.Getenv outside tests.
func ManagedIdentityFromEnv(getenv func(string) string, resource, clientID string) ManagedIdentity {
	m := ManagedIdentity{Resource: resource, ClientID: clientID}
	if ep, h := getenv("IDENTITY_ENDPOINT"), getenv("IDENTITY_HEADER"); ep != "" && h != "" {
		m.AppServiceEndpoint, m.AppServiceHeader = ep, h
	}
	return m
}

// ManagedIdentityTokenSource returns a caching token source backed by a managed identity.
// IMDS: GET <endpoint>?api-version=2018-02-01&resource=…[&client_id=…] with "Metadata: true".
// App Service: GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=…[&client_id=…] with
// "X-IDENTITY-HEADER". Both answer expires_in/expires_on as strings.
func ManagedIdentityTokenSource(hc *http.Client, m ManagedIdentity) oauth2.TokenSource {
	return explainManaged(&managedSource{hc: hc, m: m, now: time.Now})
}

type managedSource struct {
	hc  *http.Client
	m   ManagedIdentity
	now func() time.Time
}

func (s *managedSource) Token() (*oauth2.Token, error) {
	endpoint, version := s.m.Endpoint, "2018-02-01"
	if endpoint == "" {
		endpoint = IMDSEndpoint
	}
	if s.m.AppServiceEndpoint != "" {
		endpoint, version = s.m.AppServiceEndpoint, "2019-08-01"
	}
	q := url.Values{"api-version": {version}, "resource": {s.m.Resource}}
	if s.m.ClientID != "" {
		q.Set("client_id", s.m.ClientID)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	u.RawQuery = q.Encode()
	// A token request changes nothing: safe to repeat after a 503 or a network error.
	req, err := http.NewRequestWithContext(transport.WithIdempotent(context.Background()), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if s.m.AppServiceEndpoint != "" {
		req.Header.Set("X-IDENTITY-HEADER", s.m.AppServiceHeader)
	} else {
		req.Header.Set("Metadata", "true")
	}
	now := s.now()
	var tr tokenResponse
	resp, body, err := doJSON(s.hc, req, &tr)
	if err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: tr.Error, ErrorDescription: tr.ErrorDescription}
	}
	return tr.token(now), nil
}

// explainManaged is explainErrors with the hints of a managed identity.
func explainManaged(src oauth2.TokenSource) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, oauth2TokenSourceFunc(func() (*oauth2.Token, error) {
		t, err := src.Token()
		if err == nil {
			return t, nil
		}
		err = explain(err, "Microsoft Graph (managed identity)")
		var e *Error
		if errors.As(err, &e) {
			if e.Err != nil {
				e.Hint = "the managed identity endpoint is unreachable: run on an Azure VM or App Service, or use a client secret or certificate"
			} else if e.AADSTS == "" {
				e.Hint = "check that a managed identity is assigned to this machine, and MSIDM_CLIENT_ID for a user-assigned one"
			}
		}
		return nil, err
	}))
}

type oauth2TokenSourceFunc func() (*oauth2.Token, error)

func (f oauth2TokenSourceFunc) Token() (*oauth2.Token, error) { return f() }
