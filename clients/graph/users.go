package graph

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// User is the subset of the Graph user resource msidm reads.
// https://learn.microsoft.com/graph/api/resources/user
type User struct {
	ID                    string     `json:"id"`
	DisplayName           string     `json:"displayName"`
	GivenName             string     `json:"givenName"`
	Surname               string     `json:"surname"`
	UserPrincipalName     string     `json:"userPrincipalName"`
	Mail                  string     `json:"mail"`
	MailNickname          string     `json:"mailNickname"`
	OtherMails            []string   `json:"otherMails"`
	ProxyAddresses        []string   `json:"proxyAddresses"`
	JobTitle              string     `json:"jobTitle"`
	Department            string     `json:"department"`
	OfficeLocation        string     `json:"officeLocation"`
	MobilePhone           string     `json:"mobilePhone"`
	BusinessPhones        []string   `json:"businessPhones"`
	PreferredLanguage     string     `json:"preferredLanguage"`
	UsageLocation         string     `json:"usageLocation"`
	EmployeeID            string     `json:"employeeId"`
	UserType              string     `json:"userType"`
	AccountEnabled        *bool      `json:"accountEnabled"`
	OnPremisesSyncEnabled *bool      `json:"onPremisesSyncEnabled"`
	CreatedDateTime       *time.Time `json:"createdDateTime"`
}

// UserPage is one page of a user collection.
type UserPage struct {
	Users    []User `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// ListUsersOptions select the first page of GET /users.
type ListUsersOptions struct {
	Top    int      // page size, 1..999 (Graph's limit); 0 lets Graph choose (100)
	Select []string // properties; empty means Graph's default set
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
	u := c.base + "/users"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// UsersPage fetches one page of users from pageURL: a URL made by UsersURL or an
// @odata.nextLink returned by Graph. URLs outside the service root are refused.
func (c *Client) UsersPage(ctx context.Context, pageURL string) (*UserPage, error) {
	var p UserPage
	if err := c.get(ctx, pageURL, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Users iterates over every user, following @odata.nextLink until the last page.
func (c *Client) Users(ctx context.Context, opts ListUsersOptions) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		next := c.UsersURL(opts)
		for next != "" {
			p, err := c.UsersPage(ctx, next)
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
	u := c.base + "/users/" + url.PathEscape(idOrUPN)
	if len(selectProps) > 0 {
		u += "?$select=" + url.QueryEscape(strings.Join(selectProps, ","))
	}
	var out User
	if err := c.get(ctx, u, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
