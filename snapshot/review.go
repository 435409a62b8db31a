package snapshot

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/msidm/msidm/clients/ads"
)

// Severities, most urgent first.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
)

// Finding kinds of the access review.
const (
	FindingIdentityDisabled  = "entra_identity_disabled"   // Ads access of a person whose sign-in is blocked
	FindingIdentityDeleted   = "entra_identity_deleted"    // … whose Entra user is soft-deleted
	FindingIdentityMissing   = "entra_identity_missing"    // … with no Entra user at all
	FindingSuperAdminNoEntra = "super_admin_without_entra" // a Super Admin with no usable Entra identity
	FindingGuestWithAdsRole  = "guest_with_ads_role"       // an Entra guest holding an Ads role
	FindingInvitationOutside = "invitation_outside_allowlist"
)

// Finding is one problem the access review found.
type Finding struct {
	Severity     string `json:"severity"`
	Kind         string `json:"kind"`
	CustomerID   int64  `json:"customer_id"`
	AdsUserID    int64  `json:"ads_user_id,omitempty"`
	InvitationID int64  `json:"invitation_id,omitempty"`
	Email        string `json:"email"` // Ads UserName, or the invited address
	Roles        string `json:"roles,omitempty"`
	EntraID      string `json:"entra_id,omitempty"`
	EntraUPN     string `json:"entra_upn,omitempty"`
	Detail       string `json:"detail"`
}

// ReviewInput is what the access review needs besides the snapshots.
type ReviewInput struct {
	// InvitationDomains are the domain globs invitations may go to (policy
	// domains.invitations); an empty list allows nothing.
	InvitationDomains []string
}

// ReviewResult is the access review: findings sorted by severity, then customer and address.
type ReviewResult struct {
	Findings    []Finding
	EntraSynced string // time of the last committed Entra page
	AdsSynced   string // oldest customer snapshot time
	Customers   int
	AdsUsers    int
	EntraUsers  int
}

// MissingSnapshotError names the sync to run before an access review.
type MissingSnapshotError struct{ Missing []string }

func (e *MissingSnapshotError) Error() string {
	return "no complete snapshot of " + strings.Join(e.Missing, " and ")
}

func (e *MissingSnapshotError) Unwrap() error { return ErrNoSnapshot }

type entraIdentity struct {
	id, upn, userType string
	enabled, deleted  bool
}

// Review joins the Entra snapshot of DefaultSelect and every Ads customer snapshot by e-mail
// identity (UPN, mail, otherMails, smtp proxyAddresses against Ads UserName and contact
// e-mail). Only Active and Pending Ads users are reviewed: Inactive and Deleted ones hold no
// access. A *MissingSnapshotError says which sync to run first.
func (y *Syncer) Review(ctx context.Context, in ReviewInput) (ReviewResult, error) {
	s := y.Store
	var res ReviewResult
	scope := EntraScope(y.tenant(), DefaultSelect)
	cur, found, err := s.entraCursor(ctx, scope)
	if err != nil {
		return res, err
	}
	var missing []string
	if !found || !cur.complete {
		missing = append(missing, "Entra ID users (run entra_delta_sync with the default select and without from_now)")
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(synced), '') FROM ads_customers`).Scan(&res.Customers, &res.AdsSynced); err != nil {
		return res, err
	}
	if res.Customers == 0 {
		missing = append(missing, "Microsoft Advertising users (run ads_sync)")
	}
	if len(missing) > 0 {
		return res, &MissingSnapshotError{Missing: missing}
	}
	_ = s.db.QueryRowContext(ctx, `SELECT synced FROM entra_cursors WHERE scope = ?`, scope).Scan(&res.EntraSynced)

	byAddr, err := s.entraIndex(ctx, scope, &res.EntraUsers)
	if err != nil {
		return res, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT customer_id, user_id, user_name, email, status, roles FROM ads_users
		WHERE status IN ('Active', 'Pending') ORDER BY customer_id, user_id`)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	for rows.Next() {
		var f Finding
		var email, status, roles string
		if err := rows.Scan(&f.CustomerID, &f.AdsUserID, &f.Email, &email, &status, &roles); err != nil {
			return res, err
		}
		res.AdsUsers++
		var rs []adsRole
		_ = json.Unmarshal([]byte(roles), &rs)
		superAdmin := slices.ContainsFunc(rs, func(r adsRole) bool { return r.RoleID == ads.RoleSuperAdmin })
		f.Roles = describeRoles(roles)
		id, ok := byAddr[strings.ToLower(f.Email)]
		if !ok && email != "" {
			id, ok = byAddr[strings.ToLower(email)]
		}
		if ok {
			f.EntraID, f.EntraUPN = id.id, id.upn
		}
		switch {
		case !ok && superAdmin:
			f.Severity, f.Kind, f.Detail = SeverityCritical, FindingSuperAdminNoEntra, "Super Admin with no Entra ID user: nobody in the directory answers for this access"
		case !ok:
			f.Severity, f.Kind, f.Detail = SeverityHigh, FindingIdentityMissing, "orphaned: no Entra ID user has this address"
		case id.deleted:
			f.Severity, f.Kind, f.Detail = SeverityHigh, FindingIdentityDeleted, "orphaned: the Entra ID user is deleted"
		case !id.enabled:
			f.Severity, f.Kind, f.Detail = SeverityHigh, FindingIdentityDisabled, "orphaned: sign-in of the Entra ID user is blocked"
		case strings.EqualFold(id.userType, "Guest") && len(rs) > 0:
			f.Severity, f.Kind, f.Detail = SeverityMedium, FindingGuestWithAdsRole, "an Entra ID guest holds a Microsoft Advertising role"
		default:
			continue
		}
		if superAdmin && f.Severity == SeverityHigh {
			f.Severity, f.Detail = SeverityCritical, f.Detail+" (Super Admin)"
		}
		res.Findings = append(res.Findings, f)
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	if err := s.reviewInvitations(ctx, in, &res); err != nil {
		return res, err
	}
	rank := map[string]int{SeverityCritical: 0, SeverityHigh: 1, SeverityMedium: 2}
	slices.SortStableFunc(res.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(rank[a.Severity], rank[b.Severity]), cmp.Compare(a.CustomerID, b.CustomerID),
			cmp.Compare(a.Email, b.Email), cmp.Compare(a.AdsUserID, b.AdsUserID), cmp.Compare(a.InvitationID, b.InvitationID))
	})
	return res, nil
}

