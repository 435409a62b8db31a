package graphemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// JSON batching, POST /v1.0/$batch (NOTES §4): up to 20 requests with unique ids, relative
// urls, optional dependsOn. Each item runs in-process through the same authentication,
// maintenance and routing as a direct request, so it behaves (and is counted by Calls)
// exactly as it would on its own. Items run one at a time in request order, a dependent after
// its dependencies; an item whose dependency failed is answered 424 without running.

// maxBatch is the documented limit of requests per batch (NOTES §4).
const maxBatch = 20

type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// batchReply is one element of "responses", keys in the order of samples/batch-response.json.
type batchReply struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// errBatch is the whole-batch 400 for a malformed payload. The service's exact texts are not
// documented (NOTES §10).
func errBatch(message string) *graphError {
	return newError(http.StatusBadRequest, "BadRequest", message)
}

func (s *Server) batch(x *exchange) *graphError {
	items, gerr := readBatch(x)
	if gerr != nil {
		return gerr
	}
	order, gerr := batchOrder(items)
	if gerr != nil {
		return gerr
	}
	replies := make([]batchReply, len(items))
	failed := map[string]bool{}
	for _, i := range order {
		replies[i] = s.runItem(x, items[i], failed)
		if replies[i].Status < 200 || replies[i].Status > 299 {
			failed[strings.ToLower(items[i].ID)] = true
		}
	}
	body, _ := json.Marshal(struct {
		Responses []batchReply `json:"responses"`
	}{replies})
	s.ok(x, body)
	return nil
}

// readBatch decodes and checks the payload: 1–20 items, each with id, method and url, ids
// unique (case-insensitively, NOTES §4).
func readBatch(x *exchange) ([]batchItem, *graphError) {
	raw, err := io.ReadAll(http.MaxBytesReader(x.w, x.r.Body, maxBody))
	var payload struct {
		Requests []batchItem `json:"requests"`
	}
	if err != nil || json.Unmarshal(raw, &payload) != nil || len(payload.Requests) == 0 {
		return nil, errBatch("Invalid batch payload format.")
	}
	if len(payload.Requests) > maxBatch {
		return nil, errBatch("The number of requests in a batch cannot exceed " + strconv.Itoa(maxBatch) + ".")
	}
	seen := map[string]bool{}
	for _, it := range payload.Requests {
		if it.ID == "" || it.Method == "" || it.URL == "" {
			return nil, errBatch("Invalid batch payload format: every request needs id, method and url.")
		}
		if seen[strings.ToLower(it.ID)] {
			return nil, errBatch("Batch request contains duplicate request id '" + it.ID + "'.")
		}
		seen[strings.ToLower(it.ID)] = true
	}
	for _, it := range payload.Requests {
		for _, d := range it.DependsOn {
			if !seen[strings.ToLower(d)] {
				return nil, errBatch("Request '" + it.ID + "' depends on unknown request '" + d + "'.")
			}
		}
	}
	return payload.Requests, nil
}

// batchOrder returns item indexes so that each item follows its dependencies, otherwise in
// request order; a dependency cycle fails the batch.
func batchOrder(items []batchItem) ([]int, *graphError) {
	done := map[string]bool{}
	order := make([]int, 0, len(items))
	for len(order) < len(items) {
		progress := false
		for i, it := range items {
			if done[strings.ToLower(it.ID)] || !allDone(it.DependsOn, done) {
				continue
			}
			done[strings.ToLower(it.ID)] = true
			order = append(order, i)
			progress = true
		}
		if !progress {
			return nil, errBatch("Batch request contains a dependsOn cycle.")
		}
	}
	return order, nil
}

func allDone(ids []string, done map[string]bool) bool {
	for _, id := range ids {
		if !done[strings.ToLower(id)] {
			return false
		}
	}
	return true
}

