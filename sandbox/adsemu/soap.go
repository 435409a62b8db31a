package adsemu

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Namespaces of the Customer Management v13 wire format (NOTES §1).
const (
	nsSOAP      = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12    = "http://www.w3.org/2003/05/soap-envelope"
	nsService   = "https://bingads.microsoft.com/Customer/v13"
	nsEntities  = "https://bingads.microsoft.com/Customer/v13/Entities"
	nsException = "https://bingads.microsoft.com/Customer/v13/Exception"
	nsAdAPI     = "https://adapi.microsoft.com"
	nsArrays    = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
	nsGeneric   = "http://schemas.datacontract.org/2004/07/System.Collections.Generic"
	nsXSI       = "http://www.w3.org/2001/XMLSchema-instance"

	// WCF's namespaces for infrastructure fault codes.
	nsAddressingNone = "http://schemas.microsoft.com/ws/2005/05/addressing/none"
	nsDispatcher     = "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"
)

// genericFaultString is the faultstring of every service fault (NOTES §6.2). Clients must
// not parse it; the code is in the detail.
const genericFaultString = "Invalid client data. Check the SOAP fault details for more information. TrackingId: %s."

// request is one parsed SOAP request envelope.
type request struct {
	// Op is the operation: the local name of the body's first child minus "Request", when
	// that child is in the service namespace; "" otherwise.
	Op string
	// BodyName is the body child's local name, for error messages.
	BodyName string
	// AuthenticationToken and DeveloperToken are the header values; "" when absent, nil or
	// empty, which the service treats alike (code 116).
	AuthenticationToken string
	DeveloperToken      string
	// Body is the <Op>Request element; nil for an empty s:Body.
	Body *etree.Element
}

// wcfFault is a fault raised by the WCF plumbing rather than by the service code: a bad
// envelope, an unknown action, a body that does not deserialize. It has a faultcode and a
// faultstring but no Bing detail, and a fixed HTTP status.
type wcfFault struct {
	Status int
	CodeNS string // namespace of the faultcode's prefix; "" uses the envelope's s: prefix
	Code   string // local part of the faultcode QName
	Reason string
}

func (f *wcfFault) Error() string { return f.Code + ": " + f.Reason }

// badEnvelope answers a body that is not a SOAP 1.1 envelope. WCF's own answer varies (an
// empty 400, or a fault); the emulator keeps it simple and documented: HTTP 400 with a
// Client fault whose faultstring says what is wrong.
func badEnvelope(format string, args ...any) *wcfFault {
	return &wcfFault{Status: 400, Code: "Client", Reason: fmt.Sprintf(format, args...)}
}

// actionNotSupported is WCF's answer to an action no operation of the contract handles.
func actionNotSupported(action string) *wcfFault {
	return &wcfFault{Status: 500, CodeNS: nsAddressingNone, Code: "ActionNotSupported", Reason: fmt.Sprintf(
		"The message with Action '%s' cannot be processed at the receiver, due to a ContractFilter mismatch at the "+
			"EndpointDispatcher. This may be because of either a contract mismatch (mismatched Actions between sender "+
			"and receiver) or a binding/security mismatch between the sender and the receiver.  Check that sender and "+
			"receiver have the same contract and the same binding (including security requirements, e.g. Message, "+
			"Transport, None).", action)}
}

// deserializationFailed is WCF's answer to a body member whose text is not a value of its
// XSD type (NOTES §6.2 "Other fault shapes").
func deserializationFailed(member string, err error) *wcfFault {
	return &wcfFault{Status: 500, CodeNS: nsDispatcher, Code: "DeserializationFailed", Reason: fmt.Sprintf(
		"The formatter threw an exception while trying to deserialize the message: There was an error while trying "+
			"to deserialize parameter %s:%s. The InnerException message was '%v'.  Please see InnerException for "+
			"more details.", nsService, member, err)}
}

