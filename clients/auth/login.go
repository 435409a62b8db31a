package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// LoginOptions configure the interactive sign-in flows behind 'msidm login ads'.
type LoginOptions struct {
	AuthorityURL string // service root; default the public cloud's
	TenantID     string // default "common"
	ClientID     string
	ClientSecret string // only for a confidential client; empty for a public one
	Scope        string // default AdsScope (which includes offline_access)

	HTTPClient *http.Client // reaches the identity platform
	Out        io.Writer    // where the sign-in URL or device-code message goes; default os.Stderr

	// OpenBrowser opens the authorization URL; default (and on error) the URL is printed to Out.
	OpenBrowser func(url string) error
	// RedirectHost is the host of the loopback redirect URI: "localhost" (default; matches a
	// redirect URI registered as http://localhost, any port) or "127.0.0.1".
	RedirectHost string
	// Timeout bounds the wait for the browser's redirect; default 5 minutes. The device-code
	// flow waits as long as the code is valid.
	Timeout time.Duration

	Store  *TokenStore  // when set, the refresh token is saved here before it is returned
	Logger *slog.Logger // debug lines about the flow; never a code or token

	sleep func(context.Context, time.Duration) error // tests shorten device-code polling
}

func (o *LoginOptions) defaults() {
	if o.AuthorityURL == "" {
		o.AuthorityURL = Clouds["public"].AuthorityURL
	}
	if o.TenantID == "" {
		o.TenantID = "common"
	}
	if o.Scope == "" {
		o.Scope = AdsScope
	}
	if o.Out == nil {
		o.Out = os.Stderr
	}
	if o.RedirectHost == "" {
		o.RedirectHost = "localhost"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
}

func (o *LoginOptions) service() string {
	if strings.Contains(o.Scope, "ads.microsoft.com") {
		return "Microsoft Advertising"
	}
	return "Microsoft Graph"
}

func (o *LoginOptions) endpoint(name string) string {
	return strings.TrimRight(o.AuthorityURL, "/") + "/" + url.PathEscape(o.TenantID) + "/oauth2/v2.0/" + name
}

func (o *LoginOptions) debug(msg string, attrs ...slog.Attr) {
	if o.Logger != nil {
		o.Logger.LogAttrs(context.Background(), slog.LevelDebug, msg, attrs...)
	}
}

// LoginAuthCode signs a user in with the authorization-code flow and PKCE (RFC 7636, S256)
// on a loopback redirect (RFC 8252 §7.3): it listens on 127.0.0.1 on a free port, sends the
// browser to /authorize, waits for the redirect, checks state, and redeems the code with the
// code_verifier. It returns the refresh token (saved to Store first, when set).
func LoginAuthCode(ctx context.Context, o LoginOptions) (string, error) {
	o.defaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("login: cannot listen for the redirect: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	redirect := "http://" + net.JoinHostPort(o.RedirectHost, strconv.Itoa(port)) + "/"
	verifier := randomURLSafe(64) // 86 characters; RFC 7636 §4.1 allows 43 to 128
	state := randomURLSafe(32)

	q := url.Values{
		"client_id":             {o.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirect},
		"response_mode":         {"query"},
		"scope":                 {o.Scope},
		"state":                 {state},
		"code_challenge":        {s256(verifier)},
		"code_challenge_method": {"S256"},
		"prompt":                {"select_account"},
	}
	authURL := o.endpoint("authorize") + "?" + q.Encode()

	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query()
		if r.URL.Path != "/" || (p.Get("code") == "" && p.Get("error") == "") {
			http.NotFound(w, r)
			return
		}
		var res result
		switch {
		case subtle.ConstantTimeCompare([]byte(p.Get("state")), []byte(state)) != 1:
			res.err = &Error{Service: o.service(), OAuthCode: "state_mismatch",
				Hint: "the sign-in redirect did not come from this login attempt; run 'msidm login ads' again"}
		case p.Get("error") != "":
			res.err = authorizeError(o.service(), p.Get("error"), p.Get("error_description"))
		default:
			res.code = p.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "<!doctype html><title>msidm</title><p>Sign-in failed. Return to msidm for details.</p>")
		} else {
			_, _ = io.WriteString(w, "<!doctype html><title>msidm</title><p>Signed in. You can close this tab and return to msidm.</p>")
		}
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush() // the page reaches the browser before the listener shuts down
		}
		select {
		case results <- res:
		default: // a second redirect after the first: ignored
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	o.debug("login: waiting for the authorization redirect", slog.String("redirect_uri", redirect))
	if o.OpenBrowser == nil || o.OpenBrowser(authURL) != nil {
		fmt.Fprintf(o.Out, "To sign in, open this URL in a browser:\n\n  %s\n\n", authURL)
	}

	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	var res result
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-timer.C:
		return "", &Error{Service: o.service(), OAuthCode: "timeout",
			Hint: fmt.Sprintf("no sign-in redirect arrived within %v; run 'msidm login ads' again, or use --device", o.Timeout)}
	case res = <-results:
	}
	if res.err != nil {
		return "", res.err
	}

	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {o.ClientID},
		"code":          {res.code},
		"redirect_uri":  {redirect},
		"code_verifier": {verifier},
		"scope":         {o.Scope},
	}
	if o.ClientSecret != "" {
		form.Set("client_secret", o.ClientSecret)
	}
	tr, err := postToken(ctx, o.HTTPClient, o.endpoint("token"), form)
	if err != nil {
		return "", explain(err, o.service())
	}
	return o.finish(tr)
}

