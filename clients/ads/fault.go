package ads

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Error codes msidm reacts to (../shared/reference/ads/NOTES.md §7).
const (
	CodeInvalidCredentials         = 105
	CodeUserIsNotAuthorized        = 106
	CodeAuthenticationTokenExpired = 109
	CodeRequestMissingHeaders      = 116
	CodeCallRateExceeded           = 117
	CodeTimestampNotMatch          = 209
	CodeEntityNotExistent          = 210
)

// Fault is a Customer Management fault from either binding: AdApiFaultDetail (generic errors
// such as authentication and throttling) or ApiFault (operation errors). In SOAP it is the
// s:Fault detail; in REST the JSON error body with its "Type" discriminator (REST.md §3).
type Fault struct {
	HTTPStatus  int
	Detail      string // "AdApiFaultDetail", "ApiFault", the REST Type, or the SOAP faultcode for other faults
	TrackingID  string
	FaultString string
	Errors      []FaultError
}

// FaultError is one AdApiError or OperationError. OperationError has no ErrorCode.
type FaultError struct {
	Code      int
	ErrorCode string
	Message   string
	Details   string
}

func (f *Fault) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ads: fault (TrackingId %s)", f.TrackingID)
	if len(f.Errors) == 0 {
		fmt.Fprintf(&b, ": %s", f.FaultString)
	}
	for _, e := range f.Errors {
		fmt.Fprintf(&b, ": %d", e.Code)
		if e.ErrorCode != "" {
			fmt.Fprintf(&b, " %s", e.ErrorCode)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, " %s", e.Message)
		}
	}
	return b.String()
}

// Has reports whether the fault carries the error code.
func (f *Fault) Has(code int) bool {
	for _, e := range f.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// codes lists the error codes for logs, e.g. "117 CallRateExceeded".
func (f *Fault) codes() string {
	var b strings.Builder
	for i, e := range f.Errors {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(e.Code))
		if e.ErrorCode != "" {
			b.WriteString(" " + e.ErrorCode)
		}
	}
	return b.String()
}

// HasCode reports whether err is or wraps a *Fault carrying the error code.
func HasCode(err error, code int) bool {
	var f *Fault
	return errors.As(err, &f) && f.Has(code)
}

// decodeFault reads an s:Fault element. The actionable codes are only in the detail; the
// faultstring is generic and must not be parsed (NOTES §6.2).
func decodeFault(f *etree.Element, status int, tracking string) *Fault {
	out := &Fault{HTTPStatus: status, TrackingID: tracking}
	if fs := f.SelectElement("faultstring"); fs != nil {
		out.FaultString = strings.TrimSpace(fs.Text())
	}
	if fc := f.SelectElement("faultcode"); fc != nil {
		out.Detail = strings.TrimSpace(fc.Text())
	}
	detail := f.SelectElement("detail")
	if d := child(detail, nsAdAPI, "AdApiFaultDetail"); d != nil {
		out.Detail = "AdApiFaultDetail"
		out.TrackingID = firstNonEmpty(text(child(d, nsAdAPI, "TrackingId")), out.TrackingID)
		for _, e := range children(child(d, nsAdAPI, "Errors"), nsAdAPI, "AdApiError") {
			out.Errors = append(out.Errors, FaultError{
				Code:      atoi(text(child(e, nsAdAPI, "Code"))),
				ErrorCode: text(child(e, nsAdAPI, "ErrorCode")),
				Message:   text(child(e, nsAdAPI, "Message")),
				Details:   text(child(e, nsAdAPI, "Detail")),
			})
		}
	} else if d := child(detail, nsService, "ApiFault"); d != nil {
		// Inherited TrackingId is in the adapi namespace; OperationErrors in …/Exception (NOTES §6.1).
		out.Detail = "ApiFault"
		out.TrackingID = firstNonEmpty(text(child(d, nsAdAPI, "TrackingId")), out.TrackingID)
		for _, e := range children(child(d, nsException, "OperationErrors"), nsException, "OperationError") {
			out.Errors = append(out.Errors, FaultError{
				Code:    atoi(text(child(e, nsException, "Code"))),
				Message: text(child(e, nsException, "Message")),
				Details: text(child(e, nsException, "Details")),
			})
		}
	}
	return out
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
