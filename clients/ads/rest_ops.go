package ads

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The REST operations (REST.md §1 paths, §2.4 bodies). Property names are the SOAP element
// names; longs are JSON strings, ints and booleans JSON values, enums their names, TimeStamp
// base64, nil members explicit null as the .NET SDK writes them (REST.md §2.3).

type restUser struct {
	ContactInfo             *restContactInfo `json:"ContactInfo"`
	CustomerID              *jlong           `json:"CustomerId"`
	ID                      *jlong           `json:"Id"`
	JobTitle                *string          `json:"JobTitle"`
	LastModifiedByUserID    *jlong           `json:"LastModifiedByUserId"`
	LastModifiedTime        *string          `json:"LastModifiedTime"`
	Lcid                    *string          `json:"Lcid"`
	Name                    *restPersonName  `json:"Name"`
	Password                *string          `json:"Password"`
	SecretAnswer            *string          `json:"SecretAnswer"`
	SecretQuestion          *string          `json:"SecretQuestion"`
	UserLifeCycleStatus     *string          `json:"UserLifeCycleStatus"`
	TimeStamp               *string          `json:"TimeStamp"`
	UserName                *string          `json:"UserName"`
	ForwardCompatibilityMap []restKeyValue   `json:"ForwardCompatibilityMap"`
	// AuthenticationToken is EmitDefaultValue=false: left out when null (REST.md §2.2).
	AuthenticationToken *string `json:"AuthenticationToken,omitempty"`
}

type restKeyValue struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type restPersonName struct {
	FirstName     *string `json:"FirstName"`
	LastName      *string `json:"LastName"`
	MiddleInitial *string `json:"MiddleInitial"`
}

type restContactInfo struct {
	Address             *restAddress `json:"Address"`
	ContactByPhone      *bool        `json:"ContactByPhone"`
	ContactByPostalMail *bool        `json:"ContactByPostalMail"`
	Email               *string      `json:"Email"`
	EmailFormat         *string      `json:"EmailFormat"`
	Fax                 *string      `json:"Fax"`
	HomePhone           *string      `json:"HomePhone"`
	ID                  *jlong       `json:"Id"`
	Mobile              *string      `json:"Mobile"`
	Phone1              *string      `json:"Phone1"`
	Phone2              *string      `json:"Phone2"`
}

type restAddress struct {
	City            *string `json:"City"`
	CountryCode     *string `json:"CountryCode"`
	ID              *jlong  `json:"Id"`
	Line1           *string `json:"Line1"`
	Line2           *string `json:"Line2"`
	Line3           *string `json:"Line3"`
	Line4           *string `json:"Line4"`
	PostalCode      *string `json:"PostalCode"`
	StateOrProvince *string `json:"StateOrProvince"`
	TimeStamp       *string `json:"TimeStamp"`
	BusinessName    *string `json:"BusinessName"`
}

type restCustomerRole struct {
	RoleID                 jint    `json:"RoleId"`
	CustomerID             jlong   `json:"CustomerId"`
	AccountIDs             []jlong `json:"AccountIds"`
	LinkedAccountIDs       []jlong `json:"LinkedAccountIds"`
	CustomerLinkPermission *string `json:"CustomerLinkPermission"`
}

// restInvitation is sent the way the .NET SDK does: Id, CustomerId, RoleId,
// ExpirationDate and Lcid are non-nullable there (REST.md §2.4), so Id goes as "0" and the
// read-only ExpirationDate as the zero DateTime.
type restInvitation struct {
	ID             jlong   `json:"Id"`
	FirstName      *string `json:"FirstName"`
	LastName       *string `json:"LastName"`
	Email          *string `json:"Email"`
	CustomerID     jlong   `json:"CustomerId"`
	RoleID         jint    `json:"RoleId"`
	AccountIDs     []jlong `json:"AccountIds"`
	ExpirationDate *string `json:"ExpirationDate"`
	Lcid           *string `json:"Lcid"`
}

// wcfDateTime is how .NET writes a DateTime without a zone; the values are UTC.
const wcfDateTime = "2006-01-02T15:04:05.999"

