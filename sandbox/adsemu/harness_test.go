package adsemu

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/msidm/msidm/sandbox/demo"
	"github.com/msidm/msidm/sandbox/token"
)

// The test harness: a real emulator on a real loopback listener, and request envelopes
// written as literal XML so the tests do not depend on msidm's SOAP client.

// refDir is the shared reference folder, beside the repository root (README.md there).
const refDir = "../../../shared/reference/ads"

type harness struct {
	srv    *Server
	ts     *httptest.Server
	signer *token.Signer
	tenant *demo.Tenant
	tok    string // a valid Ads access token of the signed-in user
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	h := &harness{signer: token.NewSigner(nil), tenant: demo.Demo()}
	h.srv = New(Options{Signer: h.signer, Tenant: h.tenant, DeveloperToken: demo.AdsDevToken})
	h.ts = httptest.NewServer(h.srv)
	tb.Cleanup(h.ts.Close)
	h.tok = h.mint(h.tenant.AdsSignedIn, time.Hour)
	return h
}

// mint returns a delegated Ads token for upn, as the sandbox identity platform issues it.
func (h *harness) mint(upn string, lifetime time.Duration) string {
	return h.signer.Mint(token.Claims{Audience: token.AudienceAds, TenantID: h.tenant.ID, UPN: upn,
		Scope: "msads.manage"}, lifetime)
}

// adsUser returns the demo Ads user whose UserName is name.
func (h *harness) adsUser(tb testing.TB, name string) demo.AdsUser {
	tb.Helper()
	for _, u := range h.tenant.Ads.Users {
		if u.UserName == name {
			return u
		}
	}
	tb.Fatalf("no Ads user %q in the demo tenant", name)
	return demo.AdsUser{}
}

type reply struct {
	status int
	header http.Header
	body   []byte
	doc    *etree.Document // nil when the body is not XML
}

// post sends body to the SOAP endpoint with the SOAPAction header action ("-" omits it).
func (h *harness) post(tb testing.TB, action, body string) reply {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.ts.URL+ServicePath, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "-" {
		req.Header.Set("SOAPAction", action)
	}
	return h.do(tb, req)
}

func (h *harness) do(tb testing.TB, req *http.Request) reply {
	tb.Helper()
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: data}
	if len(data) > 0 {
		doc := etree.NewDocument()
		if doc.ReadFromBytes(data) == nil {
			r.doc = doc
		}
	}
	return r
}

// env wraps header children and a body child in a SOAP 1.1 envelope laid out as the
// examples are (default namespace on s:Header).
func env(header, body string) string {
	return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
		`<s:Header xmlns="https://bingads.microsoft.com/Customer/v13">` + header + `</s:Header>` +
		`<s:Body>` + body + `</s:Body></s:Envelope>`
}

// creds is the two credential headers.
func creds(tok, dev string) string {
	return `<AuthenticationToken>` + tok + `</AuthenticationToken><DeveloperToken>` + dev + `</DeveloperToken>`
}

// path walks child elements by local name; it returns nil if a step is missing.
func path(el *etree.Element, steps ...string) *etree.Element {
	for _, s := range steps {
		if el == nil {
			return nil
		}
		el = el.SelectElement(s) // matches the local name of unprefixed steps of any prefix
		if el == nil {
			return nil
		}
	}
	return el
}

// body returns the s:Body child of a reply.
func (r reply) bodyChild(tb testing.TB) *etree.Element {
	tb.Helper()
	if r.doc == nil {
		tb.Fatalf("reply is not XML (HTTP %d): %s", r.status, r.body)
	}
	b := path(r.doc.Root(), "Body")
	if b == nil || len(b.ChildElements()) == 0 {
		tb.Fatalf("reply has no body child: %s", r.body)
	}
	return b.ChildElements()[0]
}

// faultCode returns the fault's numeric code from either detail, the detail element's local
// name, and the faultcode text.
func (r reply) fault(tb testing.TB) (code, detail, faultcode string) {
	tb.Helper()
	f := r.bodyChild(tb)
	if f.Tag != "Fault" {
		tb.Fatalf("reply is not a fault: %s", r.body)
	}
	faultcode = path(f, "faultcode").Text()
	d := path(f, "detail")
	if d == nil {
		return "", "", faultcode
	}
	de := d.ChildElements()[0]
	switch de.Tag {
	case "AdApiFaultDetail":
		return path(de, "Errors", "AdApiError", "Code").Text(), de.Tag, faultcode
	case "ApiFault":
		return path(de, "OperationErrors", "OperationError", "Code").Text(), de.Tag, faultcode
	}
	tb.Fatalf("unknown fault detail %s", de.Tag)
	return
}

// requireRef returns the path of a reference file, skipping the test when the shared folder
// is not checked out beside the repository (failing under CI).
func requireRef(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(refDir, rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("reference file missing under CI: %v", err)
		}
		tb.Skipf("reference file not available: %v", err)
	}
	return p
}
