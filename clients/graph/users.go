package graph

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// User is the subset of the Graph user resource msidm reads.
// https://learn.microsoft.com/graph/api/resources/user
type User struct {
	ID                              string            `json:"id"`
	DisplayName                     string            `json:"displayName"`
	GivenName                       string            `json:"givenName"`
	Surname                         string            `json:"surname"`
	UserPrincipalName               string            `json:"userPrincipalName"`
	Mail                            string            `json:"mail"`
	MailNickname                    string            `json:"mailNickname"`
	OtherMails                      []string          `json:"otherMails"`
	ProxyAddresses                  []string          `json:"proxyAddresses"`
	JobTitle                        string            `json:"jobTitle"`
	Department                      string            `json:"department"`
	OfficeLocation                  string            `json:"officeLocation"`
	MobilePhone                     string            `json:"mobilePhone"`
	BusinessPhones                  []string          `json:"businessPhones"`
	PreferredLanguage               string            `json:"preferredLanguage"`
	UsageLocation                   string            `json:"usageLocation"`
	EmployeeID                      string            `json:"employeeId"`
	UserType                        string            `json:"userType"`
	AccountEnabled                  *bool             `json:"accountEnabled"`
	OnPremisesSyncEnabled           *bool             `json:"onPremisesSyncEnabled"`
	CreatedDateTime                 *time.Time        `json:"createdDateTime"`
	City                            string            `json:"city"`
	Country                         string            `json:"country"`
	CompanyName                     string            `json:"companyName"`
	EmployeeLeaveDateTime           *time.Time        `json:"employeeLeaveDateTime"`
	AssignedLicenses                []AssignedLicense `json:"assignedLicenses"`
	SignInSessionsValidFromDateTime *time.Time        `json:"signInSessionsValidFromDateTime"`
	DeletedDateTime                 *time.Time        `json:"deletedDateTime"`
}

