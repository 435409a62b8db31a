package adsemu

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The Customer Management operations as functions over typed Go values (NOTES §4). Each
// takes the signed-in caller (a copy of its row) and the decoded request, and returns the
// response value or an apiError. They know nothing of SOAP or REST: soapcodec.go and
// restcodec.go translate the wire formats, and operations() in ops.go binds the three.

type (
	getUserIn  struct{ UserID *int64 } // nil: the caller (docs getuser.md)
	getUserOut struct {
		User      user
		WithRoles bool // GetUser returns CustomerRoles; GetCurrentUser does not
	}
	getUsersInfoIn struct {
		CustomerID   int64
		StatusFilter string // "" = any
	}
	getUsersInfoOut struct{ UsersInfo []userInfo }

	sendUserInvitationIn  struct{ Invitation *invitation } // Id and ExpirationDate are read-only, ignored
	sendUserInvitationOut struct{ UserInvitationID int64 }

	predicate                struct{ Field, Operator, Value string }
	searchUserInvitationsIn  struct{ Predicates []predicate }
	searchUserInvitationsOut struct{ UserInvitations []invitation }

	updateUserIn struct{ User *userIn }
	// userIn is ent:User as a client sends it to UpdateUser. Every writable member is a full
	// replacement (NOTES §3): an absent member clears the stored one, except
	// ForwardCompatibilityMap, which is kept when not sent.
	userIn struct {
		ID                                 *int64
		TimeStamp                          []byte  // nil: not sent
		UserName                           *string // read-only; must not change
		Contact                            *contactInfo
		FirstName, LastName, MiddleInitial string
		JobTitle, Lcid, SecretQuestion     string
		ForwardCompatibilityMap            []keyValue // nil: not sent
	}
	lastModifiedOut struct{ LastModifiedTime time.Time }

	updateUserRolesIn struct {
		CustomerID, UserID                  int64
		NewRoleID                           *int
		NewAccountIDs, NewCustomerIDs       []int64
		DeleteRoleID                        *int
		DeleteAccountIDs, DeleteCustomerIDs []int64
	}

	deleteUserIn struct {
		UserID    int64
		TimeStamp []byte // nil: not sent
	}
	empty struct{}

	customerIDIn     struct{ CustomerID int64 } // GetCustomerPilotFeatures
	pilotFeaturesOut struct{ FeaturePilotFlags []int }
	mfaStatusOut     struct{ MFAStatus bool }

	getAccountsInfoIn struct {
		CustomerID         *int64 // nil: the caller's customer
		OnlyParentAccounts bool
	}
	accountsInfoOut struct{ AccountsInfo []account }

	getCustomersInfoIn struct {
		CustomerNameFilter string
		TopN               int
	}
	customerInfo struct {
		ID   int64
		Name string
	}
	customersInfoOut struct{ CustomersInfo []customerInfo }
)

// getUser implements GetUser: UserId nil or absent means the signed-in user (docs
// getuser.md, NOTES §4.1); an unknown id is ApiFault 210.
func (s *Server) getUser(c user, in getUserIn) (getUserOut, error) {
	u := c
	if in.UserID != nil {
		var err error
		if u, err = s.state.userByID(*in.UserID); err != nil {
			return getUserOut{}, err
		}
		if u.CustomerID != c.CustomerID {
			return getUserOut{}, errEntityNotExistent // other customers' users are invisible
		}
	}
	return getUserOut{User: u, WithRoles: true}, nil
}

// getCurrentUser implements GetCurrentUser: in the WSDL but undocumented; returns the
// signed-in user without roles (NOTES §4.2).
func (s *Server) getCurrentUser(c user, _ empty) (getUserOut, error) {
	return getUserOut{User: c}, nil
}

// getUsersInfo implements GetUsersInfo: CustomerId (required by the docs) and an optional
// StatusFilter; no paging (NOTES §4.3).
func (s *Server) getUsersInfo(c user, in getUsersInfoIn) (getUsersInfoOut, error) {
	if in.CustomerID <= 0 {
		return getUsersInfoOut{}, errInputValidation
	}
	if !c.canAccess(in.CustomerID) {
		return getUsersInfoOut{}, errNotAuthorized
	}
	return getUsersInfoOut{UsersInfo: s.state.usersInfo(in.CustomerID, in.StatusFilter)}, nil
}

