package ads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/beevik/etree"
	"golang.org/x/oauth2"
)

// Namespaces of the Customer Management v13 WSDL (../shared/reference/ads/NOTES.md §1).
const (
	nsEnvelope  = "http://schemas.xmlsoap.org/soap/envelope/"
	nsXSI       = "http://www.w3.org/2001/XMLSchema-instance"
	nsService   = "https://bingads.microsoft.com/Customer/v13"
	nsEntities  = "https://bingads.microsoft.com/Customer/v13/Entities"
	nsArrays    = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
	nsException = "https://bingads.microsoft.com/Customer/v13/Exception"
	nsAdAPI     = "https://adapi.microsoft.com"
)

// SOAPPath is the service path below MSIDM_ADS_URL.
const SOAPPath = "/Api/CustomerManagement/v13/CustomerManagementService.svc"

// maxResponse bounds a response body; GetUsersInfo for a very large customer stays far below.
const maxResponse = 64 << 20

// SOAPClient speaks the SOAP 1.1 binding of Customer Management v13.
type SOAPClient struct {
	transport
	endpoint string
}

// NewSOAP returns a SOAP client for the service root (scheme://host[:port], as MSIDM_ADS_URL).
// hc must NOT add an Authorization header: in SOAP the access token travels in the
// AuthenticationToken SOAP header (NOTES §2, §9). The transport policy has its defaults;
// New (client.go) applies Options.
func NewSOAP(root string, hc *http.Client, tokens oauth2.TokenSource, developerToken string) (*SOAPClient, error) {
	u, err := parseRoot(root)
	if err != nil {
		return nil, err
	}
	return &SOAPClient{transport: newTransport(ProtocolSOAP, hc, tokens, developerToken), endpoint: u + SOAPPath}, nil
}

// parseRoot checks a service root: scheme://host[:port] without a path.
func parseRoot(root string) (string, error) {
	u, err := url.Parse(strings.TrimRight(root, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" {
		return "", fmt.Errorf("ads: service root %q must be scheme://host[:port] such as https://clientcenter.api.bingads.microsoft.com", root)
	}
	return u.String(), nil
}

// call sends one operation under the transport policy. body builds the children of
// <op>Request; the returned element is <op>Response. A SOAP fault is returned as *Fault
// whatever the HTTP status, because the service has been seen sending faults with HTTP 200
// as well as 500 (NOTES §6.2).
//
// decode reads the response inside the attempt, so that a response that does not match
// the WSDL is reported with its TrackingId too.
func (c *SOAPClient) call(ctx context.Context, op string, idempotent bool, body func(req *etree.Element), decode func(resp *etree.Element) error) error {
	return c.do(ctx, op, idempotent, func(ctx context.Context, accessToken string) (exchange, error) {
		var ex exchange
		payload, err := c.envelope(op, accessToken, body)
		if err != nil {
			return ex, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
		if err != nil {
			return ex, err
		}
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+op+`"`)
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
		out, tracking, err := parseResponseTracking(op, resp.StatusCode, ex.tracking, raw)
		ex.tracking = tracking
		if err != nil {
			return ex, err
		}
		return ex, decode(out)
	})
}

// soapCall runs call with a typed decoder.
func soapCall[T any](ctx context.Context, c *SOAPClient, op string, idempotent bool, body func(req *etree.Element), decode func(resp *etree.Element) (T, error)) (T, error) {
	var out T
	err := c.call(ctx, op, idempotent, body, func(resp *etree.Element) error {
		var err error
		out, err = decode(resp)
		return err
	})
	return out, err
}

// envelope writes the request exactly as the WSDL binds it: SOAP 1.1, the
// AuthenticationToken and DeveloperToken headers in WSDL order, body <op>Request.
func (c *SOAPClient) envelope(op, accessToken string, body func(*etree.Element)) ([]byte, error) {
	doc := etree.NewDocument()
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", nsEnvelope)
	env.CreateAttr("xmlns:i", nsXSI)
	hdr := env.CreateElement("s:Header")
	hdr.CreateAttr("xmlns", nsService)
	hdr.CreateElement("AuthenticationToken").SetText(accessToken)
	hdr.CreateElement("DeveloperToken").SetText(c.developerToken)
	req := env.CreateElement("s:Body").CreateElement(op + "Request")
	req.CreateAttr("xmlns", nsService)
	if body != nil {
		body(req)
	}
	return doc.WriteToBytes()
}

// parseResponseTracking finds <op>Response or a fault in a response envelope, and reports the
// TrackingId: the s:Header TrackingId, else the HTTP header, else (for a header-less fault)
// the fault detail's.
func parseResponseTracking(op string, status int, httpTracking string, raw []byte) (*etree.Element, string, error) {
	tracking := httpTracking
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, tracking, fmt.Errorf("ads: %s: HTTP %d with a body that is not XML (%d bytes)", op, status, len(raw))
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || env.NamespaceURI() != nsEnvelope {
		return nil, tracking, fmt.Errorf("ads: %s: HTTP %d without a SOAP 1.1 envelope", op, status)
	}
	body := child(env, nsEnvelope, "Body")
	if body == nil {
		return nil, tracking, fmt.Errorf("ads: %s: SOAP envelope without a Body", op)
	}
	if h := child(env, nsEnvelope, "Header"); h != nil {
		if t := text(child(h, nsService, "TrackingId")); t != "" {
			tracking = t
		}
	}
	if f := child(body, nsEnvelope, "Fault"); f != nil {
		fault := decodeFault(f, status, tracking)
		return nil, fault.TrackingID, fault
	}
	out := child(body, nsService, op+"Response")
	if out == nil {
		return nil, tracking, fmt.Errorf("ads: %s: HTTP %d: body has no %sResponse", op, status, op)
	}
	return out, tracking, nil
}

// child returns the first child element with the namespace and local name, or nil.
// Comparing namespace URIs, never prefixes, is what makes parsing prefix-agnostic.
func child(el *etree.Element, ns, local string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// children returns all child elements with the namespace and local name.
func children(el *etree.Element, ns, local string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

// isNil reports an absent element or one marked i:nil="true".
func isNil(el *etree.Element) bool {
	if el == nil {
		return true
	}
	for _, a := range el.Attr {
		if a.Key == "nil" && a.NamespaceURI() == nsXSI {
			return a.Value == "true" || a.Value == "1"
		}
	}
	return false
}

func text(el *etree.Element) string {
	if isNil(el) {
		return ""
	}
	return strings.TrimSpace(el.Text())
}

// errShape reports a response that does not match the WSDL where a value is required.
var errShape = errors.New("response does not match the WSDL")