func (s *Store) reviewInvitations(ctx context.Context, in ReviewInput, res *ReviewResult) error {
	rows, err := s.db.QueryContext(ctx, `SELECT customer_id, invitation_id, email, role_id, expires FROM ads_invitations ORDER BY customer_id, invitation_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	now := s.now()
	for rows.Next() {
		var f Finding
		var role int
		var exp string
		if err := rows.Scan(&f.CustomerID, &f.InvitationID, &f.Email, &role, &exp); err != nil {
			return err
		}
		if t, err := time.Parse(time.RFC3339, exp); err == nil && !t.After(now) {
			continue // expired: it grants nothing any more
		}
		domain := ""
		if at := strings.LastIndexByte(f.Email, '@'); at >= 0 {
			domain = strings.ToLower(f.Email[at+1:])
		}
		if allowedDomain(in.InvitationDomains, domain) {
			continue
		}
		f.Severity, f.Kind, f.Roles = SeverityMedium, FindingInvitationOutside, roleName(role)
		f.Detail = fmt.Sprintf("pending invitation to %q, which the policy's domains.invitations does not allow; expires %s", domain, exp)
		res.Findings = append(res.Findings, f)
	}
	return rows.Err()
}

// allowedDomain matches like the policy's domain globs (path.Match, lower case).
func allowedDomain(globs []string, domain string) bool {
	if domain == "" {
		return false
	}
	for _, g := range globs {
		if ok, _ := path.Match(strings.ToLower(g), domain); ok {
			return true
		}
	}
	return false
}

// entraIndex maps every address of the snapshot's users to the user. An active user wins an
// address over a soft-deleted one.
func (s *Store) entraIndex(ctx context.Context, scope string, count *int) (map[string]entraIdentity, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, props, state FROM entra_users WHERE scope = ?`, scope)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]entraIdentity{}
	for rows.Next() {
		var id, props, state string
		if err := rows.Scan(&id, &props, &state); err != nil {
			return nil, err
		}
		*count++
		var p struct {
			UPN            string   `json:"userPrincipalName"`
			Mail           string   `json:"mail"`
			OtherMails     []string `json:"otherMails"`
			ProxyAddresses []string `json:"proxyAddresses"`
			AccountEnabled *bool    `json:"accountEnabled"`
			UserType       string   `json:"userType"`
		}
		_ = json.Unmarshal([]byte(props), &p)
		ident := entraIdentity{id: id, upn: p.UPN, userType: p.UserType, deleted: state == "soft_deleted",
			enabled: p.AccountEnabled == nil || *p.AccountEnabled}
		addrs := append([]string{p.UPN, p.Mail}, p.OtherMails...)
		for _, a := range p.ProxyAddresses {
			if v, ok := strings.CutPrefix(strings.ToLower(a), "smtp:"); ok {
				addrs = append(addrs, v)
			}
		}
		for _, a := range addrs {
			a = strings.ToLower(strings.TrimSpace(a))
			if a == "" {
				continue
			}
			if prev, ok := out[a]; ok && !prev.deleted && prev.enabled {
				continue
			}
			out[a] = ident
		}
	}
	return out, rows.Err()
}
