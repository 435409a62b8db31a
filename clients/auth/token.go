package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// tokenResponse is the identity platform's token (or error) response, RFC 6749 §5.1/§5.2.
type tokenResponse struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	RefreshToken     string  `json:"refresh_token"`
	ExpiresIn        flexInt `json:"expires_in"`
	ExpiresOn        flexInt `json:"expires_on"` // managed identity: Unix seconds
	Scope            string  `json:"scope"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
}

// token converts a successful response, with the expiry taken from expires_in or, failing
// that, from expires_on.
func (tr *tokenResponse) token(now time.Time) *oauth2.Token {
	t := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: tr.RefreshToken}
	switch {
	case tr.ExpiresIn > 0:
		t.Expiry = now.Add(time.Duration(tr.ExpiresIn) * time.Second)
	case tr.ExpiresOn > 0:
		t.Expiry = time.Unix(int64(tr.ExpiresOn), 0)
	}
	return t
}

// flexInt accepts a JSON number or a string holding one: IMDS and App Service send
// expires_in and expires_on as strings, the v2.0 endpoint as numbers.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// postToken sends a form to a token endpoint. A refusal comes back as *oauth2.RetrieveError
// (for explain); the form, which holds secrets, is never part of an error.
func postToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var tr tokenResponse
	resp, body, err := doJSON(hc, req, &tr)
	if err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: tr.Error, ErrorDescription: tr.ErrorDescription}
	}
	return &tr, nil
}

// doJSON sends req and decodes a 200 answer into out. Any other answer, or one that is not
// JSON, comes back as *oauth2.RetrieveError with the OAuth error fields when present.
func doJSON(hc *http.Client, req *http.Request, out any) (*http.Response, []byte, error) {
	resp, err := httpClient(hc).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusOK && json.Unmarshal(body, out) == nil {
		return resp, body, nil
	}
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	return nil, nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: e.Error, ErrorDescription: e.ErrorDescription}
}

func httpClient(hc *http.Client) *http.Client {
	if hc != nil {
		return hc
	}
	return &http.Client{Timeout: 60 * time.Second}
}
