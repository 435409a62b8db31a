// Package ads is msidm's client for the Microsoft Advertising Customer Management API v13.
// It knows nothing of MCP.
//
// One operation model (the Go types in this file and the Service interface) sits in front
// of the wire binding. The SOAP binding (soap.go, beevik/etree) follows the official WSDL in
// ../shared/reference/ads; the REST binding (same model) is added by the clients issue.
package ads

import (
	"context"
	"time"
)

// Service is the operation model shared by every wire binding.
type Service interface {
	// GetUsersInfo lists the users of a customer, optionally only those in one lifecycle
	// status (Active, Inactive, Pending, Deleted; "" for all). The API does not page.
	GetUsersInfo(ctx context.Context, customerID int64, status string) ([]UserInfo, error)
	// GetUser reads one user and its roles per customer; userID 0 means the signed-in user.
	GetUser(ctx context.Context, userID int64) (*User, []CustomerRole, error)
}

// UserInfo is the short form GetUsersInfo returns.
type UserInfo struct {
	ID       int64
	UserName string
}

// User is a Customer Management user (WSDL type Entities:User).
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
