package snapshot

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/clients/ads"
)

// MaxCustomers bounds how many customers one Ads sync reads (GetCustomersInfo's TopN).
const MaxCustomers = 100

// AdsOptions tune one SyncAds call.
type AdsOptions struct {
	// Progress is called after each customer is committed.
	Progress func(done, total int)
}

// AdsResult reports one SyncAds call.
type AdsResult struct {
	Customers int            // customers snapshotted
	Users     int            // users in those customers
	Counts    map[string]int // changes by kind (KindBaseline for a customer's first snapshot)
	Since     int64          // the change log's last sequence number before this call
	Errors    []string       // customers or users that could not be read; their old state is kept
}

// adsRole is the stored form of a CustomerRole.
type adsRole struct {
	RoleID     int     `json:"r"`
	CustomerID int64   `json:"c"`
	AccountIDs []int64 `json:"a,omitempty"`
}

type adsUserRow struct {
	ID                    int64
	UserName, Email, Name string
	Status, Roles         string
	profileOK             bool
}

type adsInvRow struct {
	ID          int64
	Email, Name string
	RoleID      int
	Expires     time.Time
	Expired     bool
}

// SyncAds snapshots every reachable customer's users (all statuses, with roles from
// GetUser) and invitations, and logs what changed since the previous snapshot. Customers
// are committed one by one; a customer that cannot be read keeps its previous snapshot.
func (y *Syncer) SyncAds(ctx context.Context, opts AdsOptions) (AdsResult, error) {
	res := AdsResult{Counts: map[string]int{}}
	if y.Ads == nil {
		return res, errors.New("snapshot: no Microsoft Advertising client")
	}
	unlock, err := lock(ctx, y.Store.ads)
	if err != nil {
		return res, err
	}
	defer unlock()
	if res.Since, err = y.Store.LastSeq(ctx); err != nil {
		return res, err
	}
	customers, err := y.Ads.GetCustomersInfo(ctx, "", MaxCustomers)
	if err != nil {
		return res, err
	}
	for i, c := range customers {
		users, invs, errs, err := y.readCustomer(ctx, c.ID)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Errors = append(res.Errors, fmt.Sprintf("customer %d: %v", c.ID, err))
			continue
		}
		res.Errors = append(res.Errors, errs...)
		if err := y.Store.applyAdsCustomer(ctx, c, users, invs, res.Counts); err != nil {
			return res, err
		}
		res.Customers++
		res.Users += len(users)
		if opts.Progress != nil {
			opts.Progress(i+1, len(customers))
		}
	}
	return res, nil
}

// readCustomer lists a customer's users by status (GetUsersInfo has no status in its answer),
// reads every profile for roles and contact e-mail with bounded concurrency, and lists the
// invitations.
func (y *Syncer) readCustomer(ctx context.Context, customer int64) ([]adsUserRow, []adsInvRow, []string, error) {
	var users []adsUserRow
	for _, st := range ads.UserStatuses {
		infos, err := y.Ads.GetUsersInfo(ctx, customer, st)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, ui := range infos {
			users = append(users, adsUserRow{ID: ui.ID, UserName: ui.UserName, Status: st})
		}
	}
	slices.SortFunc(users, func(a, b adsUserRow) int { return cmp.Compare(a.ID, b.ID) })
	users = slices.CompactFunc(users, func(a, b adsUserRow) bool { return a.ID == b.ID })
	conc := y.Concurrency
	if conc < 1 {
		conc = 8
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for i := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			u, roles, err := y.Ads.GetUser(ctx, users[i].ID)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("customer %d user %d: %v", customer, users[i].ID, err))
				mu.Unlock()
				return
			}
			users[i].Email = u.Email
			users[i].Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
			users[i].Roles = canonicalRoles(roles)
			users[i].profileOK = true
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, nil, ctx.Err()
	}
	list, err := y.Ads.SearchUserInvitations(ctx, customer, "")
	if err != nil {
		return nil, nil, nil, err
	}
	now := y.Store.now()
	invs := make([]adsInvRow, 0, len(list))
	for _, i := range list {
		invs = append(invs, adsInvRow{ID: i.ID, Email: i.Email, Name: strings.TrimSpace(i.FirstName + " " + i.LastName),
			RoleID: i.RoleID, Expires: i.ExpirationDate.UTC(), Expired: !i.ExpirationDate.After(now)})
	}
	return users, invs, errs, nil
}