// sendUserInvitation implements SendUserInvitation (NOTES §4.4): Super Admin or Standard
// only, a Standard user cannot invite a Super Admin; duplicates are allowed; the invitation
// expires after 30 days; account ids are ignored for customer-level roles.
func (s *Server) sendUserInvitation(c user, in sendUserInvitationIn) (sendUserInvitationOut, error) {
	inv := in.Invitation
	if inv == nil {
		return sendUserInvitationOut{}, errNullUserInvitation
	}
	if !c.canManageUsers() {
		return sendUserInvitationOut{}, errNotAuthorized
	}
	switch {
	case !validName(inv.FirstName, 40):
		return sendUserInvitationOut{}, inputError("UserInvitation.FirstName is required (at most 40 characters).")
	case !validName(inv.LastName, 40):
		return sendUserInvitationOut{}, inputError("UserInvitation.LastName is required (at most 40 characters).")
	case !validEmail(inv.Email):
		return sendUserInvitationOut{}, inputError("UserInvitation.Email is required: an e-mail address of at most 100 characters.")
	case inv.CustomerID <= 0:
		return sendUserInvitationOut{}, inputError("UserInvitation.CustomerId is required.")
	case !slices.Contains(knownRoles, inv.RoleID):
		return sendUserInvitationOut{}, inputError("UserInvitation.RoleId is not a valid role.")
	case inv.Lcid == "":
		return sendUserInvitationOut{}, inputError("UserInvitation.Lcid is required.")
	}
	if !c.canAccess(inv.CustomerID) || (inv.RoleID == roleSuperAdmin && !c.hasRole(roleSuperAdmin)) {
		return sendUserInvitationOut{}, errNotAuthorized
	}
	row := inv.clone()
	if customerLevel(row.RoleID) || len(row.AccountIDs) == 0 {
		row.AccountIDs = nil // nil: all current and future accounts (NOTES §4.4)
	}
	for _, id := range row.AccountIDs {
		if !s.state.customer.hasAccount(id) {
			return sendUserInvitationOut{}, errInvalidAccount
		}
	}
	st := s.state
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lastInvID++
	row.ID, row.AcceptedUserID = st.lastInvID, 0
	row.Expires = st.now().UTC().Add(invitationLifetime)
	st.invitations[row.ID] = &row
	return sendUserInvitationOut{UserInvitationID: row.ID}, nil
}

// searchUserInvitations implements SearchUserInvitations: exactly one predicate,
// CustomerId Equals <id> (NOTES §4.5, §12.8); returns the pending invitations, expired or
// not; accepted ones are gone.
func (s *Server) searchUserInvitations(c user, in searchUserInvitationsIn) (searchUserInvitationsOut, error) {
	if len(in.Predicates) == 0 {
		return searchUserInvitationsOut{}, errPredicateMissing
	}
	if len(in.Predicates) != 1 {
		return searchUserInvitationsOut{}, errInvalidPredicate
	}
	p := in.Predicates[0]
	id, err := strconv.ParseInt(strings.TrimSpace(p.Value), 10, 64)
	if p.Field != "CustomerId" || p.Operator != "Equals" || err != nil || id <= 0 {
		return searchUserInvitationsOut{}, errInvalidPredicate
	}
	if !c.canAccess(id) {
		return searchUserInvitationsOut{}, errNotAuthorized
	}
	return searchUserInvitationsOut{UserInvitations: s.state.pendingInvitations(id)}, nil
}

// updateUser implements UpdateUser (NOTES §3, §4.6): a full replace of the writable members
// guarded by the row's TimeStamp; UserName and the other read-only members cannot change.
func (s *Server) updateUser(c user, in updateUserIn) (lastModifiedOut, error) {
	u := in.User
	switch {
	case u == nil:
		return lastModifiedOut{}, inputError("User is required.")
	case u.ID == nil:
		return lastModifiedOut{}, inputError("User.Id is required.")
	case !c.canManageUsers():
		return lastModifiedOut{}, errNotAuthorized
	case !validName(u.FirstName, 40) || !validName(u.LastName, 40):
		return lastModifiedOut{}, inputError("User.Name.FirstName and User.Name.LastName are required (at most 40 characters).")
	case u.Contact == nil || !validEmail(u.Contact.Email):
		return lastModifiedOut{}, inputError("User.ContactInfo.Email is required: an e-mail address of at most 100 characters.")
	}
	st := s.state
	st.mu.Lock()
	defer st.mu.Unlock()
	row, err := st.writableUser(c, *u.ID)
	if err != nil {
		return lastModifiedOut{}, err
	}
	if !row.TimeStamp.matches(u.TimeStamp) {
		return lastModifiedOut{}, errTimestampNotMatch
	}
	if u.UserName != nil && *u.UserName != "" && !strings.EqualFold(*u.UserName, row.UserName) {
		return lastModifiedOut{}, inputError("User.UserName is read-only and cannot be changed.")
	}
	contact := *u.Contact
	contact.ID = row.Contact.ID // read-only: the row keeps its contact id
	if contact.Address != nil {
		a := *contact.Address
		if row.Contact.Address != nil {
			a.ID = row.Contact.Address.ID
		} else {
			st.lastContact++
			a.ID = st.lastContact
		}
		contact.Address = &a
	}
	contact.ContactByPhone = cloneBool(contact.ContactByPhone)
	contact.ContactByPostalMail = cloneBool(contact.ContactByPostalMail)
	row.Contact = contact
	row.FirstName, row.LastName, row.MiddleInitial = u.FirstName, u.LastName, u.MiddleInitial
	row.JobTitle, row.Lcid, row.SecretQuestion = u.JobTitle, u.Lcid, u.SecretQuestion
	if u.ForwardCompatibilityMap != nil {
		row.ForwardCompatibilityMap = slices.Clone(u.ForwardCompatibilityMap)
	}
	st.touch(row, c.ID)
	return lastModifiedOut{LastModifiedTime: row.LastModifiedTime}, nil
}

