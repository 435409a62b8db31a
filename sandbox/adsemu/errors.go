package adsemu

import "fmt"

// faultKind says which of the two fault details every Customer Management operation declares
// (NOTES §1, §6.1) an error travels in.
type faultKind int

const (
	// adAPIFault is {https://adapi.microsoft.com}AdApiFaultDetail: generic errors such as
	// authentication and throttling (NOTES §6.2, §7). Its AdApiError carries a symbolic ErrorCode.
	adAPIFault faultKind = iota
	// operationFault is {…/Customer/v13}ApiFault: service-specific validation errors. Its
	// OperationError has no ErrorCode in Customer Management (NOTES §6.1).
	operationFault
)

// apiError is a Customer Management error in transport-neutral form. Operations and the
// state return it; the SOAP layer writes it as an s:Fault (soap.go), and a REST binding can
// write the same value as its JSON ApplicationFault.
type apiError struct {
	Kind      faultKind
	Code      int
	ErrorCode string // symbolic code; AdApiError only
	Message   string
	Details   string // "" is written as i:nil="true"
}

func (e apiError) Error() string {
	return fmt.Sprintf("customer management error %d: %s", e.Code, e.Message)
}

// The errors this slice can return. Numbers, symbolic codes and messages are those of the
// docs' operation-error-codes page as quoted in NOTES §7 and examples/Fault.*.xml; the 105
// message is the docs' text for InvalidCredentials (learn.microsoft.com/advertising/guides/
// operation-error-codes), which NOTES §7 does not quote.
var (
	errMissingHeaders = apiError{Kind: adAPIFault, Code: 116, ErrorCode: "RequestMissingHeaders",
		Message: "One or more required header elements are missing from the request."}
	errInvalidCredentials = apiError{Kind: adAPIFault, Code: 105, ErrorCode: "InvalidCredentials",
		Message: "Authentication failed. Either supplied credentials are invalid or the account is inactive."}
	errTokenExpired = apiError{Kind: adAPIFault, Code: 109, ErrorCode: "AuthenticationTokenExpired",
		Message: "Authentication token expired. Please renew it or obtain a new token."}

	// errEntityNotExistent answers a user id that does not exist. NOTES §7: no CM-specific
	// "user not found" code is documented in v13; 210 is the generic one. It is a data error
	// in the request body, so it travels as ApiFault (NOTES §7 "where it appears").
	errEntityNotExistent = apiError{Kind: operationFault, Code: 210, Message: "The entity does not exist."}

	// errInputValidation answers a missing or zero required id (GetUsersInfo/CustomerId).
	// No specific code is documented; 201 ApiInputValidationError is the generic one (NOTES §7).
	errInputValidation = apiError{Kind: operationFault, Code: 201,
		Message: "One or more input elements failed validation."}

	// errNotAuthorized answers a customer the caller has no role on. 1001 is the CM-specific
	// code (ApiFault), chosen over 106 UserIsNotAuthorized (AdApiFaultDetail) because the
	// customer id is request-body data, which the docs route to ApiFault (NOTES §7), because
	// the REST docs' ApiFault sample uses exactly 1001, and because it does not reveal whether
	// the customer exists. The docs do not say which one the real service sends (NOTES §12.7).
	errNotAuthorized = apiError{Kind: operationFault, Code: 1001,
		Message: "The user is not authorized to perform this action."}
)
