// Package graph is msidm's typed client for Microsoft Graph v1.0. It knows nothing of MCP.
//
// The HTTP client passed to New must add the Authorization header (an oauth2 transport);
// this package adds client-request-id to every call, decodes Graph's error envelope into
// *Error, and follows @odata.nextLink only within the configured service root so that a
// forged page link can never send the bearer token elsewhere.
package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Client calls one Microsoft Graph service root.
type Client struct {
	base string // e.g. https://graph.microsoft.com/v1.0
	http *http.Client
}

// New returns a client for the service root (scheme://host[:port], as MSIDM_GRAPH_URL).
func New(root string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(root, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("graph: service root %q must be an absolute http(s) URL such as https://graph.microsoft.com", root)
	}
	if u.Path != "" {
		return nil, fmt.Errorf("graph: service root %q must not contain a path; msidm appends /v1.0 itself", root)
	}
	return &Client{base: u.String() + "/v1.0", http: hc}, nil
}

// BaseURL is the versioned root all requests go to (…/v1.0).
func (c *Client) BaseURL() string { return c.base }

// Error is Graph's error envelope plus the response's correlation ids.
// https://learn.microsoft.com/graph/errors
type Error struct {
	StatusCode      int
	Code            string
	DetailCodes     []string // error.details[].code, e.g. ObjectConflict
	Message         string
	RequestID       string
	ClientRequestID string
	RetryAfter      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph: %d %s: %s (request-id %s)", e.StatusCode, e.Code, e.Message, e.RequestID)
}

// NotFound reports whether err is a Graph 404.
func NotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// Forbidden reports whether err is a Graph 403 (missing permission).
func Forbidden(err error) bool { return statusIs(err, http.StatusForbidden) }

// Throttled reports whether err is a Graph 429.
func Throttled(err error) bool { return statusIs(err, http.StatusTooManyRequests) }

// Conflict reports an object that already exists: 409, or Graph's 400 with an
// ObjectConflict detail (samples/error-objectconflict.OBSERVED.json) or the "already exist"
// message of a duplicate member reference (samples/error-member-already-exists.OBSERVED.json).
func Conflict(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.StatusCode == http.StatusConflict || slices.Contains(e.DetailCodes, "ObjectConflict") {
		return true
	}
	return e.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, "already exist")
}

// DeltaTokenExpired reports that a delta or skip token can no longer be used and a full
// resync is needed. The sources disagree on the shape (NOTES §2): 400 or 410 with
// syncStateNotFound / SyncStateNotFound, resyncRequired, or 410 Gone with a Location.
func DeltaTokenExpired(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch strings.ToLower(e.Code) {
	case "syncstatenotfound", "resyncrequired":
		return true
	}
	return e.StatusCode == http.StatusGone
}

func statusIs(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == status
}

// get issues a GET to an absolute URL under the service root and decodes a JSON body into out.
func (c *Client) get(ctx context.Context, rawURL string, header http.Header, out any) error {
	return c.do(ctx, http.MethodGet, rawURL, header, nil, out)
}

// do sends one request to an absolute URL under the service root. body (may be nil) is sent
// as JSON; a 2xx JSON answer is decoded into out (may be nil); anything else is an *Error.
func (c *Client) do(ctx context.Context, method, rawURL string, header http.Header, body, out any) error {
	if !c.owns(rawURL) {
		return fmt.Errorf("graph: refusing to call %q: not under %s", rawURL, c.base)
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("graph: encoding %s body: %w", method, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("client-request-id", newGUID())
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("graph: %s %s: %w", method, redactQuery(rawURL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("graph: decoding %s %s: %w", method, redactQuery(rawURL), err)
	}
	return nil
}

// owns reports whether rawURL is under the service root (same scheme, host and /v1.0 prefix).
func (c *Client) owns(rawURL string) bool {
	return rawURL == c.base || strings.HasPrefix(rawURL, c.base+"/") || strings.HasPrefix(rawURL, c.base+"?")
}

func redactQuery(rawURL string) string {
	if i := strings.IndexByte(rawURL, '?'); i >= 0 {
		return rawURL[:i]
	}
	return rawURL
}

// decodeError reads Graph's {"error":{code,message,innerError}} envelope; a body that is not
// an envelope still yields an *Error with the HTTP status.
func decodeError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{
		StatusCode:      resp.StatusCode,
		RequestID:       resp.Header.Get("request-id"),
		ClientRequestID: resp.Header.Get("client-request-id"),
		RetryAfter:      resp.Header.Get("Retry-After"),
	}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Code string `json:"code"`
			} `json:"details"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message = env.Error.Code, env.Error.Message
		for _, d := range env.Error.Details {
			e.DetailCodes = append(e.DetailCodes, d.Code)
		}
		if e.RequestID == "" {
			e.RequestID = env.Error.InnerError.RequestID
		}
	} else {
		e.Code = http.StatusText(resp.StatusCode)
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// newGUID returns a random version-4 GUID for client-request-id.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
