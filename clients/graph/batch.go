package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxBatch is Graph's limit of requests per $batch (NOTES §4).
const MaxBatch = 20

// BatchRequest is one request inside $batch. URL is relative to the version root
// ("/users/{id}"); DependsOn names ids that must succeed first.
type BatchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      any               `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// BatchResponse is one item's answer. A 200 batch says nothing of its items: check Status.
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// Err returns the item's failure as an *Error (nil for 2xx).
func (r BatchResponse) Err() error {
	if r.Status < 300 {
		return nil
	}
	e := &Error{StatusCode: r.Status, RetryAfter: r.Headers["Retry-After"], Code: http.StatusText(r.Status)}
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(r.Body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.RequestID = env.Error.Code, env.Error.Message, env.Error.InnerError.RequestID
	}
	return e
}

// RemoveGroupMemberRequest builds the $batch item that removes memberID from groupID.
func RemoveGroupMemberRequest(id, groupID, memberID string) BatchRequest {
	return BatchRequest{ID: id, Method: http.MethodDelete,
		URL: "/groups/" + url.PathEscape(groupID) + "/members/" + url.PathEscape(memberID) + "/$ref"}
}

// BatchOptions tune per-item retries of throttled items.
type BatchOptions struct {
	MaxRetries int           // per item; default 5
	MaxWait    time.Duration // cap of one wait; default 30 s
}

// Batch sends any number of requests through $batch, 20 per call, and returns one response
// per request (in request order). Items answered 429 (or 503/504 for idempotent methods) are
// resent after their Retry-After, up to MaxRetries times. Without dependencies the chunks run
// in parallel; with dependencies they run in order, and a dependency on an item of an earlier
// chunk is settled locally: satisfied if it succeeded, 424 Failed Dependency if not.
// https://learn.microsoft.com/graph/json-batching
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest, opts BatchOptions) ([]BatchResponse, error) {
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 5
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = 30 * time.Second
	}
	seen := map[string]bool{}
	hasDeps := false
	for _, r := range reqs {
		if r.ID == "" || seen[strings.ToLower(r.ID)] {
			return nil, fmt.Errorf("graph: batch request ids must be unique and non-empty (%q)", r.ID)
		}
		seen[strings.ToLower(r.ID)] = true
		hasDeps = hasDeps || len(r.DependsOn) > 0
	}
	out := make([]BatchResponse, len(reqs))
	index := make(map[string]int, len(reqs))
	for i, r := range reqs {
		index[r.ID] = i
	}
	chunks := chunk(len(reqs), MaxBatch)
	if !hasDeps {
		errs := make([]error, len(chunks))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for ci, ch := range chunks {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[ci] = c.runChunk(ctx, reqs[ch[0]:ch[1]], out[ch[0]:ch[1]], opts)
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return out, err
			}
		}
		return out, nil
	}
	for _, ch := range chunks {
		part := make([]BatchRequest, 0, ch[1]-ch[0])
		for i := ch[0]; i < ch[1]; i++ {
			r := reqs[i]
			var local []string
			failed := false
			for _, d := range r.DependsOn {
				j, ok := index[d]
				switch {
				case !ok:
					return out, fmt.Errorf("graph: batch request %q depends on unknown id %q", r.ID, d)
				case j >= ch[0]:
					local = append(local, d)
				case out[j].Status >= 300:
					failed = true
				}
			}
			if failed {
				out[i] = BatchResponse{ID: r.ID, Status: http.StatusFailedDependency}
				continue
			}
			r.DependsOn = local
			part = append(part, r)
		}
		answers := make([]BatchResponse, len(part))
		if err := c.runChunk(ctx, part, answers, opts); err != nil {
			return out, err
		}
		for _, a := range answers {
			out[index[a.ID]] = a
		}
	}
	return out, nil
}

func chunk(n, size int) [][2]int {
	var out [][2]int
	for i := 0; i < n; i += size {
		out = append(out, [2]int{i, min(i+size, n)})
	}
	return out
}

// runChunk sends up to 20 requests and retries the throttled items; out[i] answers reqs[i].
func (c *Client) runChunk(ctx context.Context, reqs []BatchRequest, out []BatchResponse, opts BatchOptions) error {
	pending := reqs
	pos := make(map[string]int, len(reqs))
	for i, r := range reqs {
		pos[r.ID] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		var resp struct {
			Responses []BatchResponse `json:"responses"`
		}
		if err := c.do(ctx, http.MethodPost, c.base+"/$batch", nil, map[string]any{"requests": pending}, &resp); err != nil {
			return err
		}
		var retry []BatchRequest
		var wait time.Duration
		for _, r := range resp.Responses {
			i, ok := pos[r.ID]
			if !ok {
				continue
			}
			out[i] = r
			if attempt < opts.MaxRetries && retriable(reqs[i].Method, r.Status) {
				retry = append(retry, reqs[i])
				wait = max(wait, retryAfter(r.Headers["Retry-After"], attempt))
			}
		}
		for _, r := range pending { // an item Graph did not answer is a protocol fault
			if out[pos[r.ID]].ID == "" {
				return fmt.Errorf("graph: $batch response lacks item %q", r.ID)
			}
		}
		if len(retry) == 0 {
			return nil
		}
		timer := time.NewTimer(min(wait, opts.MaxWait))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		pending = retry
	}
	return nil
}

func retriable(method string, status int) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return method == http.MethodGet || method == http.MethodDelete || method == http.MethodPut
	}
	return false
}

// retryAfter reads whole or fractional seconds; without a value it backs off exponentially.
func retryAfter(v string, attempt int) time.Duration {
	if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	return time.Duration(1<<min(attempt, 5)) * 500 * time.Millisecond
}