// runItem answers one item: 424 when a dependency failed, the hook's status when it injects
// one, else the item dispatched through serve.
func (s *Server) runItem(outer *exchange, it batchItem, failed map[string]bool) batchReply {
	for _, d := range it.DependsOn {
		if failed[strings.ToLower(d)] {
			return errorReply(it.ID, outer, newError(http.StatusFailedDependency, "FailedDependency",
				"The request could not be processed because request '"+d+"' it depends on failed."), s)
		}
	}
	if hook := s.BatchItemHook; hook != nil {
		if status, retryAfter, inject := hook(it.Method, it.URL); inject {
			e := errThrottled(retryAfter)
			if status != http.StatusTooManyRequests {
				e = newError(status, strings.ReplaceAll(http.StatusText(status), " ", ""), http.StatusText(status))
				if retryAfter != "" {
					e.header = map[string]string{"Retry-After": retryAfter}
				}
			}
			return errorReply(it.ID, outer, e, s)
		}
	}
	req, gerr := itemRequest(outer.r, it)
	if gerr != nil {
		return errorReply(it.ID, outer, gerr, s)
	}
	rec := &recorder{header: http.Header{}}
	x := newExchange(rec, req)
	x.clientRequestID = outer.clientRequestID
	s.serve(x)
	return rec.reply(it.ID)
}

// itemRequest builds the in-process request of an item: url relative to /v1.0 (with or
// without the leading slash, NOTES §4), the item's headers, the outer request's token.
func itemRequest(outer *http.Request, it batchItem) (*http.Request, *graphError) {
	if strings.Contains(it.URL, "://") || strings.HasPrefix(strings.TrimPrefix(it.URL, "/"), "$batch") {
		return nil, errBadRequest("Invalid request URL '" + it.URL + "': batch items need a relative URL and cannot be batches.")
	}
	body, gerr := itemBody(it)
	if gerr != nil {
		return nil, gerr
	}
	scheme := "http"
	if outer.TLS != nil {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(it.Method),
		scheme+"://"+outer.Host+"/v1.0/"+strings.TrimPrefix(it.URL, "/"), bytes.NewReader(body))
	if err != nil {
		return nil, errBadRequest("Invalid request URL '" + it.URL + "'.")
	}
	req.Host, req.TLS = outer.Host, outer.TLS
	for k, v := range it.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", outer.Header.Get("Authorization"))
	return req, nil
}

// itemBody returns an item's body bytes: a JSON value as is, or a base64 string for a
// non-JSON Content-Type (NOTES §4). A body needs a Content-Type header.
func itemBody(it batchItem) ([]byte, *graphError) {
	if len(it.Body) == 0 || string(it.Body) == "null" {
		return nil, nil
	}
	ct := ""
	for k, v := range it.Headers {
		if strings.EqualFold(k, "Content-Type") {
			ct = v
		}
	}
	if ct == "" {
		return nil, errBadRequest("Content-Type header must be specified when a body is present.")
	}
	if strings.Contains(strings.ToLower(ct), "json") {
		return it.Body, nil
	}
	var enc string
	if json.Unmarshal(it.Body, &enc) != nil {
		return it.Body, nil
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errBadRequest("The body of a non-JSON request must be base64 encoded.")
	}
	return b, nil
}

// errorReply renders e as an item response.
func errorReply(id string, outer *exchange, e *graphError, s *Server) batchReply {
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range e.header {
		h[k] = v
	}
	return batchReply{ID: id, Status: e.status, Headers: h,
		Body: errorJSON(e, newObjectID(), outer.clientRequestID, s.signer.Now())}
}

// recorder captures an item's response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// reply turns the capture into an item response: headers without the correlation ids (they
// belong to the batch), x-ms-resource-unit as in samples/batch-response.json, and the body as
// JSON, or as a JSON string for text/plain ($count).
func (r *recorder) reply(id string) batchReply {
	h := map[string]string{"x-ms-resource-unit": "1"}
	for k, v := range r.header {
		if k != "Request-Id" && k != "Client-Request-Id" && len(v) > 0 {
			if k == "Odata-Version" {
				k = "OData-Version" // the service's spelling; net/http canonicalises it
			}
			h[k] = v[0]
		}
	}
	br := batchReply{ID: id, Status: r.status, Headers: h}
	switch {
	case r.body.Len() == 0:
	case strings.Contains(r.header.Get("Content-Type"), "json"):
		br.Body = json.RawMessage(r.body.Bytes())
	default:
		br.Body, _ = json.Marshal(r.body.String())
	}
	return br
}
