// Package ads is msidm's client for the Microsoft Advertising Customer Management API v13.
// It knows nothing of MCP.
//
// One operation model (the Go types in this file and the Service interface) sits in front
// of two wire bindings that ../shared/reference/ads describes: SOAP (soap.go, users.go,
// accounts.go; beevik/etree, exactly per the official WSDL) and REST/JSON (rest.go,
// rest_ops.go; per REST.md). Both run every call through one transport policy
// (transport.go: 109 token refresh, 117 back-off, TrackingId in logs and errors), and
// Client (client.go) adds what a caller should not have to think about: the TimeStamp of
// UpdateUser and DeleteUser. New picks the binding named by MSIDM_ADS_PROTOCOL.
package ads

import (
	"context"
	"time"
)

// Service is the operation model shared by every wire binding. Methods are named after the
// Customer Management operations (NOTES.md §4); each binding sends exactly one request per
// call apart from the transport retries documented on Options.
type Service interface {
	// GetUsersInfo lists the users of a customer, optionally only those in one lifecycle
	// status (Active, Inactive, Pending, Deleted; "" for all). The API does not page.
	GetUsersInfo(ctx context.Context, customerID int64, status string) ([]UserInfo, error)
	// GetUser reads one user and its roles per customer; userID 0 means the signed-in user.
	GetUser(ctx context.Context, userID int64) (*User, []CustomerRole, error)
	// GetCurrentUser reads the signed-in user without roles (undocumented operation; GetUser
	// with userID 0 is the documented way, NOTES §4.2).
	GetCurrentUser(ctx context.Context) (*User, error)
	// SendUserInvitation invites a person and returns the invitation id. It is not
	// idempotent: duplicates are allowed (NOTES §4.4), so it is never retried on throttling.
	SendUserInvitation(ctx context.Context, inv UserInvitation) (int64, error)
	// SearchUserInvitations lists the pending (also expired) invitations of a customer. The
	// service accepts only a CustomerId predicate (NOTES §4.5); a non-empty email narrows the
	// result on the client, compared case-insensitively.
	SearchUserInvitations(ctx context.Context, customerID int64, email string) ([]UserInvitation, error)
	// UpdateUser writes the user's writable fields. Customer Management replaces the whole
	// record (NOTES §3: omitted members become empty), so a binding sends u as the complete
	// new state; Client.UpdateUser adds the read-merge-write that makes partial updates safe.
	// It returns the new LastModifiedTime.
	UpdateUser(ctx context.Context, u *User) (time.Time, error)
	// UpdateUserRoles adds and removes roles, accounts and customers of one user (no TimeStamp).
	UpdateUserRoles(ctx context.Context, r UserRoleUpdate) (time.Time, error)
	// DeleteUser deletes a user; timeStamp must be the user's current TimeStamp (a binding
	// sends it as given; Client.DeleteUser fetches it when it is "").
	DeleteUser(ctx context.Context, userID int64, timeStamp string) error
	// GetUserMFAStatus reports whether the signed-in user has multi-factor authentication.
	GetUserMFAStatus(ctx context.Context) (bool, error)
	// GetCustomerPilotFeatures lists the pilot feature ids of a customer.
	GetCustomerPilotFeatures(ctx context.Context, customerID int64) ([]int, error)
	// GetAccountsInfo lists the accounts of a customer (0: the customer of the credentials).
	GetAccountsInfo(ctx context.Context, customerID int64, onlyParentAccounts bool) ([]AccountInfo, error)
	// GetCustomersInfo lists the customers the user can access whose name starts with
	// nameFilter ("" for all), at most topN (a positive number).
	GetCustomersInfo(ctx context.Context, nameFilter string, topN int) ([]CustomerInfo, error)
}

// UserInfo is the short form GetUsersInfo returns.
type UserInfo struct {
	ID       int64
	UserName string
}