// GetUsersInfo: POST UsersInfo/Query.
func (c *RESTClient) GetUsersInfo(ctx context.Context, customerID int64, status string) ([]UserInfo, error) {
	in := struct {
		CustomerID   jlong   `json:"CustomerId"`
		StatusFilter *string `json:"StatusFilter"`
	}{jlong(customerID), strp(status)}
	var out struct {
		UsersInfo []struct {
			ID       *jlong  `json:"Id"`
			UserName *string `json:"UserName"`
		} `json:"UsersInfo"`
	}
	var users []UserInfo
	err := c.call(ctx, "GetUsersInfo", http.MethodPost, "UsersInfo/Query", true, in, &out, func() error {
		for _, u := range out.UsersInfo {
			if u.ID == nil {
				return fmt.Errorf("ads: GetUsersInfo: UserInfo/Id: %w", errShape)
			}
			users = append(users, UserInfo{ID: int64(*u.ID), UserName: str(u.UserName)})
		}
		return nil
	})
	return users, err
}

// GetUser: POST User/Query; UserId null means the signed-in user.
func (c *RESTClient) GetUser(ctx context.Context, userID int64) (*User, []CustomerRole, error) {
	in := struct {
		UserID *jlong `json:"UserId"`
	}{longp(userID)}
	var out struct {
		User          *restUser          `json:"User"`
		CustomerRoles []restCustomerRole `json:"CustomerRoles"`
	}
	var u *User
	err := c.call(ctx, "GetUser", http.MethodPost, "User/Query", true, in, &out, func() (err error) {
		u, err = fromRESTUser("GetUser", out.User)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var roles []CustomerRole
	for _, r := range out.CustomerRoles {
		roles = append(roles, CustomerRole{RoleID: int(r.RoleID), CustomerID: int64(r.CustomerID),
			AccountIDs: int64s(r.AccountIDs), LinkedAccountIDs: int64s(r.LinkedAccountIDs),
			CustomerLinkPermission: str(r.CustomerLinkPermission)})
	}
	return u, roles, nil
}

// GetCurrentUser: POST CurrentUser/Query with {}.
func (c *RESTClient) GetCurrentUser(ctx context.Context) (*User, error) {
	var out struct {
		User *restUser `json:"User"`
	}
	var u *User
	err := c.call(ctx, "GetCurrentUser", http.MethodPost, "CurrentUser/Query", true, struct{}{}, &out, func() (err error) {
		u, err = fromRESTUser("GetCurrentUser", out.User)
		return err
	})
	return u, err
}

// SendUserInvitation: POST UserInvitation/Send. Never resent on throttling.
func (c *RESTClient) SendUserInvitation(ctx context.Context, inv UserInvitation) (int64, error) {
	zero := time.Time{}.Format("2006-01-02T15:04:05")
	in := struct {
		UserInvitation restInvitation `json:"UserInvitation"`
	}{restInvitation{ID: jlong(inv.ID), FirstName: strp(inv.FirstName), LastName: strp(inv.LastName),
		Email: strp(inv.Email), CustomerID: jlong(inv.CustomerID), RoleID: jint(inv.RoleID),
		AccountIDs: jlongs(inv.AccountIDs), ExpirationDate: &zero, Lcid: strp(inv.Lcid)}}
	var out struct {
		UserInvitationID *jlong `json:"UserInvitationId"`
	}
	err := c.call(ctx, "SendUserInvitation", http.MethodPost, "UserInvitation/Send", false, in, &out, func() error {
		if out.UserInvitationID == nil {
			return fmt.Errorf("ads: SendUserInvitation: UserInvitationId: %w", errShape)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int64(*out.UserInvitationID), nil
}

// SearchUserInvitations: POST UserInvitations/Search with the one CustomerId predicate;
// email filters on the client.
func (c *RESTClient) SearchUserInvitations(ctx context.Context, customerID int64, email string) ([]UserInvitation, error) {
	type predicate struct {
		Field    string `json:"Field"`
		Operator string `json:"Operator"`
		Value    string `json:"Value"`
	}
	in := struct {
		Predicates []predicate `json:"Predicates"`
	}{[]predicate{{"CustomerId", "Equals", strconv.FormatInt(customerID, 10)}}}
	var out struct {
		UserInvitations []restInvitation `json:"UserInvitations"`
	}
	if err := c.call(ctx, "SearchUserInvitations", http.MethodPost, "UserInvitations/Search", true, in, &out, nil); err != nil {
		return nil, err
	}
	var invs []UserInvitation
	for _, ri := range out.UserInvitations {
		inv := UserInvitation{ID: int64(ri.ID), FirstName: str(ri.FirstName), LastName: str(ri.LastName),
			Email: str(ri.Email), CustomerID: int64(ri.CustomerID), RoleID: int(ri.RoleID),
			AccountIDs: int64s(ri.AccountIDs), ExpirationDate: parseDateTime(str(ri.ExpirationDate)), Lcid: str(ri.Lcid)}
		if email == "" || strings.EqualFold(inv.Email, email) {
			invs = append(invs, inv)
		}
	}
	return invs, nil
}

// UpdateUser: PUT User with the whole user (full update, REST.md §2.4); see Service.
func (c *RESTClient) UpdateUser(ctx context.Context, u *User) (time.Time, error) {
	if u == nil || u.ID == 0 {
		return time.Time{}, fmt.Errorf("ads: UpdateUser: the user id is required")
	}
	in := struct {
		User *restUser `json:"User"`
	}{toRESTUser(u)}
	var out struct {
		LastModifiedTime *string `json:"LastModifiedTime"`
	}
	if err := c.call(ctx, "UpdateUser", http.MethodPut, "User", true, in, &out, nil); err != nil {
		return time.Time{}, err
	}
	return parseDateTime(str(out.LastModifiedTime)), nil
}

// UpdateUserRoles: PUT UserRoles.
func (c *RESTClient) UpdateUserRoles(ctx context.Context, r UserRoleUpdate) (time.Time, error) {
	in := struct {
		CustomerID        jlong   `json:"CustomerId"`
		UserID            jlong   `json:"UserId"`
		NewRoleID         *int    `json:"NewRoleId"`
		NewAccountIDs     []jlong `json:"NewAccountIds"`
		NewCustomerIDs    []jlong `json:"NewCustomerIds"`
		DeleteRoleID      *int    `json:"DeleteRoleId"`
		DeleteAccountIDs  []jlong `json:"DeleteAccountIds"`
		DeleteCustomerIDs []jlong `json:"DeleteCustomerIds"`
	}{jlong(r.CustomerID), jlong(r.UserID), intp(r.NewRoleID), jlongs(r.NewAccountIDs), jlongs(r.NewCustomerIDs),
		intp(r.DeleteRoleID), jlongs(r.DeleteAccountIDs), jlongs(r.DeleteCustomerIDs)}
	var out struct {
		LastModifiedTime *string `json:"LastModifiedTime"`
	}
	if err := c.call(ctx, "UpdateUserRoles", http.MethodPut, "UserRoles", true, in, &out, nil); err != nil {
		return time.Time{}, err
	}
	return parseDateTime(str(out.LastModifiedTime)), nil
}

// DeleteUser: DELETE User with a JSON body; the response is {}.
func (c *RESTClient) DeleteUser(ctx context.Context, userID int64, timeStamp string) error {
	in := struct {
		UserID    jlong   `json:"UserId"`
		TimeStamp *string `json:"TimeStamp"`
	}{jlong(userID), strp(timeStamp)}
	return c.call(ctx, "DeleteUser", http.MethodDelete, "User", true, in, nil, nil)
}

// GetUserMFAStatus: POST UserMFAStatus/Query with {}.
func (c *RESTClient) GetUserMFAStatus(ctx context.Context) (bool, error) {
	var out struct {
		MFAStatus *bool `json:"MFAStatus"`
	}
	err := c.call(ctx, "GetUserMFAStatus", http.MethodPost, "UserMFAStatus/Query", true, struct{}{}, &out, func() error {
		if out.MFAStatus == nil {
			return fmt.Errorf("ads: GetUserMFAStatus: MFAStatus: %w", errShape)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return *out.MFAStatus, nil
}

// GetCustomerPilotFeatures: POST CustomerPilotFeatures/Query.
func (c *RESTClient) GetCustomerPilotFeatures(ctx context.Context, customerID int64) ([]int, error) {
	in := struct {
		CustomerID jlong `json:"CustomerId"`
	}{jlong(customerID)}
	var out struct {
		FeaturePilotFlags []int `json:"FeaturePilotFlags"`
	}
	if err := c.call(ctx, "GetCustomerPilotFeatures", http.MethodPost, "CustomerPilotFeatures/Query", true, in, &out, nil); err != nil {
		return nil, err
	}
	return out.FeaturePilotFlags, nil
}

// GetAccountsInfo: POST AccountsInfo/Query; CustomerId null when 0.
func (c *RESTClient) GetAccountsInfo(ctx context.Context, customerID int64, onlyParentAccounts bool) ([]AccountInfo, error) {
	in := struct {
		CustomerID         *jlong `json:"CustomerId"`
		OnlyParentAccounts bool   `json:"OnlyParentAccounts"`
	}{longp(customerID), onlyParentAccounts}
	var out struct {
		AccountsInfo []struct {
			ID                     *jlong  `json:"Id"`
			Name                   *string `json:"Name"`
			Number                 *string `json:"Number"`
			AccountLifeCycleStatus *string `json:"AccountLifeCycleStatus"`
			PauseReason            *jint   `json:"PauseReason"`
		} `json:"AccountsInfo"`
	}
	var accounts []AccountInfo
	err := c.call(ctx, "GetAccountsInfo", http.MethodPost, "AccountsInfo/Query", true, in, &out, func() error {
		for _, a := range out.AccountsInfo {
			if a.ID == nil {
				return fmt.Errorf("ads: GetAccountsInfo: AccountInfo/Id: %w", errShape)
			}
			ai := AccountInfo{ID: int64(*a.ID), Name: str(a.Name), Number: str(a.Number), Status: str(a.AccountLifeCycleStatus)}
			if a.PauseReason != nil {
				p := int(*a.PauseReason)
				ai.PauseReason = &p
			}
			accounts = append(accounts, ai)
		}
		return nil
	})
	return accounts, err
}

// GetCustomersInfo: POST CustomersInfo/Query.
func (c *RESTClient) GetCustomersInfo(ctx context.Context, nameFilter string, topN int) ([]CustomerInfo, error) {
	if topN <= 0 {
		return nil, fmt.Errorf("ads: GetCustomersInfo: topN must be positive, got %d", topN)
	}
	in := struct {
		CustomerNameFilter string `json:"CustomerNameFilter"`
		TopN               int    `json:"TopN"`
	}{nameFilter, topN}
	var out struct {
		CustomersInfo []struct {
			ID   *jlong  `json:"Id"`
			Name *string `json:"Name"`
		} `json:"CustomersInfo"`
	}
	var customers []CustomerInfo
	err := c.call(ctx, "GetCustomersInfo", http.MethodPost, "CustomersInfo/Query", true, in, &out, func() error {
		for _, ci := range out.CustomersInfo {
			if ci.ID == nil {
				return fmt.Errorf("ads: GetCustomersInfo: CustomerInfo/Id: %w", errShape)
			}
			customers = append(customers, CustomerInfo{ID: int64(*ci.ID), Name: str(ci.Name)})
		}
		return nil
	})
	return customers, err
}

func fromRESTUser(op string, ru *restUser) (*User, error) {
	if ru == nil || ru.ID == nil {
		return nil, fmt.Errorf("ads: %s: no User with an Id in the response: %w", op, errShape)
	}
	u := &User{ID: int64(*ru.ID), UserName: str(ru.UserName), JobTitle: str(ru.JobTitle), Lcid: str(ru.Lcid),
		Status: str(ru.UserLifeCycleStatus), TimeStamp: str(ru.TimeStamp), SecretQuestion: str(ru.SecretQuestion),
		LastModifiedTime: parseDateTime(str(ru.LastModifiedTime))}
	if ru.CustomerID != nil {
		u.CustomerID = int64(*ru.CustomerID)
	}
	if ru.LastModifiedByUserID != nil {
		u.LastModifiedByUserID = int64(*ru.LastModifiedByUserID)
	}
	if n := ru.Name; n != nil {
		u.FirstName, u.LastName, u.MiddleInitial = str(n.FirstName), str(n.LastName), str(n.MiddleInitial)
	}
	if ci := ru.ContactInfo; ci != nil {
		u.Email, u.Phone1, u.Phone2, u.Mobile = str(ci.Email), str(ci.Phone1), str(ci.Phone2), str(ci.Mobile)
		u.Fax, u.HomePhone, u.EmailFormat = str(ci.Fax), str(ci.HomePhone), str(ci.EmailFormat)
		u.ContactByPhone, u.ContactByPostalMail = ci.ContactByPhone, ci.ContactByPostalMail
		if ci.ID != nil {
			u.ContactInfoID = int64(*ci.ID)
		}
		if a := ci.Address; a != nil {
			u.Address = &Address{City: str(a.City), CountryCode: str(a.CountryCode), Line1: str(a.Line1),
				Line2: str(a.Line2), Line3: str(a.Line3), Line4: str(a.Line4), PostalCode: str(a.PostalCode),
				StateOrProvince: str(a.StateOrProvince), TimeStamp: str(a.TimeStamp), BusinessName: str(a.BusinessName)}
			if a.ID != nil {
				u.Address.ID = int64(*a.ID)
			}
		}
	}
	return u, nil
}

// toRESTUser writes every User member (null when empty) except AuthenticationToken, and
// ForwardCompatibilityMap null so the service leaves it untouched. SecretQuestion is
// non-nullable in the SDKs and defaults to None (REST.md §2.4).
func toRESTUser(u *User) *restUser {
	ru := &restUser{ID: longp(u.ID), CustomerID: longp(u.CustomerID), JobTitle: strp(u.JobTitle),
		LastModifiedByUserID: longp(u.LastModifiedByUserID), Lcid: strp(u.Lcid),
		Name:           &restPersonName{FirstName: strp(u.FirstName), LastName: strp(u.LastName), MiddleInitial: strp(u.MiddleInitial)},
		SecretQuestion: strp(u.SecretQuestion), UserLifeCycleStatus: strp(u.Status), TimeStamp: strp(u.TimeStamp),
		UserName: strp(u.UserName),
		ContactInfo: &restContactInfo{ContactByPhone: u.ContactByPhone, ContactByPostalMail: u.ContactByPostalMail,
			Email: strp(u.Email), EmailFormat: strp(u.EmailFormat), Fax: strp(u.Fax), HomePhone: strp(u.HomePhone),
			ID: longp(u.ContactInfoID), Mobile: strp(u.Mobile), Phone1: strp(u.Phone1), Phone2: strp(u.Phone2)}}
	if ru.SecretQuestion == nil {
		none := "None"
		ru.SecretQuestion = &none
	}
	if !u.LastModifiedTime.IsZero() {
		t := u.LastModifiedTime.UTC().Format(wcfDateTime)
		ru.LastModifiedTime = &t
	}
	if a := u.Address; a != nil {
		ru.ContactInfo.Address = &restAddress{City: strp(a.City), CountryCode: strp(a.CountryCode), ID: longp(a.ID),
			Line1: strp(a.Line1), Line2: strp(a.Line2), Line3: strp(a.Line3), Line4: strp(a.Line4),
			PostalCode: strp(a.PostalCode), StateOrProvince: strp(a.StateOrProvince), TimeStamp: strp(a.TimeStamp),
			BusinessName: strp(a.BusinessName)}
	}
	return ru
}

func intp(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}
