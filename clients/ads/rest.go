package ads

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// RESTPath is the REST base path below MSIDM_ADS_URL (REST.md §1: same host as SOAP,
// without /Api).
const RESTPath = "/CustomerManagement/v13/"

// Protocols MSIDM_ADS_PROTOCOL accepts.
const (
	ProtocolSOAP = "soap"
	ProtocolREST = "rest"
)

// RESTClient speaks the JSON REST binding of Customer Management v13 (REST.md).
type RESTClient struct {
	transport
	base       string
	customerID int64
	accountID  int64
}

// NewREST returns a REST client for the service root (scheme://host[:port], as
// MSIDM_ADS_URL). customerID and accountID, when not 0, are sent as the CustomerId and
// CustomerAccountId HTTP headers that every SDK sends (REST.md §2.1; the docs list neither
// for Customer Management, so 0 leaves them out). The access token goes in
// Authorization: Bearer, so hc must not add its own.
func NewREST(root string, hc *http.Client, tokens oauth2.TokenSource, developerToken string, customerID, accountID int64) (*RESTClient, error) {
	u, err := parseRoot(root)
	if err != nil {
		return nil, err
	}
	return &RESTClient{transport: newTransport(ProtocolREST, hc, tokens, developerToken), base: u + RESTPath,
		customerID: customerID, accountID: accountID}, nil
}

// call sends one operation: method and path per REST.md §1, in a JSON body (every method,
// DELETE included), decodes a 2xx body into out (may be nil) and runs check (may be nil)
// on it inside the attempt, so that a response without a required value is reported with
// its TrackingId too. An error body is returned as *Fault (REST.md §3).
func (c *RESTClient) call(ctx context.Context, op, method, path string, idempotent bool, in, out any, check func() error) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("ads: %s: encoding the request: %w", op, err)
	}
	return c.do(ctx, op, idempotent, func(ctx context.Context, accessToken string) (exchange, error) {
		var ex exchange
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(payload))
		if err != nil {
			return ex, err
		}
		req.Header.Set("Authorization", "Bearer "+accessToken)
		req.Header.Set("DeveloperToken", c.developerToken)
		if c.customerID != 0 {
			req.Header.Set("CustomerId", strconv.FormatInt(c.customerID, 10))
		}
		if c.accountID != 0 {
			req.Header.Set("CustomerAccountId", strconv.FormatInt(c.accountID, 10))
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Accept", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return ex, fmt.Errorf("ads: %s: %w", op, err)
		}
		defer resp.Body.Close()
		ex.status, ex.tracking = resp.StatusCode, resp.Header.Get("TrackingId")
		raw, err := readBody(op, resp)
		if err != nil {
			return ex, err
		}
		if err := decodeRESTResponse(op, resp.StatusCode, ex.tracking, raw, out); err != nil || check == nil {
			return ex, err
		}
		return ex, check()
	})
}

// decodeRESTResponse turns one REST response into out or an error.
func decodeRESTResponse(op string, status int, tracking string, raw []byte, out any) error {
	if f, ok := decodeRESTError(status, tracking, raw); ok {
		return f
	}
	switch {
	case status == http.StatusNotFound || status == http.StatusNotImplemented:
		// The .NET SDK reads these as "REST not available for this service" (REST.md §3).
		return fmt.Errorf("ads: %s: HTTP %d: the REST endpoint is not available here; set MSIDM_ADS_PROTOCOL=soap", op, status)
	case status < 200 || status > 299:
		return fmt.Errorf("ads: %s: HTTP %d without a fault body (%d bytes)", op, status, len(raw))
	case out == nil:
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("ads: %s: HTTP %d: response is not the documented JSON: %w", op, status, err)
	}
	return nil
}

// restFault is a REST error body: the fault object itself at the top level with a "Type"
// discriminator (REST.md §3, docs-objects/apifault.json, adapifaultdetail.json). The
// {"ApplicationFault":{…}} wrapper and BatchErrors of the PHP migration guide contradict
// every SDK parser but are accepted too, as ../shared asks when sources disagree.
type restFault struct {
	Type             string          `json:"Type"`
	TrackingID       *string         `json:"TrackingId"`
	Errors           []restFaultItem `json:"Errors"`
	OperationErrors  []restFaultItem `json:"OperationErrors"`
	BatchErrors      []restFaultItem `json:"BatchErrors"`
	ApplicationFault *restFault      `json:"ApplicationFault"`
}

// restFaultItem covers AdApiError (Detail, ErrorCode) and OperationError (Details).
type restFaultItem struct {
	Code      jint    `json:"Code"`
	Detail    *string `json:"Detail"`
	Details   *string `json:"Details"`
	ErrorCode *string `json:"ErrorCode"`
	Message   *string `json:"Message"`
}

// decodeRESTError reads a fault body. ok is false when raw is not one; a body is taken as
// a fault only when it names a fault Type or carries fault errors, whatever the HTTP status
// (a success body never has Type, REST.md §2.2).
func decodeRESTError(status int, tracking string, raw []byte) (*Fault, bool) {
	var rf restFault
	if json.Unmarshal(raw, &rf) != nil {
		return nil, false
	}
	if rf.ApplicationFault != nil && rf.Type == "" {
		rf = *rf.ApplicationFault
	}
	items := append(append(append([]restFaultItem{}, rf.Errors...), rf.OperationErrors...), rf.BatchErrors...)
	if !strings.HasSuffix(rf.Type, "Fault") && !strings.HasSuffix(rf.Type, "FaultDetail") && len(items) == 0 {
		return nil, false
	}
	f := &Fault{HTTPStatus: status, Detail: rf.Type, TrackingID: tracking}
	if rf.TrackingID != nil && *rf.TrackingID != "" {
		f.TrackingID = *rf.TrackingID
	}
	for _, it := range items {
		f.Errors = append(f.Errors, FaultError{Code: int(it.Code), ErrorCode: str(it.ErrorCode), Message: str(it.Message),
			Details: firstNonEmpty(str(it.Details), str(it.Detail))})
	}
	return f, true
}

// jlong is an xs:long on the REST wire: a JSON string (REST.md §2.3); a number is accepted
// on input because the .NET SDK accepts one.
type jlong int64

func (l jlong) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(int64(l), 10)), nil
}

func (l *jlong) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("long %s: %w", b, errShape)
	}
	*l = jlong(n)
	return nil
}

// jint is an int that is a JSON number on the wire; a quoted number is accepted on input
// (fault codes have been compared as strings by SDK code).
type jint int

func (i *jint) UnmarshalJSON(b []byte) error {
	var l jlong
	if err := l.UnmarshalJSON(b); err != nil {
		return err
	}
	*i = jint(l)
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func longp(v int64) *jlong {
	if v == 0 {
		return nil
	}
	l := jlong(v)
	return &l
}

func jlongs(ids []int64) []jlong {
	if ids == nil {
		return nil
	}
	out := make([]jlong, len(ids))
	for i, id := range ids {
		out[i] = jlong(id)
	}
	return out
}

func int64s(ids []jlong) []int64 {
	if ids == nil {
		return nil
	}
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}
