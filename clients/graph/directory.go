package graph

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strings"
)

// DirectoryObject is a member of a memberOf or members collection (a user, group, directory
// role, …), told apart by @odata.type.
type DirectoryObject struct {
	ODataType             string   `json:"@odata.type"`
	ID                    string   `json:"id"`
	DisplayName           string   `json:"displayName"`
	UserPrincipalName     string   `json:"userPrincipalName,omitempty"`
	Mail                  string   `json:"mail,omitempty"`
	GroupTypes            []string `json:"groupTypes,omitempty"`
	SecurityEnabled       *bool    `json:"securityEnabled,omitempty"`
	MailEnabled           *bool    `json:"mailEnabled,omitempty"`
	IsAssignableToRole    *bool    `json:"isAssignableToRole,omitempty"`
	OnPremisesSyncEnabled *bool    `json:"onPremisesSyncEnabled,omitempty"`
	MembershipRule        string   `json:"membershipRule,omitempty"`
	DeletedDateTime       string   `json:"deletedDateTime,omitempty"`
	RoleTemplateID        string   `json:"roleTemplateId,omitempty"`
	AccountEnabled        *bool    `json:"accountEnabled,omitempty"`
}

// IsDirectoryRole reports whether the object is an activated directory role.
func (o DirectoryObject) IsDirectoryRole() bool {
	return o.ODataType == "#microsoft.graph.directoryRole"
}

// GlobalAdministratorTemplate is the roleTemplateId of Global Administrator.
const GlobalAdministratorTemplate = "62e90394-69f5-4237-9190-012177145e10"

// DirectoryRoleByTemplate finds the activated directory role of a role template; a role that
// was never activated in the tenant is a NotFound error.
// https://learn.microsoft.com/graph/api/directoryrole-list
func (c *Client) DirectoryRoleByTemplate(ctx context.Context, templateID string) (*DirectoryObject, error) {
	var out objectPage
	u := c.base + "/directoryRoles?$filter=" + url.QueryEscape("roleTemplateId eq '"+templateID+"'")
	if err := c.get(ctx, u, nil, &out); err != nil {
		return nil, err
	}
	if len(out.Value) == 0 {
		return nil, &Error{StatusCode: http.StatusNotFound, Code: "Request_ResourceNotFound", Message: "directory role template " + templateID + " is not activated"}
	}
	r := out.Value[0]
	r.ODataType = "#microsoft.graph.directoryRole"
	return &r, nil
}

// memberSelect asks member collections for the sign-in state too, so a caller counting
// active members needs no extra read per member.
const memberSelect = "?$select=id,displayName,userPrincipalName,accountEnabled,groupTypes,securityEnabled"

// DirectoryRoleMembers iterates the direct members (users, groups) of a directory role, with
// accountEnabled.
func (c *Client) DirectoryRoleMembers(ctx context.Context, roleID string) iter.Seq2[DirectoryObject, error] {
	return c.objects(ctx, c.base+"/directoryRoles/"+url.PathEscape(roleID)+"/members"+memberSelect, nil)
}

// GroupMembersWithState iterates a group's direct members with accountEnabled.
func (c *Client) GroupMembersWithState(ctx context.Context, groupID string) iter.Seq2[DirectoryObject, error] {
	return c.objects(ctx, c.base+"/groups/"+url.PathEscape(groupID)+"/members"+memberSelect, nil)
}

// IsGroup reports whether the object is a group.
func (o DirectoryObject) IsGroup() bool { return o.ODataType == "#microsoft.graph.group" }

// Dynamic reports a group whose membership is computed from a rule: members cannot be
// added or removed by hand.
func (o DirectoryObject) Dynamic() bool {
	for _, t := range o.GroupTypes {
		if strings.EqualFold(t, "DynamicMembership") {
			return true
		}
	}
	return false
}

// Synced reports a group mastered in on-premises AD: it cannot be changed in the cloud.
func (o DirectoryObject) Synced() bool {
	return o.OnPremisesSyncEnabled != nil && *o.OnPremisesSyncEnabled
}

type objectPage struct {
	Value    []DirectoryObject `json:"value"`
	NextLink string            `json:"@odata.nextLink"`
}

// objects iterates a directoryObject collection from first, following next links.
func (c *Client) objects(ctx context.Context, first string, header http.Header) iter.Seq2[DirectoryObject, error] {
	return func(yield func(DirectoryObject, error) bool) {
		for next := first; next != ""; {
			var p objectPage
			if err := c.get(ctx, next, header, &p); err != nil {
				yield(DirectoryObject{}, err)
				return
			}
			for _, o := range p.Value {
				if !yield(o, nil) {
					return
				}
			}
			next = p.NextLink
		}
	}
}

