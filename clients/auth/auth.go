// Package auth builds the OAuth 2.0 token sources msidm uses against the Microsoft identity
// platform (golang.org/x/oauth2): app-only client credentials for Microsoft Graph and a
// delegated refresh-token source for Microsoft Advertising. It also knows the national
// clouds' endpoints, and turns the identity platform's AADSTS errors into messages that
// name the setting to fix. Secrets never appear in its errors.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
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
// used to reach the token endpoint.
func GraphTokenSource(hc *http.Client, c AppCredentials) oauth2.TokenSource {
	cfg := clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     TokenURL(c.AuthorityURL, c.TenantID),
		Scopes:       []string{graphScope(c.GraphURL)},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return explainErrors(cfg.TokenSource(ctx), "Microsoft Graph")
}

// graphScope is "<resource>/.default". The resource of a test or proxy endpoint is still the
// public Graph resource unless the root is a known national cloud.
func graphScope(root string) string {
	for _, c := range Clouds {
		if strings.TrimRight(root, "/") == c.GraphURL {
			return c.GraphURL + "/.default"
		}
	}
	return "https://graph.microsoft.com/.default"
}

// DelegatedCredentials are the settings of the delegated (user) flow used for Microsoft Advertising.
type DelegatedCredentials struct {
	AuthorityURL string
	TenantID     string // "common", "organizations" or a tenant id
	ClientID     string
	ClientSecret string // empty for a public client
	RefreshToken string // bootstrap refresh token
	Scope        string
}

// AdsTokenSource returns a caching token source that redeems and rotates the refresh token.
// Every rotated refresh token is passed to onRotate (may be nil) before the new access token
// is handed out, so a caller can persist it.
//
// x/oauth2's own refresher sends no scope, but the v2.0 endpoint needs the scope on every
// refresh to know which resource the access token is for (without it the token is for
// Graph, and Customer Management rejects it with 105), so the refresh request is built here.
func AdsTokenSource(hc *http.Client, c DelegatedCredentials, onRotate func(refreshToken string)) oauth2.TokenSource {
	r := &refresher{hc: hc, tokenURL: TokenURL(c.AuthorityURL, c.TenantID), clientID: c.ClientID,
		clientSecret: c.ClientSecret, scope: c.Scope, refreshToken: c.RefreshToken, onRotate: onRotate}
	return explainErrors(r, "Microsoft Advertising")
}

// refresher redeems a refresh token (RFC 6749 §6) with the scope, and keeps the newest
// refresh token the identity platform returns.
type refresher struct {
	hc           *http.Client
	tokenURL     string
	clientID     string
	clientSecret string
	scope        string
	onRotate     func(string)

	mu           sync.Mutex
	refreshToken string
}

func (r *refresher) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {r.clientID},
		"refresh_token": {r.refreshToken},
		"scope":         {r.scope},
	}
	if r.clientSecret != "" {
		form.Set("client_secret", r.clientSecret)
	}
	resp, err := r.hc.PostForm(r.tokenURL, form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var tr struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		RefreshToken     string `json:"refresh_token"`
		ExpiresIn        int64  `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: tr.Error, ErrorDescription: tr.ErrorDescription}
	}
	if tr.RefreshToken != "" && tr.RefreshToken != r.refreshToken {
		r.refreshToken = tr.RefreshToken
		if r.onRotate != nil {
			r.onRotate(tr.RefreshToken)
		}
	}
	t := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: r.refreshToken}
	if tr.ExpiresIn > 0 {
		t.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return t, nil
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
	if err == nil {
		return t, nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		out := &Error{Service: e.service, OAuthCode: re.ErrorCode, AADSTS: aadstsCode.FindString(re.ErrorDescription)}
		if out.OAuthCode == "" && re.Response != nil {
			out.OAuthCode = "HTTP " + re.Response.Status
		}
		out.Hint = hints[out.AADSTS]
		if out.Hint == "" {
			out.Hint = "check MSIDM_TENANT_ID, MSIDM_CLIENT_ID and the client secret or certificate"
		}
		return nil, out
	}
	return nil, &Error{Service: e.service, Err: stripURLSecrets(err),
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