// LoginDeviceCode signs a user in with the device authorization grant (RFC 8628): it asks
// /devicecode for a code, prints the identity platform's message (URL and user code) to Out,
// and polls the token endpoint at the given interval, slowing down when told to, until the
// user finishes, declines, or the code expires.
func LoginDeviceCode(ctx context.Context, o LoginOptions) (string, error) {
	o.defaults()
	form := url.Values{"client_id": {o.ClientID}, "scope": {o.Scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.endpoint("devicecode"), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var dc struct {
		DeviceCode      string  `json:"device_code"`
		UserCode        string  `json:"user_code"`
		VerificationURI string  `json:"verification_uri"`
		ExpiresIn       flexInt `json:"expires_in"`
		Interval        flexInt `json:"interval"`
		Message         string  `json:"message"`
	}
	if _, _, err := doJSON(o.HTTPClient, req, &dc); err != nil {
		return "", explain(err, o.service())
	}
	if dc.DeviceCode == "" {
		return "", &Error{Service: o.service(), OAuthCode: "invalid_response", Hint: "the device-code endpoint sent no device_code; check MSIDM_AUTHORITY_URL"}
	}
	msg := dc.Message
	if msg == "" {
		msg = fmt.Sprintf("To sign in, open %s and enter the code %s.", dc.VerificationURI, dc.UserCode)
	}
	fmt.Fprintln(o.Out, msg)

	interval := time.Duration(dc.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2 default
	}
	lifetime := time.Duration(dc.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = 15 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, lifetime)
	defer cancel()
	poll := url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id":   {o.ClientID},
		"device_code": {dc.DeviceCode},
	}
	if o.ClientSecret != "" {
		poll.Set("client_secret", o.ClientSecret)
	}
	for {
		if err := o.sleep(ctx, interval); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return "", deviceExpired(o.service())
			}
			return "", err
		}
		tr, err := postToken(ctx, o.HTTPClient, o.endpoint("token"), poll)
		if err == nil {
			return o.finish(tr)
		}
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			if errors.Is(err, context.DeadlineExceeded) {
				return "", deviceExpired(o.service())
			}
			return "", explain(err, o.service())
		}
		switch re.ErrorCode {
		case "authorization_pending":
			o.debug("login: waiting for the user to enter the code")
		case "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5
			o.debug("login: slowing down", slog.Duration("interval", interval))
		case "expired_token", "code_expired":
			return "", deviceExpired(o.service())
		case "access_denied", "authorization_declined":
			return "", &Error{Service: o.service(), OAuthCode: re.ErrorCode,
				Hint: "the sign-in was declined; run 'msidm login ads --device' again and approve it"}
		default:
			return "", explain(err, o.service())
		}
	}
}

// finish checks that the flow produced a refresh token and saves it.
func (o *LoginOptions) finish(tr *tokenResponse) (string, error) {
	if tr.RefreshToken == "" {
		return "", &Error{Service: o.service(), OAuthCode: "no_refresh_token",
			Hint: "the identity platform issued no refresh token: the scope must include offline_access"}
	}
	if o.Store != nil {
		if err := o.Store.Save(tr.RefreshToken); err != nil {
			return "", &Error{Service: o.service(), Err: err, Hint: "make MSIDM_STATE_DIR writable and sign in again"}
		}
	}
	o.debug("login: signed in", slog.Bool("saved", o.Store != nil))
	return tr.RefreshToken, nil
}

func deviceExpired(service string) error {
	return &Error{Service: service, OAuthCode: "expired_token",
		Hint: "the code expired before sign-in finished; run 'msidm login ads --device' again"}
}

// authorizeError explains an error the /authorize endpoint sent back on the redirect.
func authorizeError(service, code, description string) error {
	e := &Error{Service: service, OAuthCode: code, AADSTS: aadstsCode.FindString(description)}
	e.Hint = hints[e.AADSTS]
	if e.Hint == "" {
		e.Hint = "sign-in did not complete; check MSIDM_ADS_CLIENT_ID and the app registration's redirect URIs"
		if code == "access_denied" {
			e.Hint = "the sign-in or consent was declined; run 'msidm login ads' again and accept it"
		}
	}
	return e
}

// s256 is the PKCE S256 code challenge: BASE64URL(SHA256(verifier)), RFC 7636 §4.2.
func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func randomURLSafe(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