// MemberOf iterates the groups and directory roles a user is a direct member of, or, with
// transitive, a member of through nested groups too.
// https://learn.microsoft.com/graph/api/user-list-memberof
func (c *Client) MemberOf(ctx context.Context, idOrUPN string, transitive bool) iter.Seq2[DirectoryObject, error] {
	rel := "/memberOf"
	if transitive {
		rel = "/transitiveMemberOf"
	}
	return c.objects(ctx, c.userURL(idOrUPN)+rel, nil)
}

// Groups iterates the tenant's groups with optional $filter.
func (c *Client) Groups(ctx context.Context, filter string) iter.Seq2[DirectoryObject, error] {
	u := c.base + "/groups?$top=999"
	if filter != "" {
		u += "&$filter=" + url.QueryEscape(filter)
	}
	return c.objects(ctx, u, nil)
}

// GetGroup reads one group.
func (c *Client) GetGroup(ctx context.Context, id string) (*DirectoryObject, error) {
	var out DirectoryObject
	if err := c.get(ctx, c.base+"/groups/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	out.ODataType = "#microsoft.graph.group"
	return &out, nil
}

// GroupMembers iterates a group's direct members.
func (c *Client) GroupMembers(ctx context.Context, groupID string) iter.Seq2[DirectoryObject, error] {
	return c.objects(ctx, c.base+"/groups/"+url.PathEscape(groupID)+"/members", nil)
}

// AddGroupMember adds a directory object to a group (POST members/$ref, 204); a member that
// is already there is a Conflict error. https://learn.microsoft.com/graph/api/group-post-members
func (c *Client) AddGroupMember(ctx context.Context, groupID, memberID string) error {
	body := map[string]string{"@odata.id": c.base + "/directoryObjects/" + url.PathEscape(memberID)}
	return c.do(ctx, http.MethodPost, c.base+"/groups/"+url.PathEscape(groupID)+"/members/$ref", nil, body, nil)
}

// RemoveGroupMember removes a member (DELETE members/{id}/$ref, 204); a member that is not
// there is a NotFound error. https://learn.microsoft.com/graph/api/group-delete-members
func (c *Client) RemoveGroupMember(ctx context.Context, groupID, memberID string) error {
	return c.do(ctx, http.MethodDelete, c.removeMemberURL(groupID, memberID), nil, nil, nil)
}

func (c *Client) removeMemberURL(groupID, memberID string) string {
	return c.base + "/groups/" + url.PathEscape(groupID) + "/members/" + url.PathEscape(memberID) + "/$ref"
}

// SKU is one subscribed licence product.
type SKU struct {
	ID            string `json:"id"`
	SKUID         string `json:"skuId"`
	SKUPartNumber string `json:"skuPartNumber"`
	ConsumedUnits int    `json:"consumedUnits"`
	PrepaidUnits  struct {
		Enabled   int `json:"enabled"`
		Suspended int `json:"suspended"`
		Warning   int `json:"warning"`
	} `json:"prepaidUnits"`
	CapabilityStatus string `json:"capabilityStatus"`
}

// SubscribedSKUs lists the tenant's licence products. https://learn.microsoft.com/graph/api/subscribedsku-list
func (c *Client) SubscribedSKUs(ctx context.Context) ([]SKU, error) {
	var out struct {
		Value []SKU `json:"value"`
	}
	if err := c.get(ctx, c.base+"/subscribedSkus", nil, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// DeletedUsers iterates soft-deleted users in the recycle bin.
// https://learn.microsoft.com/graph/api/directory-deleteditems-list
func (c *Client) DeletedUsers(ctx context.Context) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		for next := c.base + "/directory/deletedItems/microsoft.graph.user"; next != ""; {
			var p UserPage
			if err := c.get(ctx, next, nil, &p); err != nil {
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

// GetDeleted reads one soft-deleted user from the recycle bin.
func (c *Client) GetDeleted(ctx context.Context, id string) (*User, error) {
	var out User
	if err := c.get(ctx, c.base+"/directory/deletedItems/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RestoreDeleted restores a soft-deleted object and returns it.
func (c *Client) RestoreDeleted(ctx context.Context, id string) (*User, error) {
	var out User
	if err := c.do(ctx, http.MethodPost, c.base+"/directory/deletedItems/"+url.PathEscape(id)+"/restore", nil, struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PermanentlyDelete removes a soft-deleted object for good (204).
func (c *Client) PermanentlyDelete(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, c.base+"/directory/deletedItems/"+url.PathEscape(id), nil, nil, nil)
}