func canonicalRoles(roles []ads.CustomerRole) string {
	out := make([]adsRole, 0, len(roles))
	for _, r := range roles {
		ids := slices.Clone(r.AccountIDs)
		slices.Sort(ids)
		out = append(out, adsRole{RoleID: r.RoleID, CustomerID: r.CustomerID, AccountIDs: ids})
	}
	slices.SortFunc(out, func(a, b adsRole) int {
		return cmp.Or(cmp.Compare(a.RoleID, b.RoleID), cmp.Compare(a.CustomerID, b.CustomerID),
			slices.Compare(a.AccountIDs, b.AccountIDs))
	})
	raw, _ := json.Marshal(out)
	return string(raw)
}

// describeRoles renders stored roles for people: "Super Admin; Viewer on 1,2".
func describeRoles(stored string) string {
	var roles []adsRole
	_ = json.Unmarshal([]byte(stored), &roles)
	if len(roles) == 0 {
		return "none"
	}
	parts := make([]string, len(roles))
	for i, r := range roles {
		name := ads.RoleName(r.RoleID)
		if name == "" {
			name = "role " + strconv.Itoa(r.RoleID)
		}
		if len(r.AccountIDs) > 0 {
			ids := make([]string, len(r.AccountIDs))
			for j, a := range r.AccountIDs {
				ids[j] = strconv.FormatInt(a, 10)
			}
			name += " on " + strings.Join(ids, ",")
		}
		parts[i] = name
	}
	return strings.Join(parts, "; ")
}

