package adsemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// Helpers that drive one operation through either binding and read the answer the same
// way, so one table can assert the shared behaviour of SOAP and REST.

type binding string

const (
	soapBinding binding = "SOAP"
	restBinding binding = "REST"
)

var bindings = []binding{soapBinding, restBinding}

// fakeClock is an injectable Options.Now that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClockHarness is newHarness with an injected write/expiry clock.
func newClockHarness(tb testing.TB, clock *fakeClock) *harness {
	tb.Helper()
	h := &harness{signer: token.NewSigner(nil), tenant: demo.Demo()}
	h.srv = New(Options{Signer: h.signer, Tenant: h.tenant, DeveloperToken: demo.AdsDevToken, Now: clock.Now})
	h.ts = newTestServer(tb, h.srv)
	h.tok = h.mint(h.tenant.AdsSignedIn, time.Hour)
	return h
}

// restReq sends a REST request with the given credentials ("" omits a header).
func (h *harness) restReq(tb testing.TB, method, rel, tok, devTok, body string) reply {
	tb.Helper()
	req, err := http.NewRequest(method, h.ts.URL+RESTPrefix+rel, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if devTok != "" {
		req.Header.Set("DeveloperToken", devTok)
	}
	// What the SDKs also send, and the service ignores (REST.md §2.1).
	req.Header.Set("CustomerId", "None")
	req.Header.Set("CustomerAccountId", "0")
	return h.do(tb, req)
}

// answer is one operation's reply read binding-neutrally.
type answer struct {
	binding binding
	status  int
	code    string // fault code; "" on success
	detail  string // AdApiFaultDetail or ApiFault
	soap    *etree.Element
	json    any
	raw     []byte
	header  http.Header
}

// call runs op for the user signed in with tok: SOAP with the <OpRequest> inner XML, REST
// with the JSON body.
func (h *harness) call(tb testing.TB, b binding, tok, op, xmlInner, jsonBody string) answer {
	tb.Helper()
	if b == soapBinding {
		body := `<` + op + `Request xmlns="https://bingads.microsoft.com/Customer/v13" xmlns:a="https://bingads.microsoft.com/Customer/v13/Entities" xmlns:b="http://schemas.microsoft.com/2003/10/Serialization/Arrays">` +
			xmlInner + `</` + op + `Request>`
		r := h.post(tb, `"`+op+`"`, env(creds(tok, dev), body))
		a := answer{binding: b, status: r.status, raw: r.body, header: r.header}
		el := r.bodyChild(tb)
		if el.Tag == "Fault" {
			a.code, a.detail, _ = r.fault(tb)
			return a
		}
		if el.Tag != op+"Response" {
			tb.Fatalf("SOAP body child %s", el.Tag)
		}
		a.soap = el
		return a
	}
	o := h.srv.ops[op]
	r := h.restReq(tb, o.method, o.path, tok, dev, jsonBody)
	a := answer{binding: b, status: r.status, raw: r.body, header: r.header}
	if err := json.Unmarshal(r.body, &a.json); err != nil {
		tb.Fatalf("REST %s: HTTP %d, body is not JSON: %v: %s", op, r.status, err, r.body)
	}
	if m, ok := a.json.(map[string]any); ok {
		switch m["Type"] {
		case "AdApiFaultDetail":
			a.detail, a.code = "AdApiFaultDetail", jsonNum(m["Errors"].([]any)[0].(map[string]any)["Code"])
		case "ApiFault":
			a.detail, a.code = "ApiFault", jsonNum(m["OperationErrors"].([]any)[0].(map[string]any)["Code"])
		}
	}
	return a
}

func jsonNum(v any) string {
	f, _ := v.(float64)
	return strconv.Itoa(int(f))
}

// ok fails the test unless a is a success.
func (a answer) ok(tb testing.TB) answer {
	tb.Helper()
	if a.code != "" || a.status != http.StatusOK {
		tb.Fatalf("%s: HTTP %d fault %s %s: %s", a.binding, a.status, a.detail, a.code, a.raw)
	}
	return a
}

// fault fails the test unless a is the fault code in detail.
func (a answer) fault(tb testing.TB, detail, code string) {
	tb.Helper()
	if a.code != code || a.detail != detail {
		tb.Fatalf("%s: HTTP %d fault %q %q, want %q %q: %s", a.binding, a.status, a.detail, a.code, detail, code, a.raw)
	}
}

// node returns the value at the path of member names: a SOAP element or a JSON value.
func (a answer) node(steps ...string) (any, bool) {
	if a.soap != nil {
		el := path(a.soap, steps...)
		if el == nil {
			return nil, false
		}
		return el, true
	}
	var v any = a.json
	for _, s := range steps {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[s]; !ok {
			return nil, false
		}
	}
	return v, true
}

// str returns the text at the path; "" for nil or absent.
func (a answer) str(steps ...string) string {
	v, _ := a.node(steps...)
	switch v := v.(type) {
	case *etree.Element:
		if isNil(v) {
			return ""
		}
		return v.Text()
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// isNull reports whether the member at the path is present and nil.
func (a answer) isNull(steps ...string) bool {
	v, ok := a.node(steps...)
	if el, isEl := v.(*etree.Element); isEl {
		return isNil(el)
	}
	return ok && v == nil
}

// items returns the array at the path as answers rooted at each item.
func (a answer) items(steps ...string) []answer {
	v, _ := a.node(steps...)
	var out []answer
	switch v := v.(type) {
	case *etree.Element:
		for _, c := range v.ChildElements() {
			out = append(out, answer{binding: a.binding, soap: c})
		}
	case []any:
		for _, c := range v {
			out = append(out, answer{binding: a.binding, json: c})
		}
	}
	return out
}

// texts returns the text of every item of the array at the path.
func (a answer) texts(steps ...string) []string {
	var out []string
	for _, it := range a.items(steps...) {
		if it.soap != nil {
			out = append(out, it.soap.Text())
		} else {
			out = append(out, it.str())
		}
	}
	return out
}

// newTestServer serves srv on a loopback listener for the test's lifetime.
func newTestServer(tb testing.TB, srv http.Handler) *httptest.Server {
	tb.Helper()
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	return ts
}