// AssignedLicense is one licence on a user.
type AssignedLicense struct {
	SKUID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// UserPage is one page of a user collection.
type UserPage struct {
	Users    []User `json:"value"`
	NextLink string `json:"@odata.nextLink"`
	Count    *int   `json:"@odata.count"`
}

// ListUsersOptions select the first page of GET /users.
type ListUsersOptions struct {
	Top    int      // page size, 1..999 (Graph's limit); 0 lets Graph choose (100)
	Select []string // properties; empty means Graph's default set
	Filter string   // OData $filter, built by the caller from typed parts (never raw model input)
	Search string   // $search expression such as "displayName:adele"; needs Advanced
	Count  bool     // $count=true: the first page carries @odata.count; needs Advanced
	// Advanced sends ConsistencyLevel: eventual on every page, as advanced queries ($search,
	// $count, ne/not, endsWith) require. Graph does not carry the header to next pages.
	Advanced bool
}

// Header returns the request headers the options need on every page.
func (o ListUsersOptions) Header() http.Header {
	if !o.Advanced && o.Search == "" && !o.Count {
		return nil
	}
	return http.Header{"Consistencylevel": {"eventual"}}
}

// UsersURL returns the URL of the first page of GET /users for opts.
// https://learn.microsoft.com/graph/api/user-list
func (c *Client) UsersURL(opts ListUsersOptions) string {
	q := url.Values{}
	if opts.Top > 0 {
		q.Set("$top", strconv.Itoa(opts.Top))
	}
	if len(opts.Select) > 0 {
		q.Set("$select", strings.Join(opts.Select, ","))
	}
	if opts.Filter != "" {
		q.Set("$filter", opts.Filter)
	}
	if opts.Search != "" {
		q.Set("$search", `"`+opts.Search+`"`)
	}
	if opts.Count {
		q.Set("$count", "true")
	}
	u := c.base + "/users"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// UsersPage fetches one page of users from pageURL: a URL made by UsersURL or an
// @odata.nextLink returned by Graph. URLs outside the service root are refused.
func (c *Client) UsersPage(ctx context.Context, pageURL string, header http.Header) (*UserPage, error) {
	var p UserPage
	if err := c.get(ctx, pageURL, header, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Users iterates over every user, following @odata.nextLink until the last page.
func (c *Client) Users(ctx context.Context, opts ListUsersOptions) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		next := c.UsersURL(opts)
		for next != "" {
			p, err := c.UsersPage(ctx, next, opts.Header())
			if err != nil {
				yield(User{}, err)
				return
			}
			for _, u := range p.Users {
				if !yield(u, nil) {
					return
				}
			}
			next = p.NextLink
		}
	}
}

// GetUser reads one user by object id or userPrincipalName.
// https://learn.microsoft.com/graph/api/user-get
func (c *Client) GetUser(ctx context.Context, idOrUPN string, selectProps ...string) (*User, error) {
	if idOrUPN == "" {
		return nil, fmt.Errorf("graph: GetUser needs an id or userPrincipalName")
	}
	u := c.userURL(idOrUPN)
	if len(selectProps) > 0 {
		u += "?$select=" + url.QueryEscape(strings.Join(selectProps, ","))
	}
	var out User
	if err := c.get(ctx, u, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// userURL addresses a user by object id or userPrincipalName. A UPN starting with "$" must
// use the key-as-segment form users('…') (NOTES §1.2); "#" in guest UPNs is escaped as %23.
func (c *Client) userURL(idOrUPN string) string {
	if strings.HasPrefix(idOrUPN, "$") {
		return c.base + "/users('" + url.PathEscape(strings.ReplaceAll(idOrUPN, "'", "''")) + "')"
	}
	return c.base + "/users/" + url.PathEscape(idOrUPN)
}

// CreateUser creates a user; body carries Graph property names (accountEnabled, displayName,
// mailNickname, passwordProfile, userPrincipalName, …). https://learn.microsoft.com/graph/api/user-post-users
func (c *Client) CreateUser(ctx context.Context, body map[string]any) (*User, error) {
	var out User
	if err := c.do(ctx, http.MethodPost, c.base+"/users", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUser PATCHes the given properties (204). https://learn.microsoft.com/graph/api/user-update
func (c *Client) UpdateUser(ctx context.Context, idOrUPN string, props map[string]any) error {
	return c.do(ctx, http.MethodPatch, c.userURL(idOrUPN), nil, props, nil)
}

// SetAccountEnabled blocks (false) or allows (true) sign-in.
func (c *Client) SetAccountEnabled(ctx context.Context, idOrUPN string, enabled bool) error {
	return c.UpdateUser(ctx, idOrUPN, map[string]any{"accountEnabled": enabled})
}

// DeleteUser soft-deletes a user into deletedItems (204). https://learn.microsoft.com/graph/api/user-delete
func (c *Client) DeleteUser(ctx context.Context, idOrUPN string) error {
	return c.do(ctx, http.MethodDelete, c.userURL(idOrUPN), nil, nil, nil)
}

// RevokeSignInSessions invalidates refresh tokens and session cookies.
// https://learn.microsoft.com/graph/api/user-revokesigninsessions
func (c *Client) RevokeSignInSessions(ctx context.Context, idOrUPN string) error {
	var out struct {
		Value bool `json:"value"`
	}
	if err := c.do(ctx, http.MethodPost, c.userURL(idOrUPN)+"/revokeSignInSessions", nil, struct{}{}, &out); err != nil {
		return err
	}
	if !out.Value {
		return fmt.Errorf("graph: revokeSignInSessions returned false for %s", idOrUPN)
	}
	return nil
}

// AssignLicense adds and removes licences in one call; it returns the updated user.
// https://learn.microsoft.com/graph/api/user-assignlicense
func (c *Client) AssignLicense(ctx context.Context, idOrUPN string, add []AssignedLicense, removeSKUIDs []string) (*User, error) {
	if add == nil {
		add = []AssignedLicense{}
	}
	for i := range add {
		if add[i].DisabledPlans == nil {
			add[i].DisabledPlans = []string{}
		}
	}
	if removeSKUIDs == nil {
		removeSKUIDs = []string{}
	}
	var out User
	body := map[string]any{"addLicenses": add, "removeLicenses": removeSKUIDs}
	if err := c.do(ctx, http.MethodPost, c.userURL(idOrUPN)+"/assignLicense", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Manager returns the user's manager, or a NotFound error when none is set.
func (c *Client) Manager(ctx context.Context, idOrUPN string) (*DirectoryObject, error) {
	var out DirectoryObject
	if err := c.get(ctx, c.userURL(idOrUPN)+"/manager", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetManager sets the manager by object id (PUT manager/$ref, 204).
func (c *Client) SetManager(ctx context.Context, idOrUPN, managerID string) error {
	body := map[string]string{"@odata.id": c.base + "/users/" + url.PathEscape(managerID)}
	return c.do(ctx, http.MethodPut, c.userURL(idOrUPN)+"/manager/$ref", nil, body, nil)
}

// RemoveManager clears the manager (DELETE manager/$ref, 204).
func (c *Client) RemoveManager(ctx context.Context, idOrUPN string) error {
	return c.do(ctx, http.MethodDelete, c.userURL(idOrUPN)+"/manager/$ref", nil, nil, nil)
}

// CountUsers returns the number of users matching filter ("" for all) with GET /users/$count,
// an advanced query that needs ConsistencyLevel: eventual (NOTES §1.1).
func (c *Client) CountUsers(ctx context.Context, filter string) (int, error) {
	u := c.base + "/users/$count"
	if filter != "" {
		u += "?$filter=" + url.QueryEscape(filter)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("ConsistencyLevel", "eventual")
	req.Header.Set("Accept", "text/plain")
	req.Header.Set("client-request-id", newGUID())
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("graph: GET /users/$count: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return 0, decodeError(resp)
	}
	var n int
	if _, err := fmt.Fscan(resp.Body, &n); err != nil {
		return 0, fmt.Errorf("graph: /users/$count answered something that is not a number: %w", err)
	}
	return n, nil
}
