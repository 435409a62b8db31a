package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/msidm/msidm/clients/graph"
)

// userSelect is what mutating Entra tools read before planning.
// It includes what offboarding plans from (offboard.UserFields), so a plan needs no second read.
var userSelect = []string{"id", "displayName", "userPrincipalName", "mail", "accountEnabled", "userType",
	"onPremisesSyncEnabled", "usageLocation", "assignedLicenses", "department", "jobTitle", "otherMails", "proxyAddresses",
	"signInSessionsValidFromDateTime", "employeeLeaveDateTime"}

// resolveUser finds one Entra user by object id, userPrincipalName or e-mail address
// (mail, then proxyAddresses and otherMails). Ambiguity is an input error naming the matches.
func (d *Deps) resolveUser(ctx context.Context, ref string) (*graph.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, inputError("user is required: give an object id, userPrincipalName or e-mail address")
	}
	u, err := d.Graph.GetUser(ctx, ref, userSelect...)
	if err == nil || !graph.NotFound(err) || !strings.Contains(ref, "@") {
		return u, err
	}
	addr := quote(strings.ToLower(ref))
	filter := fmt.Sprintf("mail eq '%s' or proxyAddresses/any(p:p eq 'smtp:%s') or otherMails/any(m:m eq '%s')", addr, addr, addr)
	page, perr := d.Graph.UsersPage(ctx, d.Graph.UsersURL(graph.ListUsersOptions{Top: 5, Select: userSelect, Filter: filter}), nil)
	if perr != nil {
		return nil, err // the original 404 says more than a failed fallback search
	}
	switch len(page.Users) {
	case 0:
		return nil, inputError("no Entra user has id, userPrincipalName or e-mail %q; search with list_entra_users", ref)
	case 1:
		return &page.Users[0], nil
	}
	var names []string
	for _, m := range page.Users {
		names = append(names, m.UserPrincipalName)
	}
	return nil, inputError("%q matches several Entra users (%s); use one userPrincipalName", ref, strings.Join(names, ", "))
}

// resolveGroup finds a group by object id or exact display name.
func (d *Deps) resolveGroup(ctx context.Context, ref string) (*graph.DirectoryObject, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, inputError("group is required: give a group object id or its exact display name")
	}
	if looksLikeGUID(ref) {
		return d.Graph.GetGroup(ctx, ref)
	}
	var found []graph.DirectoryObject
	for g, err := range d.Graph.Groups(ctx, fmt.Sprintf("displayName eq '%s'", quote(ref))) {
		if err != nil {
			return nil, err
		}
		g.ODataType = "#microsoft.graph.group"
		found = append(found, g)
		if len(found) > 5 {
			break
		}
	}
	switch len(found) {
	case 0:
		return nil, inputError("no group is named %q; list them with list_groups", ref)
	case 1:
		return &found[0], nil
	}
	return nil, inputError("%d groups are named %q; use the group's object id from list_groups", len(found), ref)
}

func looksLikeGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", r):
			return false
		}
	}
	return true
}

// skuByPartNumber resolves a licence SKU part number (ENTERPRISEPACK) or skuId.
func (d *Deps) skuByPartNumber(ctx context.Context, ref string) (*graph.SKU, []graph.SKU, error) {
	skus, err := d.Graph.SubscribedSKUs(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i, s := range skus {
		if strings.EqualFold(s.SKUPartNumber, ref) || strings.EqualFold(s.SKUID, ref) {
			return &skus[i], skus, nil
		}
	}
	var names []string
	for _, s := range skus {
		names = append(names, s.SKUPartNumber)
	}
	return nil, skus, inputError("the tenant has no licence %q; its SKUs are: %s (see list_skus)", ref, strings.Join(names, ", "))
}

func skuName(skus []graph.SKU, id string) string {
	for _, s := range skus {
		if strings.EqualFold(s.SKUID, id) {
			return s.SKUPartNumber
		}
	}
	return id
}

func isTrue(b *bool) bool { return b != nil && *b }