// parseRequest parses a SOAP 1.1 request envelope namespace-aware and prefix-agnostic
// (NOTES §1, §2, §12.1-3). It never panics; every problem is a *wcfFault.
func parseRequest(data []byte) (*request, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, badEnvelope("The request is not well-formed XML: %v.", err)
	}
	var root *etree.Element
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			if root != nil {
				return nil, badEnvelope("The request has more than one root element.")
			}
			root = t
		case *etree.Directive:
			// WCF's reader prohibits DTDs (XmlDictionaryReaderQuotas; no entity expansion).
			return nil, badEnvelope("For security reasons DTD is prohibited in this XML document.")
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, badEnvelope("The request has text outside the root element.")
			}
		}
	}
	if root == nil {
		return nil, badEnvelope("The request body is empty.")
	}
	switch ns := root.NamespaceURI(); {
	case root.Tag == "Envelope" && ns == nsSOAP12:
		return nil, &wcfFault{Status: 400, Code: "VersionMismatch",
			Reason: "The service speaks SOAP 1.1 only (envelope namespace " + nsSOAP + ")."}
	case root.Tag != "Envelope" || ns != nsSOAP:
		return nil, badEnvelope("The root element is {%s}%s, not a SOAP 1.1 {%s}Envelope.", ns, root.Tag, nsSOAP)
	}
	header, body := child(root, nsSOAP, "Header"), child(root, nsSOAP, "Body")
	if body == nil {
		return nil, badEnvelope("The SOAP envelope has no Body.")
	}
	req := &request{}
	if header != nil {
		// Only these two headers matter; CustomerId, CustomerAccountId, ApplicationToken,
		// UserName, Password, Action and anything else are ignored, in any order (NOTES §2).
		req.AuthenticationToken = headerValue(header, "AuthenticationToken")
		req.DeveloperToken = headerValue(header, "DeveloperToken")
	}
	if kids := body.ChildElements(); len(kids) > 0 {
		req.Body, req.BodyName = kids[0], kids[0].Tag
		if op, ok := strings.CutSuffix(req.BodyName, "Request"); ok && op != "" && req.Body.NamespaceURI() == nsService {
			req.Op = op
		}
	}
	return req, nil
}

// headerValue returns the text of the first {service}name header; "" when absent or nil.
// The value is not trimmed: the real service rejects credentials with surrounding
// white space (105), a classic client bug worth reproducing.
func headerValue(header *etree.Element, name string) string {
	el := child(header, nsService, name)
	if el == nil || isNil(el) {
		return ""
	}
	return text(el)
}

