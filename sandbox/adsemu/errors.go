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

	// errNotAuthorized answers a customer the caller has no role on, and every write the
	// caller's role does not allow (NOTES §8, §12.7). 1001 is the CM-specific code (ApiFault),
	// chosen over 106 UserIsNotAuthorized (AdApiFaultDetail) because the customer id, user id
	// and role id are request-body data, which the docs route to ApiFault (NOTES §7), because
	// the REST docs' ApiFault sample uses exactly 1001, and because it does not reveal whether
	// the customer exists. The docs do not say which one the real service sends (NOTES §12.7).
	errNotAuthorized = apiError{Kind: operationFault, Code: 1001,
		Message: "The user is not authorized to perform this action."}

	// errTimestampNotMatch answers a stale or missing TimeStamp on UpdateUser and DeleteUser
	// (NOTES §7, §12.6, examples/Fault.ApiFault.TimestampNotMatch.xml).
	errTimestampNotMatch = apiError{Kind: operationFault, Code: 209, Message: "The time stamp does not match."}

	// errNullUserInvitation answers SendUserInvitation without a UserInvitation (NOTES §4.4, §7).
	errNullUserInvitation = apiError{Kind: operationFault, Code: 3086,
		Message: "The UserInvitation field cannot be null or empty for the SendUserInvitation operation."}

	// SearchUserInvitations predicate errors (NOTES §7 "bad predicate"): no predicate at all
	// is 474; anything but exactly one CustomerId/Equals predicate is 3030.
	errPredicateMissing = apiError{Kind: operationFault, Code: 474, Message: "Required search predicate is missing."}
	errInvalidPredicate = apiError{Kind: operationFault, Code: 3030,
		Message: "The Predicate passed in the search is invalid."}

	// errInvalidAccount answers an account id that is not an account of the customer
	// (NOTES §7, 2108).
	errInvalidAccount = apiError{Kind: operationFault, Code: 2108, Message: "The account identifier is invalid."}

	// Generic AdApiFaultDetail errors the service itself does not raise in this emulator but
	// the fault layer can inject through (*Server).WriteFault (NOTES §7).
	errUserIsNotAuthorized = apiError{Kind: adAPIFault, Code: 106, ErrorCode: "UserIsNotAuthorized",
		Message: "The user is not authorized to perform this action."}
	errCallRateExceeded = apiError{Kind: adAPIFault, Code: 117, ErrorCode: "CallRateExceeded",
		Message: "You have exceeded the number of calls that you are allowed to make in a minute. " +
			"Please reduce the number of calls that you make per minute."}
	errInternal = apiError{Kind: adAPIFault, Code: 0, ErrorCode: "InternalError",
		Message: "An internal error has occurred."}
)

// inputError is errInputValidation with Details saying which member failed.
func inputError(details string) apiError {
	e := errInputValidation
	e.Details = details
	return e
}

// knownErrors are the errors WriteFault can produce by code.
var knownErrors = []apiError{
	errInternal, errInvalidCredentials, errUserIsNotAuthorized, errTokenExpired, errMissingHeaders,
	errCallRateExceeded, errInputValidation, errTimestampNotMatch, errEntityNotExistent, errPredicateMissing,
	errNotAuthorized, errInvalidAccount, errInvalidPredicate, errNullUserInvitation,
}

// errorForCode returns the documented error for code; an undocumented code becomes an
// AdApiFaultDetail with that code and a generic message.
func errorForCode(code int) apiError {
	for _, e := range knownErrors {
		if e.Code == code {
			return e
		}
	}
	return apiError{Kind: adAPIFault, Code: code, Message: fmt.Sprintf("Error %d.", code)}
}
