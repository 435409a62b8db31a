package adsemu

import (
	"net/http"
	"sync/atomic"

	"github.com/beevik/etree"
)

// operation binds one Customer Management operation (a typed function in users.go) to its
// two wire codecs: the SOAP body element (soapcodec.go) and the REST JSON body
// (restcodec.go). Both bindings therefore run the very same code over the same state.
type operation struct {
	name   string
	method string // REST method
	path   string // REST path below RESTPrefix (REST.md §1)
	calls  atomic.Int64
	soap   func(s *Server, c user, body *etree.Element) (*etree.Element, error)
	rest   func(s *Server, c user, body []byte) (any, error)
}

// bind builds an operation from its typed implementation and the codecs of its request and
// response. A decoder error is returned as is (a *wcfFault for SOAP, an apiError for REST).
func bind[In, Out any](name, method, path string, run func(*Server, user, In) (Out, error),
	fromXML func(*etree.Element) (In, error), toXML func(*etree.Element, Out),
	fromJSON func([]byte) (In, error), toJSON func(Out) any) *operation {
	return &operation{
		name: name, method: method, path: path,
		soap: func(s *Server, c user, body *etree.Element) (*etree.Element, error) {
			in, err := fromXML(body)
			if err != nil {
				return nil, err
			}
			out, err := run(s, c, in)
			if err != nil {
				return nil, err
			}
			resp := newResponse(name)
			toXML(resp, out)
			return resp, nil
		},
		rest: func(s *Server, c user, body []byte) (any, error) {
			in, err := fromJSON(body)
			if err != nil {
				return nil, err
			}
			out, err := run(s, c, in)
			if err != nil {
				return nil, err
			}
			return toJSON(out), nil
		},
	}
}

// operations is the dispatch table of both bindings, keyed by operation name (the
// SOAPAction, NOTES §1). REST methods and paths follow REST.md §1. Operations of the WSDL
// that are not listed answer ActionNotSupported (SOAP) or 404 (REST).
func operations() map[string]*operation {
	post, put, del := http.MethodPost, http.MethodPut, http.MethodDelete
	ops := []*operation{
		bind("GetUser", post, "User/Query", (*Server).getUser, soapGetUserIn, soapGetUserOut, restGetUserIn, restGetUserOut),
		bind("GetCurrentUser", post, "CurrentUser/Query", (*Server).getCurrentUser, soapEmptyIn, soapGetUserOut, restEmptyIn, restGetUserOut),
		bind("GetUsersInfo", post, "UsersInfo/Query", (*Server).getUsersInfo, soapGetUsersInfoIn, soapGetUsersInfoOut, restGetUsersInfoIn, restGetUsersInfoOut),
		bind("SendUserInvitation", post, "UserInvitation/Send", (*Server).sendUserInvitation, soapSendUserInvitationIn, soapSendUserInvitationOut, restSendUserInvitationIn, restSendUserInvitationOut),
		bind("SearchUserInvitations", post, "UserInvitations/Search", (*Server).searchUserInvitations, soapSearchUserInvitationsIn, soapSearchUserInvitationsOut, restSearchUserInvitationsIn, restSearchUserInvitationsOut),
		bind("UpdateUser", put, "User", (*Server).updateUser, soapUpdateUserIn, soapLastModifiedOut, restUpdateUserIn, restLastModifiedOut),
		bind("UpdateUserRoles", put, "UserRoles", (*Server).updateUserRoles, soapUpdateUserRolesIn, soapLastModifiedOut, restUpdateUserRolesIn, restLastModifiedOut),
		bind("DeleteUser", del, "User", (*Server).deleteUser, soapDeleteUserIn, soapEmptyOut, restDeleteUserIn, restEmptyOut),
		bind("GetCustomerPilotFeatures", post, "CustomerPilotFeatures/Query", (*Server).getCustomerPilotFeatures, soapCustomerIDIn, soapPilotFeaturesOut, restCustomerIDIn, restPilotFeaturesOut),
		bind("GetUserMFAStatus", post, "UserMFAStatus/Query", (*Server).getUserMFAStatus, soapEmptyIn, soapMFAStatusOut, restEmptyIn, restMFAStatusOut),
		bind("GetAccountsInfo", post, "AccountsInfo/Query", (*Server).getAccountsInfo, soapGetAccountsInfoIn, soapAccountsInfoOut, restGetAccountsInfoIn, restAccountsInfoOut),
		bind("GetCustomersInfo", post, "CustomersInfo/Query", (*Server).getCustomersInfo, soapGetCustomersInfoIn, soapCustomersInfoOut, restGetCustomersInfoIn, restCustomersInfoOut),
	}
	m := make(map[string]*operation, len(ops))
	for _, op := range ops {
		m[op.name] = op
	}
	return m
}