// child returns the first child element {ns}local of parent, or nil.
func child(parent *etree.Element, ns, local string) *etree.Element {
	for _, c := range parent.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// members picks the children {ns}names[i] of a sequence the way WCF's serializer reads
// it: in document order, where a member that appears after a later member of the sequence
// is skipped as unknown (NOTES §3: "If the optional elements are out of order, the call
// may fail or the elements will be ignored"). Unknown elements are ignored.
func members(parent *etree.Element, ns string, names ...string) []*etree.Element {
	out := make([]*etree.Element, len(names))
	next := 0
	for _, c := range parent.ChildElements() {
		if c.NamespaceURI() != ns {
			continue
		}
		for j := next; j < len(names); j++ {
			if c.Tag == names[j] {
				out[j], next = c, j+1
				break
			}
		}
	}
	return out
}

// isNil reports whether el carries xsi:nil="true" (any prefix).
func isNil(el *etree.Element) bool {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == "nil" && a.NamespaceURI() == nsXSI {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// text concatenates the character data directly inside el (Element.Text stops at the
// first comment or child).
func text(el *etree.Element) string {
	var b strings.Builder
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return b.String()
}

// optionalLong reads an xs:long member: absent, nil and empty all mean "not given"
// (NOTES §3). Surrounding white space is allowed by the XSD whiteSpace=collapse facet.
func optionalLong(el *etree.Element, member string) (v int64, ok bool, err error) {
	if el == nil || isNil(el) {
		return 0, false, nil
	}
	s := strings.TrimSpace(text(el))
	if s == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, deserializationFailed(member, fmt.Errorf("The value '%s' cannot be parsed as the type 'Int64'.", s))
	}
	return v, true, nil
}

// optionalEnum reads an enumeration member by name (NOTES §3: enums travel as names).
func optionalEnum(el *etree.Element, member, typeName string, allowed ...string) (string, bool, error) {
	if el == nil || isNil(el) {
		return "", false, nil
	}
	s := strings.TrimSpace(text(el))
	for _, a := range allowed {
		if s == a {
			return s, true, nil
		}
	}
	return "", false, deserializationFailed(member, fmt.Errorf("Invalid enum value '%s' cannot be deserialized into type '%s'.", s, typeName))
}

// --- writing ---

// newResponse starts the body element <OpResponse xmlns="…/Customer/v13"> (NOTES §3).
func newResponse(op string) *etree.Element {
	el := etree.NewElement(op + "Response")
	el.CreateAttr("xmlns", nsService)
	return el
}

// envelope wraps body in a SOAP 1.1 envelope. A non-empty trackingID is written as the
// only, and therefore first, header child: the Java SDK reads only the first (NOTES §2).
func envelope(trackingID string, body *etree.Element) []byte {
	env := etree.NewElement("s:Envelope")
	env.CreateAttr("xmlns:s", nsSOAP)
	if trackingID != "" {
		h := env.CreateElement("s:Header").CreateElement("h:TrackingId")
		h.CreateAttr("xmlns:h", nsService)
		h.SetText(trackingID)
	}
	env.CreateElement("s:Body").AddChild(body)
	doc := etree.NewDocumentWithRoot(env)
	// Escape as .NET's XmlWriter does: only &, < and > in text; &, < and " in attributes.
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	var buf bytes.Buffer
	_, _ = doc.WriteTo(&buf) // writes to a bytes.Buffer cannot fail
	return buf.Bytes()
}

// faultElement builds the s:Fault of a service error: faultcode s:Server, the generic
// faultstring and one of the two details (NOTES §6.2, examples/Fault.*.xml).
func faultElement(trackingID string, e apiError) *etree.Element {
	f := etree.NewElement("s:Fault")
	f.CreateElement("faultcode").SetText("s:Server")
	fs := f.CreateElement("faultstring")
	fs.CreateAttr("xml:lang", "en-US")
	fs.SetText(fmt.Sprintf(genericFaultString, trackingID))
	detail := f.CreateElement("detail")
	if e.Kind == adAPIFault {
		d := detail.CreateElement("AdApiFaultDetail")
		d.CreateAttr("xmlns", nsAdAPI)
		d.CreateAttr("xmlns:i", nsXSI)
		d.CreateElement("TrackingId").SetText(trackingID)
		ae := d.CreateElement("Errors").CreateElement("AdApiError")
		ae.CreateElement("Code").SetText(strconv.Itoa(e.Code))
		optText(ae, "Detail", e.Details)
		optText(ae, "ErrorCode", e.ErrorCode)
		optText(ae, "Message", e.Message)
		return f
	}
	// ApiFault: the element is in the service namespace, its inherited TrackingId in the
	// adapi namespace and OperationErrors in the Exception namespace (NOTES §6.1).
	d := detail.CreateElement("ApiFault")
	d.CreateAttr("xmlns", nsService)
	d.CreateAttr("xmlns:i", nsXSI)
	tid := d.CreateElement("TrackingId")
	tid.CreateAttr("xmlns", nsAdAPI)
	tid.SetText(trackingID)
	oes := d.CreateElement("OperationErrors")
	oes.CreateAttr("xmlns", nsException)
	oe := oes.CreateElement("OperationError")
	oe.CreateElement("Code").SetText(strconv.Itoa(e.Code))
	optText(oe, "Details", e.Details)
	optText(oe, "Message", e.Message)
	return f
}

// wcfFaultElement builds the s:Fault of a plumbing fault (no detail).
func wcfFaultElement(f *wcfFault) *etree.Element {
	el := etree.NewElement("s:Fault")
	fc := el.CreateElement("faultcode")
	if f.CodeNS != "" {
		fc.CreateAttr("xmlns:a", f.CodeNS)
		fc.SetText("a:" + f.Code)
	} else {
		fc.SetText("s:" + f.Code)
	}
	fs := el.CreateElement("faultstring")
	fs.CreateAttr("xml:lang", "en-US")
	fs.SetText(f.Reason)
	return el
}

// asWCFFault reports whether err is a plumbing fault.
func asWCFFault(err error) (*wcfFault, bool) {
	var f *wcfFault
	ok := errors.As(err, &f)
	return f, ok
}

// asAPIError reports whether err is a service error.
func asAPIError(err error) (apiError, bool) {
	var e apiError
	ok := errors.As(err, &e)
	return e, ok
}

// --- element builders shared by the entity writers ---

// addText appends <tag>s</tag>.
func addText(parent *etree.Element, tag, s string) *etree.Element {
	el := parent.CreateElement(tag)
	el.SetText(s)
	return el
}

// addNil appends <tag i:nil="true"/>; the i prefix must be in scope.
func addNil(parent *etree.Element, tag string) *etree.Element {
	el := parent.CreateElement(tag)
	el.CreateAttr("i:nil", "true")
	return el
}

// optText writes a nillable string: "" is null, and every null nillable member is written
// as i:nil="true" rather than omitted (NOTES §3).
func optText(parent *etree.Element, tag, s string) *etree.Element {
	if s == "" {
		return addNil(parent, tag)
	}
	return addText(parent, tag, s)
}