// User is a Customer Management user (WSDL type Entities:User). The members of its
// ContactInfo are flattened into it (Email, Phone1, …, ContactInfoID, Address) because every
// caller reads them as properties of the person. Read-only on update (NOTES §4.6): ID (the
// key), CustomerID, UserName, Status, LastModifiedByUserID, LastModifiedTime.
type User struct {
	ID                   int64
	CustomerID           int64
	UserName             string // sign-in name; immutable through the API
	FirstName            string
	LastName             string
	MiddleInitial        string
	JobTitle             string
	Email                string // ContactInfo/Email
	Phone1               string
	Mobile               string
	Lcid                 string // LCID enum name, e.g. EnglishUS
	Status               string // UserLifeCycleStatus: Active, Inactive, Pending, Deleted
	TimeStamp            string // base64 row version; UpdateUser and DeleteUser must echo it
	LastModifiedByUserID int64
	LastModifiedTime     time.Time // UTC

	Phone2              string
	Fax                 string
	HomePhone           string
	EmailFormat         string // Html or Text; "" when nil
	ContactByPhone      *bool  // nil when the service has no value
	ContactByPostalMail *bool
	ContactInfoID       int64    // ContactInfo/Id; must be echoed on update
	Address             *Address // ContactInfo/Address; nil when absent
	SecretQuestion      string   // enum name; the service answers None
}

// Address is the postal address of a user's ContactInfo (WSDL type Entities:Address).
type Address struct {
	ID              int64
	Line1           string
	Line2           string
	Line3           string
	Line4           string
	City            string
	StateOrProvince string
	PostalCode      string
	CountryCode     string
	BusinessName    string
	TimeStamp       string
}

// CustomerRole is one role of a user on a customer, either customer-level (AccountIDs nil)
// or restricted to the listed accounts.
type CustomerRole struct {
	RoleID                 int
	CustomerID             int64
	AccountIDs             []int64
	LinkedAccountIDs       []int64
	CustomerLinkPermission string
}

// UserInvitation is a pending invitation (WSDL type Entities:UserInvitation). To send one,
// set FirstName, LastName, Email, CustomerID, RoleID and Lcid; AccountIDs nil means all
// current and future accounts. ID and ExpirationDate are set by the service.
type UserInvitation struct {
	ID             int64
	FirstName      string
	LastName       string
	Email          string
	CustomerID     int64
	RoleID         int
	AccountIDs     []int64
	ExpirationDate time.Time // UTC; invitations expire after 30 days
	Lcid           string
}

// UserRoleUpdate is the request of UpdateUserRoles (NOTES §4.7). A zero role id and a nil
// slice are sent as nil; a non-nil empty slice is sent as an empty list. To lift an account
// restriction, leave NewAccountIDs nil and list the old accounts in DeleteAccountIDs.
type UserRoleUpdate struct {
	CustomerID        int64
	UserID            int64
	NewRoleID         int
	NewAccountIDs     []int64
	NewCustomerIDs    []int64
	DeleteRoleID      int
	DeleteAccountIDs  []int64
	DeleteCustomerIDs []int64
}

// AccountInfo is the short form of an advertiser account (WSDL type Entities:AccountInfo).
type AccountInfo struct {
	ID          int64
	Name        string
	Number      string
	Status      string // AccountLifeCycleStatus: Draft, Active, Inactive, Pause, Pending, Suspended
	PauseReason *int   // nil unless paused
}

// CustomerInfo is the short form of a customer (WSDL type Entities:CustomerInfo).
type CustomerInfo struct {
	ID   int64
	Name string
}

// Role ids documented for v13 (../shared/reference/ads/NOTES.md §8). The API may return
// others (deprecated or internal roles); callers must tolerate unknown ids.
const (
	RoleAdvertiserCampaignManager = 16
	RoleAggregator                = 33
	RoleSuperAdmin                = 41
	RoleViewer                    = 100
	RoleStandardUser              = 203
)

// RoleName returns the documented name of a role id, or "" when it is not documented.
func RoleName(id int) string {
	switch id {
	case RoleAdvertiserCampaignManager:
		return "Advertiser Campaign Manager"
	case RoleAggregator:
		return "Aggregator"
	case RoleSuperAdmin:
		return "Super Admin"
	case RoleViewer:
		return "Viewer"
	case RoleStandardUser:
		return "Standard User"
	}
	return ""
}

// UserStatuses are the UserLifeCycleStatus enumeration values of the WSDL.
var UserStatuses = []string{"Active", "Inactive", "Pending", "Deleted"}

// StatusDeleted is the UserLifeCycleStatus of a deleted user.
const StatusDeleted = "Deleted"
