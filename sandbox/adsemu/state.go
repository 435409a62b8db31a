package adsemu

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
)

// state is the emulator's in-memory Customer Management database: one customer with its
// accounts, users and invitations. It knows nothing of SOAP or REST, so every binding acts
// on the same data. Readers get copies; writers (UpdateUser, DeleteUser, …) take mu for
// writing and stamp the row with nextVersion.
type state struct {
	mu          sync.RWMutex
	customer    customer
	users       map[int64]*user
	byName      map[string]int64 // UserName folded to lower case: sign-in names are case-insensitive
	invitations map[int64]*invitation
	lastVersion rowVersion // database-wide counter, as SQL Server's rowversion
}

type customer struct {
	ID       int64
	Name     string
	Accounts []account
}

type account struct {
	ID     int64
	Name   string
	Number string
	Status string // AccountLifeCycleStatus
}

// user is one Customer Management user row.
type user struct {
	ID, CustomerID, ContactID int64
	UserName, Email           string
	FirstName, LastName       string
	JobTitle, Phone           string
	Lcid                      string // LCID enum name
	Status                    string // UserLifeCycleStatus
	Roles                     []role
	LastModifiedTime          time.Time
	LastModifiedByUserID      int64
	// TimeStamp is the optimistic-concurrency token UpdateUser/DeleteUser must echo
	// (NOTES §12.6); every write replaces it.
	TimeStamp rowVersion
}

// role is one CustomerRole. AccountIDs nil means customer-level access (NOTES §4.1).
type role struct {
	RoleID     int
	AccountIDs []int64
}

type invitation struct {
	ID                         int64
	FirstName, LastName, Email string
	RoleID                     int
	AccountIDs                 []int64
	Lcid                       string
	Expires                    time.Time
}

// rowVersion is an 8-byte SQL Server rowversion, sent as base64 (NOTES §3: "AAAAAKUiw9s=").
type rowVersion uint64

func (v rowVersion) String() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return base64.StdEncoding.EncodeToString(b[:])
}

// UserLifeCycleStatus values (NOTES §5).
var userStatuses = []string{"Pending", "Active", "Inactive", "Deleted"}

// newState deep-copies t.Ads so the tenant the caller holds is never shared with the
// emulator's mutable rows.
func newState(t *demo.Tenant) *state {
	c := t.Ads
	st := &state{
		customer:    customer{ID: c.ID, Name: c.Name},
		users:       make(map[int64]*user, len(c.Users)),
		byName:      make(map[string]int64, len(c.Users)),
		invitations: make(map[int64]*invitation, len(c.Invitations)),
		// Start where real row versions look like they start; any value works.
		lastVersion: 0xA522_0000,
	}
	for _, a := range c.Accounts {
		st.customer.Accounts = append(st.customer.Accounts, account(a))
	}
	users := slices.Clone(c.Users)
	slices.SortFunc(users, func(a, b demo.AdsUser) int { return cmp.Compare(a.ID, b.ID) })
	for i, u := range users {
		changed := u.LastChanged
		if changed.IsZero() {
			changed = t.Created
		}
		row := &user{
			ID: u.ID, CustomerID: c.ID, ContactID: 150_000_001 + int64(i),
			UserName: u.UserName, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
			JobTitle: u.JobTitle, Phone: u.Phone, Lcid: u.Lcid, Status: u.Status,
			LastModifiedTime: changed.UTC(), LastModifiedByUserID: u.ID, TimeStamp: st.nextVersion(),
		}
		for _, r := range u.Roles {
			row.Roles = append(row.Roles, role{RoleID: r.RoleID, AccountIDs: slices.Clone(r.AccountIDs)})
		}
		st.users[u.ID] = row
		st.byName[strings.ToLower(u.UserName)] = u.ID
	}
	for _, inv := range c.Invitations {
		st.invitations[inv.ID] = &invitation{ID: inv.ID, FirstName: inv.FirstName, LastName: inv.LastName,
			Email: inv.Email, RoleID: inv.RoleID, AccountIDs: slices.Clone(inv.AccountIDs), Lcid: inv.Lcid,
			Expires: inv.Expires.UTC()}
	}
	return st
}

// nextVersion issues a new row version; callers hold mu for writing (or own st).
func (st *state) nextVersion() rowVersion {
	st.lastVersion++
	return st.lastVersion
}

// clone returns a copy of u that shares no slices with the row.
func (u *user) clone() user {
	c := *u
	c.Roles = make([]role, len(u.Roles))
	for i, r := range u.Roles {
		c.Roles[i] = role{RoleID: r.RoleID, AccountIDs: slices.Clone(r.AccountIDs)}
	}
	return c
}

// userByID returns a copy of the user, or errEntityNotExistent.
func (st *state) userByID(id int64) (user, error) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	u, ok := st.users[id]
	if !ok {
		return user{}, errEntityNotExistent
	}
	return u.clone(), nil
}

// userByName returns a copy of the user who signs in as name.
func (st *state) userByName(name string) (user, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	id, ok := st.byName[strings.ToLower(name)]
	if !ok {
		return user{}, false
	}
	return st.users[id].clone(), true
}

// userInfo is one ArrayOfUserInfo item.
type userInfo struct {
	ID       int64
	UserName string
}

// usersInfo lists the users of customerID whose status is status ("" = any), in user id
// order. There is no paging (NOTES §4.3).
func (st *state) usersInfo(caller user, customerID int64, status string) ([]userInfo, error) {
	if customerID <= 0 {
		return nil, errInputValidation
	}
	if !caller.canAccess(customerID) {
		return nil, errNotAuthorized
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]userInfo, 0, len(st.users))
	for _, u := range st.users {
		if u.CustomerID == customerID && (status == "" || u.Status == status) {
			out = append(out, userInfo{ID: u.ID, UserName: u.UserName})
		}
	}
	slices.SortFunc(out, func(a, b userInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// canAccess reports whether u holds a role on the customer. Every role in this emulator
// is on u's own customer (CustomerRole/CustomerId); linked customers are future work.
func (u user) canAccess(customerID int64) bool {
	return len(u.Roles) > 0 && u.CustomerID == customerID
}
