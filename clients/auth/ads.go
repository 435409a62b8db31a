package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// expiryMargin is how long before its expiry an access token is replaced, so that a token
// handed out is still valid when the request using it arrives.
const expiryMargin = 2 * time.Minute

// AdsSource is the token source for Microsoft Advertising: it redeems and rotates the
// refresh token, caches the access token, and collapses concurrent refreshes into one.
type AdsSource struct {
	hc           *http.Client
	tokenURL     string
	clientID     string
	clientSecret string
	scope        string
	onRotate     func(string)
	store        *TokenStore
	log          *slog.Logger
	now          func() time.Time

	mu           sync.Mutex
	loaded       bool
	refreshToken string
	fallback     string // the bootstrap token, tried once when the stored one is refused
	tok          *oauth2.Token
}

// AdsTokenSource returns a caching token source that redeems and rotates the refresh token.
// Every refresh token the source learns besides the bootstrap one (read from the store or
// rotated) is passed to onRotate (may be nil) before it is used, so a caller can register it
// with the redactor; with a Store, every rotation is also saved there before the new access
// token is handed out, and a failed save is an error rather than a token whose rotation would
// be lost.
//
// x/oauth2's own refresher sends no scope, but the v2.0 endpoint needs the scope on every
// refresh to know which resource the access token is for (without it the token is for
// Graph, and Customer Management rejects it with 105), so the refresh request is built here.
func AdsTokenSource(hc *http.Client, c DelegatedCredentials, onRotate func(refreshToken string)) *AdsSource {
	return &AdsSource{hc: hc, tokenURL: TokenURL(c.AuthorityURL, c.TenantID), clientID: c.ClientID,
		clientSecret: c.ClientSecret, scope: c.Scope, refreshToken: c.RefreshToken, onRotate: onRotate,
		store: c.Store, log: c.Logger, now: time.Now}
}

// Token returns a valid access token, refreshing when the cached one is near expiry or was
// invalidated. Callers that arrive while a refresh is running wait for it and share its token.
func (s *AdsSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (s.tok.Expiry.IsZero() || s.now().Add(expiryMargin).Before(s.tok.Expiry)) {
		t := *s.tok
		return &t, nil
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	t, err := s.refresh()
	var re *oauth2.RetrieveError
	if err != nil && s.fallback != "" && errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		s.debug("the stored refresh token was refused; trying MSIDM_ADS_REFRESH_TOKEN")
		s.refreshToken, s.fallback = s.fallback, ""
		t, err = s.refresh()
	}
	if err != nil {
		return nil, explain(err, "Microsoft Advertising")
	}
	s.fallback = ""
	s.tok = t
	c := *t
	return &c, nil
}

// Invalidate drops the cached access token: the next Token refreshes. The Ads client calls
// it after fault 109 (AuthenticationTokenExpired).
func (s *AdsSource) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = nil
}

// InvalidateToken drops the cached access token only if it is accessToken: of many requests
// that failed with the same token, the first forces a refresh and the rest reuse its result.
func (s *AdsSource) InvalidateToken(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == accessToken {
		s.tok = nil
	}
}

// load reads the stored refresh token once, before the first refresh.
func (s *AdsSource) load() error {
	if !s.loaded && s.store != nil {
		rt, err := s.store.Load()
		if err != nil {
			return &Error{Service: "Microsoft Advertising", Err: err,
				Hint: "fix or delete the file, then run 'msidm login ads' or set MSIDM_ADS_REFRESH_TOKEN"}
		}
		s.loaded = true
		if rt != "" && rt != s.refreshToken {
			if s.onRotate != nil {
				s.onRotate(rt)
			}
			s.fallback, s.refreshToken = s.refreshToken, rt
		}
	}
	if s.refreshToken == "" {
		return &Error{Service: "Microsoft Advertising", Err: errors.New("no refresh token"),
			Hint: "run 'msidm login ads' or set MSIDM_ADS_REFRESH_TOKEN"}
	}
	return nil
}

// refresh redeems the refresh token (RFC 6749 §6) with the scope. A rotated refresh token is
// registered and persisted before it replaces the old one; if saving fails the old one stays
// (the identity platform keeps it valid) and no access token is handed out.
func (s *AdsSource) refresh() (*oauth2.Token, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {s.clientID},
		"refresh_token": {s.refreshToken},
		"scope":         {s.scope},
	}
	if s.clientSecret != "" {
		form.Set("client_secret", s.clientSecret)
	}
	tr, err := postToken(context.Background(), s.hc, s.tokenURL, form)
	if err != nil {
		return nil, err
	}
	if tr.RefreshToken != "" && tr.RefreshToken != s.refreshToken {
		if s.onRotate != nil {
			s.onRotate(tr.RefreshToken)
		}
		if s.store != nil {
			if err := s.store.Save(tr.RefreshToken); err != nil {
				return nil, &Error{Service: "Microsoft Advertising", Err: fmt.Errorf("saving the rotated refresh token: %w", err),
					Hint: "make MSIDM_STATE_DIR writable; the new access token was not used"}
			}
		}
		s.refreshToken = tr.RefreshToken
		s.debug("refresh token rotated", slog.Bool("persisted", s.store != nil))
	}
	t := tr.token(s.now())
	t.RefreshToken = s.refreshToken
	s.debug("access token refreshed", slog.Time("expiry", t.Expiry))
	return t, nil
}

func (s *AdsSource) debug(msg string, attrs ...slog.Attr) {
	if s.log != nil {
		s.log.LogAttrs(context.Background(), slog.LevelDebug, msg, append(attrs, slog.String("service", "Microsoft Advertising"))...)
	}
}
