// Package auth builds the OAuth 2.0 token sources msidm uses against the Microsoft identity
// platform (golang.org/x/oauth2):
//   - Microsoft Graph, app-only: client credentials with a client secret (GraphTokenSource)
//     or a certificate (GraphCertificateTokenSource, a PS256 or RS256 client assertion), or an
//     Azure managed identity (ManagedIdentityTokenSource);
//   - Microsoft Advertising, delegated: a rotating refresh token (AdsTokenSource) kept in a
//     0600 file (TokenStore), obtained with the authorization-code flow with PKCE on a
//     loopback redirect (LoginAuthCode) or the device-code flow (LoginDeviceCode).
//
// It also knows the national clouds' endpoints, and turns the identity platform's AADSTS
// errors into messages that name the setting to fix. Secrets (client secrets, private keys,
// codes, refresh and access tokens) never appear in its errors or log lines.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/msidm/msidm/clients/transport"
)

// Cloud holds the service roots of one Microsoft cloud.
// Source: ../shared/reference/graph/NOTES.md §7 (national clouds).
type Cloud struct {
	Name         string
	AuthorityURL string
	GraphURL     string
}

// Clouds selectable with MSIDM_CLOUD.
var Clouds = map[string]Cloud{
	"public": {"public", "https://login.microsoftonline.com", "https://graph.microsoft.com"},
	"usgov":  {"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"},
	"china":  {"china", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn"},
}

// AdsScope is the delegated scope of the Microsoft Advertising API.
const AdsScope = "https://ads.microsoft.com/msads.manage offline_access"

// TokenURL returns the v2.0 token endpoint of tenant under authority (a service root).
func TokenURL(authority, tenant string) string {
	return strings.TrimRight(authority, "/") + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// AppCredentials are the app-only (client credentials) settings for Microsoft Graph.
type AppCredentials struct {
	AuthorityURL string // service root, e.g. https://login.microsoftonline.com
	TenantID     string
	ClientID     string
	ClientSecret string
	GraphURL     string // service root; the scope is <GraphURL>/.default
}

// GraphTokenSource returns a caching token source for Microsoft Graph. hc is the HTTP client
// used to reach the token endpoint (nil: a client with a 60 s timeout).
func GraphTokenSource(hc *http.Client, c AppCredentials) oauth2.TokenSource {
	cfg := clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     TokenURL(c.AuthorityURL, c.TenantID),
		Scopes:       []string{graphScope(c.GraphURL)},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	// A client-credentials request changes nothing server-side: safe to repeat after a 503.
	ctx := transport.WithIdempotent(context.WithValue(context.Background(), oauth2.HTTPClient, httpClient(hc)))
	return explainErrors(cfg.TokenSource(ctx), "Microsoft Graph")
}

// graphScope is "<resource>/.default".
func graphScope(root string) string { return GraphResource(root) + "/.default" }

// GraphResource is the Graph resource (app ID URI) for a Graph service root. The resource of
// a test or proxy endpoint is still the public Graph resource unless the root is a known
// national cloud.
func GraphResource(root string) string {
	for _, c := range Clouds {
		if strings.TrimRight(root, "/") == c.GraphURL {
			return c.GraphURL
		}
	}
	return "https://graph.microsoft.com"
}

// DelegatedCredentials are the settings of the delegated (user) flow used for Microsoft Advertising.
type DelegatedCredentials struct {
	AuthorityURL string
	TenantID     string // "common", "organizations" or a tenant id
	ClientID     string
	ClientSecret string // empty for a public client
	RefreshToken string // bootstrap refresh token (MSIDM_ADS_REFRESH_TOKEN)
	Scope        string

	// Store, when set, holds the newest refresh token across restarts: its token is used in
	// preference to RefreshToken (which is tried once if the stored one is refused), and every
	// rotation is saved to it before the new access token is handed out.
	Store  *TokenStore
	Logger *slog.Logger // debug lines about refreshes and rotations; never a token
}

// Error is a token failure explained for an operator: which service, what the identity
// platform said (AADSTS code) and which setting to check. It never contains a secret.
type Error struct {
	Service   string // "Microsoft Graph" or "Microsoft Advertising"
	OAuthCode string // RFC 6749 error, e.g. invalid_client
	AADSTS    string // e.g. AADSTS7000215
	Hint      string
	Err       error // transport error, when the endpoint could not be reached
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cannot get a token for %s: %v; %s", e.Service, e.Err, e.Hint)
	}
	code := e.OAuthCode
	if e.AADSTS != "" {
		code += " " + e.AADSTS
	}
	return fmt.Sprintf("the identity platform refused a token for %s (%s); %s", e.Service, code, e.Hint)
}

func (e *Error) Unwrap() error { return e.Err }

var aadstsCode = regexp.MustCompile(`AADSTS\d+`)

// hints maps AADSTS codes (../shared/reference/graph/NOTES.md §7) to the setting to fix.
var hints = map[string]string{
	"AADSTS7000215": "the client secret is wrong: set MSIDM_CLIENT_SECRET to the secret's value (not its id)",
	"AADSTS7000222": "the client secret has expired: create a new one and set MSIDM_CLIENT_SECRET",
	"AADSTS700016":  "the application was not found in the tenant: check MSIDM_CLIENT_ID and MSIDM_TENANT_ID",
	"AADSTS90002":   "the tenant was not found: check MSIDM_TENANT_ID (and MSIDM_CLOUD for national clouds)",
	"AADSTS900023":  "the tenant id is malformed: check MSIDM_TENANT_ID",
	"AADSTS7000112": "the application is disabled in the tenant",
	"AADSTS70011":   "the requested scope is invalid for this application",
	"AADSTS70000":   "the refresh token is invalid or was revoked: run 'msidm login ads' or set MSIDM_ADS_REFRESH_TOKEN",
	"AADSTS70008":   "the refresh token has expired: run 'msidm login ads' or set MSIDM_ADS_REFRESH_TOKEN",
	"AADSTS700082":  "the refresh token has expired after inactivity: run 'msidm login ads'",
	"AADSTS700027":  "the client assertion's signature is invalid: upload the certificate in MSIDM_CLIENT_CERT to the app registration",
	"AADSTS700024":  "the client assertion is outside its valid time range: check this machine's clock",
	"AADSTS50012":   "the client credential was rejected: check the certificate in MSIDM_CLIENT_CERT (or the client secret)",
	"AADSTS50011":   "the redirect URI is not registered: add http://localhost as a 'Mobile and desktop applications' redirect URI of the app",
	"AADSTS7000218": "the app is not a public client: enable 'Allow public client flows' on the app registration, or set the client secret",
	"AADSTS65001":   "the user or an administrator has not consented to the app: run 'msidm login ads' and accept the consent prompt",
	"AADSTS50076":   "multi-factor authentication is required: run 'msidm login ads' interactively",
	"AADSTS50079":   "multi-factor authentication registration is required: run 'msidm login ads' interactively",
	"AADSTS50126":   "the user name or password is wrong",
}

type explaining struct {
	src     oauth2.TokenSource
	service string
}

func explainErrors(src oauth2.TokenSource, service string) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, &explaining{src: src, service: service})
}

func (e *explaining) Token() (*oauth2.Token, error) {
	t, err := e.src.Token()
	if err != nil {
		return nil, explain(err, e.service)
	}
	return t, nil
}

// explain turns a token endpoint failure into an *Error: the OAuth and AADSTS codes and a
// hint, never the response body (which echoes request details) nor the request's form.
func explain(err error, service string) error {
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		out := &Error{Service: service, OAuthCode: re.ErrorCode, AADSTS: aadstsCode.FindString(re.ErrorDescription)}
		if out.OAuthCode == "" && re.Response != nil {
			out.OAuthCode = "HTTP " + re.Response.Status
		}
		out.Hint = hints[out.AADSTS]
		if out.Hint == "" {
			out.Hint = "check MSIDM_TENANT_ID, MSIDM_CLIENT_ID and the client secret or certificate"
		}
		return out
	}
	return &Error{Service: service, Err: stripURLSecrets(err),
		Hint: "check MSIDM_AUTHORITY_URL (or MSIDM_CLOUD) and the network"}
}

// stripURLSecrets keeps the cause of a transport error but never its request body; url.Error
// carries only the URL, which holds no secret for a token endpoint.
func stripURLSecrets(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, ue.URL, ue.Err)
	}
	return err
}