// applyAdsCustomer diffs one customer's fresh read against its stored snapshot, logs the
// differences and replaces the snapshot, in one transaction.
func (s *Store) applyAdsCustomer(ctx context.Context, c ads.CustomerInfo, users []adsUserRow, invs []adsInvRow, counts map[string]int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := s.now().Format("2006-01-02T15:04:05.000Z")
	var synced string
	err = tx.QueryRowContext(ctx, `SELECT synced FROM ads_customers WHERE customer_id = ?`, c.ID).Scan(&synced)
	first := errors.Is(err, sql.ErrNoRows)
	if err != nil && !first {
		return err
	}
	oldUsers, err := loadAdsUsers(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	oldInvs, err := loadAdsInvitations(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	logc, err := tx.PrepareContext(ctx, insertChange)
	if err != nil {
		return err
	}
	defer logc.Close()
	pending := map[string]int{}
	record := func(kind string, id int64, name, detail string) error {
		if first {
			kind = KindBaseline
		}
		pending[kind]++
		if first {
			return nil
		}
		_, err := appendChange(ctx, logc, now, AdsScope, kind, fmt.Sprintf("%d/%d", c.ID, id), name, detail)
		return err
	}

	byName := map[string]bool{}
	fresh := map[int64]bool{}
	for i := range users {
		u := &users[i]
		fresh[u.ID] = true
		old, had := oldUsers[u.ID]
		if !u.profileOK && had { // keep what we knew; the error is reported
			u.Email, u.Name, u.Roles = old.Email, old.Name, old.Roles
		}
		if u.Roles == "" {
			u.Roles = "[]"
		}
		byName[strings.ToLower(u.UserName)] = true
		byName[strings.ToLower(u.Email)] = true
		switch {
		case !had:
			if err := record(KindAdded, u.ID, u.UserName, u.Status+", "+describeRoles(u.Roles)); err != nil {
				return err
			}
			continue
		case old.Status != u.Status:
			if err := record(KindStatusChanged, u.ID, u.UserName, old.Status+" -> "+u.Status); err != nil {
				return err
			}
		}
		if u.profileOK && old.Roles != u.Roles {
			if err := record(KindRoleChanged, u.ID, u.UserName, describeRoles(old.Roles)+" -> "+describeRoles(u.Roles)); err != nil {
				return err
			}
		}
	}
	for id, old := range oldUsers {
		if !fresh[id] {
			if err := record(KindRemoved, id, old.UserName, "no longer listed in any status"); err != nil {
				return err
			}
		}
	}
	freshInv := map[int64]bool{}
	for _, i := range invs {
		freshInv[i.ID] = true
		old, had := oldInvs[i.ID]
		switch {
		case !had:
			if err := record(KindInvited, i.ID, i.Email, roleName(i.RoleID)+", expires "+i.Expires.Format(time.RFC3339)); err != nil {
				return err
			}
		case i.Expired && !old.Expired:
			if err := record(KindInvitationExpired, i.ID, i.Email, "expired "+i.Expires.Format(time.RFC3339)); err != nil {
				return err
			}
		}
	}
	for id, old := range oldInvs {
		if freshInv[id] {
			continue
		}
		kind, detail := KindInvitationRemoved, "no longer listed"
		switch {
		case byName[strings.ToLower(old.Email)]:
			kind, detail = KindInvitationAccepted, "a user with this address now exists"
		case old.Expired:
			continue // its expiry was logged already
		case !old.Expires.After(s.now()):
			kind, detail = KindInvitationExpired, "expired "+old.Expires.Format(time.RFC3339)
		}
		if err := record(kind, id, old.Email, detail); err != nil {
			return err
		}
	}

	if err := replaceAdsCustomer(ctx, tx, c, users, invs, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for k, v := range pending {
		counts[k] += v
	}
	return nil
}

func roleName(id int) string {
	if n := ads.RoleName(id); n != "" {
		return n
	}
	return "role " + strconv.Itoa(id)
}

func replaceAdsCustomer(ctx context.Context, tx *sql.Tx, c ads.CustomerInfo, users []adsUserRow, invs []adsInvRow, now string) error {
	for _, q := range []string{`DELETE FROM ads_users WHERE customer_id = ?`, `DELETE FROM ads_invitations WHERE customer_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, c.ID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ads_customers (customer_id, name, synced) VALUES (?, ?, ?)
		ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name, synced = excluded.synced`, c.ID, c.Name, now); err != nil {
		return err
	}
	putU, err := tx.PrepareContext(ctx, `INSERT INTO ads_users (customer_id, user_id, user_name, email, name, status, roles) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer putU.Close()
	for _, u := range users {
		if _, err := putU.ExecContext(ctx, c.ID, u.ID, u.UserName, u.Email, u.Name, u.Status, u.Roles); err != nil {
			return err
		}
	}
	putI, err := tx.PrepareContext(ctx, `INSERT INTO ads_invitations (customer_id, invitation_id, email, name, role_id, expires, expired) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer putI.Close()
	for _, i := range invs {
		if _, err := putI.ExecContext(ctx, c.ID, i.ID, i.Email, i.Name, i.RoleID, i.Expires.Format(time.RFC3339), i.Expired); err != nil {
			return err
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func loadAdsUsers(ctx context.Context, q querier, customer int64) (map[int64]adsUserRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT user_id, user_name, email, name, status, roles FROM ads_users WHERE customer_id = ?`, customer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]adsUserRow{}
	for rows.Next() {
		var u adsUserRow
		if err := rows.Scan(&u.ID, &u.UserName, &u.Email, &u.Name, &u.Status, &u.Roles); err != nil {
			return nil, err
		}
		out[u.ID] = u
	}
	return out, rows.Err()
}

func loadAdsInvitations(ctx context.Context, q querier, customer int64) (map[int64]adsInvRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT invitation_id, email, name, role_id, expires, expired FROM ads_invitations WHERE customer_id = ?`, customer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]adsInvRow{}
	for rows.Next() {
		var i adsInvRow
		var exp string
		if err := rows.Scan(&i.ID, &i.Email, &i.Name, &i.RoleID, &exp, &i.Expired); err != nil {
			return nil, err
		}
		i.Expires, _ = time.Parse(time.RFC3339, exp)
		out[i.ID] = i
	}
	return out, rows.Err()
}