// writableUser returns the row a write by caller c may change: an existing user of c's
// customer that is not deactivated (210 otherwise), and not a Super Admin when c is only a
// Standard user (NOTES §8). Callers hold mu for writing.
func (st *state) writableUser(c user, id int64) (*user, error) {
	row, ok := st.users[id]
	if !ok || row.CustomerID != c.CustomerID || row.Status == "Inactive" || row.Status == "Deleted" {
		return nil, errEntityNotExistent
	}
	if row.hasRole(roleSuperAdmin) && !c.hasRole(roleSuperAdmin) {
		return nil, errNotAuthorized
	}
	return row, nil
}

// updateUserRoles implements UpdateUserRoles (NOTES §4.7): no time stamp; the delete half
// runs before the add half, so one call can swap a role or widen a restricted role to all
// accounts (NewAccountIds nil, old ones in DeleteAccountIds). Customer-level roles (Super
// Admin) ignore account ids.
func (s *Server) updateUserRoles(c user, in updateUserRolesIn) (lastModifiedOut, error) {
	switch {
	case in.CustomerID <= 0:
		return lastModifiedOut{}, inputError("CustomerId is required.")
	case in.UserID <= 0:
		return lastModifiedOut{}, inputError("UserId is required.")
	case !c.canAccess(in.CustomerID) || !c.canManageUsers():
		return lastModifiedOut{}, errNotAuthorized
	case in.NewRoleID == nil && in.DeleteRoleID == nil:
		return lastModifiedOut{}, inputError("NewRoleId or DeleteRoleId is required.")
	}
	for _, r := range []*int{in.NewRoleID, in.DeleteRoleID} {
		if r != nil && !slices.Contains(knownRoles, *r) {
			return lastModifiedOut{}, inputError("The role id is not a valid role.")
		}
		if r != nil && *r == roleSuperAdmin && !c.hasRole(roleSuperAdmin) {
			return lastModifiedOut{}, errNotAuthorized
		}
	}
	for _, id := range slices.Concat(in.NewCustomerIDs, in.DeleteCustomerIDs) {
		if id != in.CustomerID {
			return lastModifiedOut{}, errNotAuthorized // linked customers are not emulated
		}
	}
	for _, id := range slices.Concat(in.NewAccountIDs, in.DeleteAccountIDs) {
		if !s.state.customer.hasAccount(id) {
			return lastModifiedOut{}, errInvalidAccount
		}
	}
	st := s.state
	st.mu.Lock()
	defer st.mu.Unlock()
	row, err := st.writableUser(c, in.UserID)
	if err != nil {
		return lastModifiedOut{}, err
	}
	roles := cloneRoles(row.Roles)
	if in.DeleteRoleID != nil {
		roles = deleteRole(roles, *in.DeleteRoleID, in.DeleteAccountIDs, st.customer.Accounts)
	}
	if in.NewRoleID != nil {
		roles = addRole(roles, *in.NewRoleID, in.NewAccountIDs)
	}
	if len(roles) == 0 {
		return lastModifiedOut{}, inputError("A user must keep at least one role; use DeleteUser to remove the user.")
	}
	row.Roles = roles
	st.touch(row, c.ID)
	return lastModifiedOut{LastModifiedTime: row.LastModifiedTime}, nil
}

// deleteRole removes accountIDs from roleID, or the whole role when accountIDs is empty.
// Narrowing a customer-level role first expands it to the customer's current accounts.
func deleteRole(roles []role, roleID int, accountIDs []int64, all []account) []role {
	i := slices.IndexFunc(roles, func(r role) bool { return r.RoleID == roleID })
	if i < 0 {
		return roles
	}
	if len(accountIDs) == 0 || customerLevel(roleID) {
		return slices.Delete(roles, i, i+1)
	}
	ids := roles[i].AccountIDs
	if ids == nil {
		for _, a := range all {
			ids = append(ids, a.ID)
		}
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { return slices.Contains(accountIDs, id) })
	if len(ids) == 0 {
		return slices.Delete(roles, i, i+1)
	}
	roles[i].AccountIDs = ids
	return roles
}

