package adsemu

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/msidm/msidm/sandbox/token"
)

// The control API: exported Go methods that the sandbox and tests use to do what a person
// or Microsoft would do outside the API (accept an invitation, let one expire), to observe
// the emulator (call counters), and to make either binding answer with a fault.

// Errors of the control API.
var (
	// ErrInvitationNotFound: no pending invitation has this id (unknown or already accepted).
	ErrInvitationNotFound = errors.New("adsemu: no pending invitation with this id")
	// ErrInvitationExpired: the invitation's ExpirationDate has passed; it can no longer be
	// accepted, though SearchUserInvitations still lists it (NOTES §4.5).
	ErrInvitationExpired = errors.New("adsemu: the invitation has expired")
)

// AcceptInvitation does what the invited person does by following the e-mail link: they
// become an Active user of the invitation's customer with its role, restricted to its
// accounts (none: the whole customer), named and localised as the invitation says, with the
// invited e-mail address as UserName. The invitation then leaves SearchUserInvitations.
//
// Someone who already has a user on the customer (say, deleted earlier and invited again)
// signs in with the same Microsoft account: that user is reactivated and given the
// invitation's role in place of its old ones, and keeps its id.
func (s *Server) AcceptInvitation(id int64) (userID int64, err error) {
	st := s.state
	st.mu.Lock()
	defer st.mu.Unlock()
	inv, ok := st.invitations[id]
	if !ok || inv.AcceptedUserID != 0 {
		return 0, ErrInvitationNotFound
	}
	now := st.now().UTC()
	if !now.Before(inv.Expires) {
		return 0, ErrInvitationExpired
	}
	r := role{RoleID: inv.RoleID, AccountIDs: slices.Clone(inv.AccountIDs)}
	if customerLevel(r.RoleID) {
		r.AccountIDs = nil
	}
	if uid, ok := st.byName[strings.ToLower(inv.Email)]; ok && st.users[uid].CustomerID == inv.CustomerID {
		u := st.users[uid]
		u.Status, u.Roles = "Active", []role{r}
		st.touch(u, u.ID)
		inv.AcceptedUserID = u.ID
		return u.ID, nil
	}
	st.lastUserID++
	st.lastContact++
	no := false
	u := &user{ID: st.lastUserID, CustomerID: inv.CustomerID, UserName: inv.Email,
		Contact:   contactInfo{ID: st.lastContact, Email: inv.Email, ContactByPhone: &no, ContactByPostalMail: &no},
		FirstName: inv.FirstName, LastName: inv.LastName, Lcid: inv.Lcid, Status: "Active", MFA: true,
		Roles: []role{r}}
	st.touch(u, u.ID)
	st.users[u.ID] = u
	st.byName[strings.ToLower(u.UserName)] = u.ID
	inv.AcceptedUserID = u.ID
	return u.ID, nil
}

// ExpireInvitation moves a pending invitation's ExpirationDate to the current time of the
// clock (Options.Now), as if its 30 days had passed. Invitations also expire on their own as
// the clock passes their ExpirationDate.
func (s *Server) ExpireInvitation(id int64) error {
	st := s.state
	st.mu.Lock()
	defer st.mu.Unlock()
	inv, ok := st.invitations[id]
	if !ok || inv.AcceptedUserID != 0 {
		return ErrInvitationNotFound
	}
	if now := st.now().UTC(); now.Before(inv.Expires) {
		inv.Expires = now
	}
	return nil
}

// Calls returns how many requests for op (an operation name such as "UpdateUser") reached
// the operation in either binding, whatever their outcome: every well-formed request whose
// operation was recognised is counted before authentication, faults included, so a test can
// assert that a client sent a write exactly once. Requests rejected earlier (malformed
// envelope, 404/405/413/415) and faults written by WriteFault are not counted. Unknown
// names count 0.
func (s *Server) Calls(op string) int {
	if o, ok := s.ops[op]; ok {
		return int(o.calls.Load())
	}
	return 0
}

// WriteFault answers r with the Customer Management fault for code (for example 117
// CallRateExceeded, 109 AuthenticationTokenExpired, 105, 106, 116, 209, 210, 1001) in the
// binding r was sent to, under a new TrackingId: for REST the JSON ApplicationFault with the
// HTTP status restStatus gives (429 for 117, 401 for 105/109/116, 403 for 106/1001, …); for
// SOAP the s:Fault with the AdApiFaultDetail or ApiFault detail and the status set by
// SetFaultStatus (500 by default). Codes without a documented message get a generic
// AdApiFaultDetail. It reads nothing from r but its URL path, and does not count a call.
func (s *Server) WriteFault(w http.ResponseWriter, r *http.Request, code int) {
	trackingID := token.NewGUID()
	w.Header().Set("TrackingId", trackingID)
	e := errorForCode(code)
	if isREST(r) {
		writeJSON(w, restStatus(e), restFault(trackingID, e))
		return
	}
	writeXML(w, int(s.faultStatus.Load()), envelope("", faultElement(trackingID, e)))
}
