package adsemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/msidm/msidm/sandbox/chaos"
)

// This file is Customer Management's side of fault injection (package chaos): who a request
// is charged to and how an injected failure looks on the wire (NOTES §6.2, §7).

// ThrottleKey returns the throttling client of r: "<developer token>/<customer>". The docs
// describe CallRateExceeded (117) as a sliding window per customer (NOTES §7); the developer
// token is part of the key so two applications sharing a customer are counted apart.
//
// The customer is the CustomerId header (REST, and SOAP clients that send it although the
// WSDL has none, NOTES §2), else the first CustomerId element of a SOAP body, else the
// signed-in user the access token names ("user:<upn>"), since GetUser and GetCurrentUser
// carry no customer at all. The token is read, not verified. A SOAP body is read (at most
// maxRequestBytes) and put back for the emulator.
func ThrottleKey(r *http.Request) string {
	if isREST(r) {
		return faultKey(r.Header.Get("DeveloperToken"), r.Header.Get("CustomerId"), faultBearer(r.Header.Get("Authorization")))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	// Put back what was read, followed by whatever is left, so the emulator sees the body
	// unchanged (and answers an oversized one with its own 413).
	r.Body = faultBody{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
	if err != nil {
		return faultKey("", "", "")
	}
	h := faultSOAPHeaders(data)
	return faultKey(h.developerToken, h.customerID, h.authenticationToken)
}

type faultBody struct {
	io.Reader
	io.Closer
}

func faultKey(developerToken, customerID, accessToken string) string {
	customer := strings.TrimSpace(customerID)
	if customer == "" || customer == "0" {
		customer = "user:" + faultUPN(accessToken)
	}
	return developerToken + "/" + customer
}

func faultBearer(h string) string {
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// upnOf reads the upn claim of an unverified JWT-shaped token; "" when there is none.
func faultUPN(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		UPN string `json:"upn"`
	}
	_ = json.Unmarshal(payload, &c)
	return strings.ToLower(c.UPN)
}

type faultHeaders struct{ developerToken, customerID, authenticationToken string }

// faultSOAPHeaders scans a SOAP envelope for the first DeveloperToken, AuthenticationToken and
// CustomerId elements by local name (header elements may come in any order and namespace,
// NOTES §2). A malformed envelope yields what was found before the error; the emulator then
// reports the envelope error itself.
func faultSOAPHeaders(data []byte) faultHeaders {
	var k faultHeaders
	dec := xml.NewDecoder(bytes.NewReader(data))
	var field *string
	for {
		tok, err := dec.Token()
		if err != nil {
			return k
		}
		switch t := tok.(type) {
		case xml.StartElement:
			field = nil
			switch t.Name.Local {
			case "DeveloperToken":
				field = &k.developerToken
			case "AuthenticationToken":
				field = &k.authenticationToken
			case "CustomerId":
				field = &k.customerID
			}
			if field != nil && *field != "" {
				field = nil // keep the first
			}
		case xml.CharData:
			if field != nil {
				*field += strings.TrimSpace(string(t))
			}
		case xml.EndElement:
			field = nil
			if k.developerToken != "" && k.customerID != "" && k.authenticationToken != "" {
				return k
			}
		}
	}
}

// faultHTTPSysPage is the page HTTP.sys, in front of the service's IIS, sends with a 503 when the
// application pool cannot take the request: HTML, not a SOAP fault, which is what a client
// meets when the service is overloaded. Injected 502 and 504 use the same page.
const faultHTTPSysPage = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">\r\n" +
	"<HTML><HEAD><TITLE>%[1]s</TITLE>\r\n" +
	"<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n" +
	"<BODY><h2>%[1]s</h2>\r\n<hr><p>HTTP Error %[2]d. %[3]s</p>\r\n</BODY></HTML>\r\n"

// WriteChaosFault writes an injected failure the way Customer Management answers it. Its type
// is chaos.FaultWriter.
//
//   - 429 (a spent budget or an injected throttle): fault 117 CallRateExceeded through
//     WriteFault, in the binding the request used: SOAP s:Fault with AdApiFaultDetail and the
//     SetFaultStatus status (500 by default, NOTES §6.2), REST ApplicationFault with 429. The
//     docs say to wait 60 s (NOTES §7); REST answers also carry Retry-After, SOAP ones cannot.
//   - 500: fault 0 InternalError through WriteFault.
//   - 502, 503, 504: the front end's plain HTML error page, no fault at all, as a client sees
//     when the service is unreachable or overloaded.
func (s *Server) WriteChaosFault(w http.ResponseWriter, r *http.Request, d chaos.Decision) {
	s.log.Debug("customer management fault injected", "path", r.URL.Path, "status", d.Status, "kind", d.Kind.String())
	switch d.Status {
	case http.StatusTooManyRequests:
		if isREST(r) && d.RetryAfter > 0 {
			w.Header().Set("Retry-After", chaos.RetryAfterSeconds(d.RetryAfter))
		}
		s.WriteFault(w, r, 117)
	case http.StatusInternalServerError:
		s.WriteFault(w, r, 0)
	default:
		if d.RetryAfter > 0 {
			w.Header().Set("Retry-After", chaos.RetryAfterSeconds(d.RetryAfter))
		}
		w.Header().Set("Content-Type", "text/html; charset=us-ascii")
		w.WriteHeader(d.Status)
		text := map[int]string{502: "The gateway received an invalid response.", 503: "The service is unavailable.",
			504: "The gateway timed out."}[d.Status]
		if text == "" {
			text = http.StatusText(d.Status) + "."
		}
		_, _ = io.WriteString(w, fmt.Sprintf(faultHTTPSysPage, http.StatusText(d.Status), d.Status, text))
	}
}