// addRole grants roleID on accountIDs (nil or empty: the whole customer).
func addRole(roles []role, roleID int, accountIDs []int64) []role {
	if customerLevel(roleID) || len(accountIDs) == 0 {
		accountIDs = nil
	}
	i := slices.IndexFunc(roles, func(r role) bool { return r.RoleID == roleID })
	if i < 0 {
		ids := slices.Clone(accountIDs)
		slices.Sort(ids)
		return append(roles, role{RoleID: roleID, AccountIDs: slices.Compact(ids)})
	}
	switch {
	case accountIDs == nil:
		roles[i].AccountIDs = nil
	case roles[i].AccountIDs != nil: // a customer-level role already covers every account
		ids := slices.Concat(roles[i].AccountIDs, accountIDs)
		slices.Sort(ids)
		roles[i].AccountIDs = slices.Compact(ids)
	}
	return roles
}

// deleteUser implements DeleteUser (NOTES §4.8): Super Admin only; the TimeStamp must be
// the row's. The user is deactivated, not erased: UserLifeCycleStatus becomes Inactive, so
// GetUsersInfo with StatusFilter Inactive lists it and it can no longer sign in.
func (s *Server) deleteUser(c user, in deleteUserIn) (empty, error) {
	if in.UserID <= 0 {
		return empty{}, inputError("UserId is required.")
	}
	if !c.hasRole(roleSuperAdmin) {
		return empty{}, errNotAuthorized
	}
	st := s.state
	st.mu.Lock()
	defer st.mu.Unlock()
	row, err := st.writableUser(c, in.UserID)
	if err != nil {
		return empty{}, err
	}
	if !row.TimeStamp.matches(in.TimeStamp) {
		return empty{}, errTimestampNotMatch
	}
	row.Status = "Inactive"
	st.touch(row, c.ID)
	return empty{}, nil
}

// getCustomerPilotFeatures implements GetCustomerPilotFeatures (NOTES §4.9).
func (s *Server) getCustomerPilotFeatures(c user, in customerIDIn) (pilotFeaturesOut, error) {
	if in.CustomerID <= 0 {
		return pilotFeaturesOut{}, inputError("CustomerId is required.")
	}
	if !c.canAccess(in.CustomerID) {
		return pilotFeaturesOut{}, errNotAuthorized
	}
	return pilotFeaturesOut{FeaturePilotFlags: slices.Clone(s.state.customer.PilotFeatures)}, nil
}

// getUserMFAStatus implements GetUserMFAStatus (NOTES §4.10) for the signed-in user.
func (s *Server) getUserMFAStatus(c user, _ empty) (mfaStatusOut, error) {
	return mfaStatusOut{MFAStatus: c.MFA}, nil
}

// getAccountsInfo implements GetAccountsInfo (NOTES §4.11): CustomerId nil means the
// caller's customer; a user restricted to accounts sees only those. The emulated customer
// has no account hierarchy, so every account is a parent account.
func (s *Server) getAccountsInfo(c user, in getAccountsInfoIn) (accountsInfoOut, error) {
	customerID := c.CustomerID
	if in.CustomerID != nil {
		customerID = *in.CustomerID
	}
	if !c.canAccess(customerID) {
		return accountsInfoOut{}, errNotAuthorized
	}
	cust := &s.state.customer
	visible := c.accountIDs(cust)
	out := accountsInfoOut{AccountsInfo: []account{}}
	for _, a := range cust.Accounts {
		if slices.Contains(visible, a.ID) {
			out.AccountsInfo = append(out.AccountsInfo, a)
		}
	}
	slices.SortFunc(out.AccountsInfo, func(a, b account) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// getCustomersInfo implements GetCustomersInfo (NOTES §4.11): a case-insensitive name
// prefix ("" = all) and a positive TopN.
func (s *Server) getCustomersInfo(c user, in getCustomersInfoIn) (customersInfoOut, error) {
	if in.TopN <= 0 {
		return customersInfoOut{}, inputError("TopN must be a positive number.")
	}
	out := customersInfoOut{CustomersInfo: []customerInfo{}}
	cust := s.state.customer
	if c.canAccess(cust.ID) && strings.HasPrefix(strings.ToLower(cust.Name), strings.ToLower(in.CustomerNameFilter)) {
		out.CustomersInfo = append(out.CustomersInfo, customerInfo{ID: cust.ID, Name: cust.Name})
	}
	if len(out.CustomersInfo) > in.TopN {
		out.CustomersInfo = out.CustomersInfo[:in.TopN]
	}
	return out, nil
}

func validName(s string, max int) bool {
	return strings.TrimSpace(s) != "" && utf8.RuneCountInString(s) <= max
}

func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && utf8.RuneCountInString(s) <= 100 && !strings.ContainsAny(s, " \t\r\n")
}
