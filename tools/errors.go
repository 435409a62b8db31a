package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/msidm/msidm/clients/ads"
	"github.com/msidm/msidm/clients/auth"
	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/clients/redact"
	"github.com/msidm/msidm/policy"
)

// errorShaper turns any failure into the text of an isError result: what went wrong, the
// ids Microsoft support asks for, and the next step. Every text passes the redactor, so a
// secret can never reach the model even if a lower layer put one in an error.
type errorShaper struct {
	redactor *redact.Redactor
}

func (s *errorShaper) redact(text string) string { return s.redactor.String(text) }

func (s *errorShaper) text(err error) string { return s.redact(explain(err)) }

func explain(err error) string {
	var (
		in     *InputError
		denied *policy.Denied
		ae     *auth.Error
		ge     *graph.Error
		fault  *ads.Fault
	)
	switch {
	case errors.As(err, &in):
		return "Invalid input: " + in.msg + "."
	case errors.As(err, &denied):
		return denied.Error() + "."
	case errors.Is(err, context.Canceled):
		return "The call was cancelled before it finished; nothing further was done. Call the tool again to retry."
	case errors.Is(err, context.DeadlineExceeded):
		return "The call timed out waiting for Microsoft. Retry in a moment; if it keeps happening, check the network path to Microsoft."
	case errors.As(err, &ae):
		return fmt.Sprintf("Sign-in failed: %s. An operator must fix the configuration and restart msidm; retrying will not help.", ae.Error())
	case errors.As(err, &ge):
		return explainGraph(ge)
	case errors.As(err, &fault):
		return explainFault(fault)
	}
	return fmt.Sprintf("Could not complete the call: %v. If Microsoft could not be reached, check the network and the MSIDM_GRAPH_URL / MSIDM_ADS_URL settings, then retry.", err)
}

func explainGraph(e *graph.Error) string {
	ids := fmt.Sprintf("(Graph %d %s, request-id %s)", e.StatusCode, e.Code, e.RequestID)
	switch e.StatusCode {
	case 401:
		return "Microsoft Graph rejected msidm's access token " + ids + ". An operator should check the app registration (MSIDM_CLIENT_ID, MSIDM_TENANT_ID) and restart msidm."
	case 403:
		return "msidm's app lacks a Microsoft Graph permission for this call " + ids + ": " + e.Message + " An administrator must grant the application permission (for example User.Read.All) and admin consent."
	case 404:
		return "Not found in Entra ID " + ids + ": " + e.Message + " Check the id or userPrincipalName, or search with list_entra_users."
	case 429:
		wait := e.RetryAfter
		if wait == "" {
			wait = "a few"
		}
		return fmt.Sprintf("Microsoft Graph is throttling msidm %s. Wait %s seconds, then retry.", ids, wait)
	}
	if e.StatusCode >= 500 {
		return "Microsoft Graph had a temporary failure " + ids + ": " + e.Message + " Retry in a moment."
	}
	return "Microsoft Graph refused the request " + ids + ": " + e.Message
}

func explainFault(f *ads.Fault) string {
	ids := fmt.Sprintf("(TrackingId %s)", f.TrackingID)
	switch {
	case f.Has(ads.CodeCallRateExceeded):
		return "Microsoft Advertising is throttling msidm (117 CallRateExceeded) " + ids + ". Wait 60 seconds, then retry."
	case f.Has(ads.CodeAuthenticationTokenExpired):
		return "Microsoft Advertising says the access token expired (109) " + ids + ". Retry once; if it persists, run 'msidm login ads'."
	case f.Has(ads.CodeInvalidCredentials):
		return "Microsoft Advertising rejected the credentials (105 InvalidCredentials) " + ids + ". Check MSIDM_ADS_DEVELOPER_TOKEN and MSIDM_ADS_ENVIRONMENT (production tokens do not work in sandbox), or run 'msidm login ads'."
	case f.Has(ads.CodeUserIsNotAuthorized):
		return "The signed-in Microsoft Advertising user may not do this (106 UserIsNotAuthorized) " + ids + ". Check the customer id, or use a Super Admin or Standard User sign-in."
	case f.Has(ads.CodeEntityNotExistent):
		return "Microsoft Advertising says the user or entity does not exist (210) " + ids + ". Check the id with list_ads_users."
	}
	var parts []string
	for _, e := range f.Errors {
		p := fmt.Sprintf("%d", e.Code)
		if e.ErrorCode != "" {
			p += " " + e.ErrorCode
		}
		if e.Message != "" {
			p += ": " + e.Message
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		parts = append(parts, f.FaultString)
	}
	return "Microsoft Advertising returned a fault " + ids + ": " + strings.Join(parts, "; ")
}
