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
// accounts, users and invitations. It knows nothing of SOAP or REST, so both bindings act
// on the same data. Readers get copies; writers take mu for writing, stamp the row with
// nextVersion and the clock's time.
type state struct {
	mu          sync.RWMutex
	now         func() time.Time
	customer    customer
	users       map[int64]*user
	byName      map[string]int64 // UserName folded to lower case: sign-in names are case-insensitive
	invitations map[int64]*invitation
	lastVersion rowVersion // database-wide counter, as SQL Server's rowversion
	lastUserID  int64
	lastInvID   int64
	lastContact int64 // ContactInfo and Address ids
}

type customer struct {
	ID            int64
	Name          string
	Accounts      []account
	PilotFeatures []int
}

type account struct {
	ID     int64
	Name   string
	Number string
	Status string // AccountLifeCycleStatus
}

// user is one Customer Management user row: the members of ent:User the service stores
// (NOTES §5), plus the roles GetUser returns beside it.
type user struct {
	ID, CustomerID                     int64
	Contact                            contactInfo
	UserName                           string
	FirstName, LastName, MiddleInitial string
	JobTitle                           string
	Lcid                               string // LCID enum name; "" is nil
	SecretQuestion                     string // SecretQuestion enum name; "" is None
	Status                             string // UserLifeCycleStatus
	ForwardCompatibilityMap            []keyValue
	Roles                              []role
	MFA                                bool // GetUserMFAStatus
	LastModifiedTime                   time.Time
	LastModifiedByUserID               int64
	// TimeStamp is the optimistic-concurrency token UpdateUser/DeleteUser must echo
	// (NOTES §12.6); every write replaces it.
	TimeStamp rowVersion
}

// contactInfo is ent:ContactInfo; "" strings and nil pointers are nil members.
type contactInfo struct {
	ID                                  int64
	Address                             *address
	ContactByPhone, ContactByPostalMail *bool
	Email, EmailFormat                  string
	Fax, HomePhone, Mobile              string
	Phone1, Phone2                      string
}

// address is ent:Address (its TimeStamp is always nil in this emulator).
type address struct {
	ID                                            int64
	City, CountryCode, Line1, Line2, Line3, Line4 string
	PostalCode, StateOrProvince, BusinessName     string
}

type keyValue struct{ Key, Value string }

// role is one CustomerRole. AccountIDs nil means customer-level access (NOTES §4.1).
type role struct {
	RoleID     int
	AccountIDs []int64
}

// invitation is one UserInvitation row. Accepted invitations stay in the table (so
// AcceptInvitation can report them) but SearchUserInvitations no longer returns them.
type invitation struct {
	ID                         int64
	CustomerID                 int64
	FirstName, LastName, Email string
	RoleID                     int
	AccountIDs                 []int64
	Lcid                       string
	Expires                    time.Time
	AcceptedUserID             int64 // 0 while pending
}

// rowVersion is an 8-byte SQL Server rowversion, sent as base64 (NOTES §3: "AAAAAKUiw9s=").
type rowVersion uint64

func (v rowVersion) String() string { return base64.StdEncoding.EncodeToString(v.bytes()) }

func (v rowVersion) bytes() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return b[:]
}

// matches reports whether ts, as a client sent it, is exactly this row version. A missing
// (nil) or wrongly sized time stamp never matches (NOTES §12.6).
func (v rowVersion) matches(ts []byte) bool {
	return len(ts) == 8 && binary.BigEndian.Uint64(ts) == uint64(v)
}

// Role ids (NOTES §8).
const (
	roleCampaignManager = 16
	roleAggregator      = 33
	roleSuperAdmin      = 41
	roleViewer          = 100
	roleStandard        = 203
)

// knownRoles are the RoleId values a write may set; v13 has no role enum, so anything else
// is an input validation error (NOTES §7 "invalid role id").
var knownRoles = []int{roleCampaignManager, roleAggregator, roleSuperAdmin, roleViewer, roleStandard}

// customerLevel reports whether roleID always applies to the whole customer, so that
// account ids given with it are ignored (NOTES §4.4, §4.7).
func customerLevel(roleID int) bool { return roleID == roleSuperAdmin || roleID == roleAggregator }

// invitationLifetime is how long a sent invitation stays acceptable (NOTES §4.4, §12.8).
const invitationLifetime = 30 * 24 * time.Hour

// UserLifeCycleStatus values (NOTES §5).
var userStatuses = []string{"Pending", "Active", "Inactive", "Deleted"}

// newState deep-copies t.Ads so the tenant the caller holds is never shared with the
// emulator's mutable rows.
func newState(t *demo.Tenant, now func() time.Time) *state {
	c := t.Ads
	st := &state{
		now:         now,
		customer:    customer{ID: c.ID, Name: c.Name, PilotFeatures: []int{78, 268, 567, 793}},
		users:       make(map[int64]*user, len(c.Users)),
		byName:      make(map[string]int64, len(c.Users)),
		invitations: make(map[int64]*invitation, len(c.Invitations)),
		// Start where real row versions look like they start; any value works.
		lastVersion: 0xA522_0000,
		lastContact: 150_000_000,
		lastInvID:   40_000,
	}
	for _, a := range c.Accounts {
		st.customer.Accounts = append(st.customer.Accounts, account(a))
	}
	users := slices.Clone(c.Users)
	slices.SortFunc(users, func(a, b demo.AdsUser) int { return cmp.Compare(a.ID, b.ID) })
	no := false
	for _, u := range users {
		changed := u.LastChanged
		if changed.IsZero() {
			changed = t.Created
		}
		st.lastContact++
		row := &user{
			ID: u.ID, CustomerID: c.ID,
			Contact: contactInfo{ID: st.lastContact, Email: u.Email, Phone1: u.Phone,
				ContactByPhone: &no, ContactByPostalMail: &no},
			UserName: u.UserName, FirstName: u.FirstName, LastName: u.LastName,
			JobTitle: u.JobTitle, Lcid: u.Lcid, Status: u.Status, MFA: true,
			LastModifiedTime: changed.UTC(), LastModifiedByUserID: u.ID, TimeStamp: st.nextVersion(),
		}
		for _, r := range u.Roles {
			row.Roles = append(row.Roles, role{RoleID: r.RoleID, AccountIDs: slices.Clone(r.AccountIDs)})
		}
		st.users[u.ID] = row
		st.byName[strings.ToLower(u.UserName)] = u.ID
		st.lastUserID = max(st.lastUserID, u.ID)
	}
	for _, inv := range c.Invitations {
		st.invitations[inv.ID] = &invitation{ID: inv.ID, CustomerID: c.ID, FirstName: inv.FirstName,
			LastName: inv.LastName, Email: inv.Email, RoleID: inv.RoleID, AccountIDs: slices.Clone(inv.AccountIDs),
			Lcid: inv.Lcid, Expires: st.now().UTC().Add(inv.ExpiresIn)}
		st.lastInvID = max(st.lastInvID, inv.ID)
	}
	return st
}

// nextVersion issues a new row version; callers hold mu for writing (or own st).
func (st *state) nextVersion() rowVersion {
	st.lastVersion++
	return st.lastVersion
}

// touch records a successful write of u by byUserID: new row version, modification time
// and author (NOTES §12.6). Callers hold mu for writing.
func (st *state) touch(u *user, byUserID int64) {
	u.TimeStamp = st.nextVersion()
	u.LastModifiedTime = st.now().UTC()
	u.LastModifiedByUserID = byUserID
}

// clone returns a copy of u that shares no slices or pointers with the row.
func (u *user) clone() user {
	c := *u
	c.Roles = cloneRoles(u.Roles)
	c.ForwardCompatibilityMap = slices.Clone(u.ForwardCompatibilityMap)
	if u.Contact.Address != nil {
		a := *u.Contact.Address
		c.Contact.Address = &a
	}
	c.Contact.ContactByPhone = cloneBool(u.Contact.ContactByPhone)
	c.Contact.ContactByPostalMail = cloneBool(u.Contact.ContactByPostalMail)
	return c
}

func cloneRoles(rs []role) []role {
	if rs == nil {
		return nil
	}
	out := make([]role, len(rs))
	for i, r := range rs {
		out[i] = role{RoleID: r.RoleID, AccountIDs: slices.Clone(r.AccountIDs)}
	}
	return out
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

func (inv *invitation) clone() invitation {
	c := *inv
	c.AccountIDs = slices.Clone(inv.AccountIDs)
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
func (st *state) usersInfo(customerID int64, status string) []userInfo {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]userInfo, 0, len(st.users))
	for _, u := range st.users {
		if u.CustomerID == customerID && (status == "" || u.Status == status) {
			out = append(out, userInfo{ID: u.ID, UserName: u.UserName})
		}
	}
	slices.SortFunc(out, func(a, b userInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// pendingInvitations lists the invitations of customerID not yet accepted, expired or not
// (NOTES §4.5), in id order.
func (st *state) pendingInvitations(customerID int64) []invitation {
	st.mu.RLock()
	defer st.mu.RUnlock()
	var out []invitation
	for _, inv := range st.invitations {
		if inv.CustomerID == customerID && inv.AcceptedUserID == 0 {
			out = append(out, inv.clone())
		}
	}
	slices.SortFunc(out, func(a, b invitation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// hasAccount reports whether id is an account of the customer.
func (c *customer) hasAccount(id int64) bool {
	return slices.ContainsFunc(c.Accounts, func(a account) bool { return a.ID == id })
}

// canAccess reports whether u holds a role on the customer. Every role in this emulator
// is on u's own customer (CustomerRole/CustomerId); linked customers are future work.
func (u user) canAccess(customerID int64) bool {
	return len(u.Roles) > 0 && u.CustomerID == customerID
}

// hasRole reports whether u holds roleID on its customer.
func (u user) hasRole(roleID int) bool {
	return slices.ContainsFunc(u.Roles, func(r role) bool { return r.RoleID == roleID })
}

// canManageUsers reports whether u may invite, update and change the roles of users:
// Super Admin or Standard only (NOTES §8, §12.7).
func (u user) canManageUsers() bool { return u.hasRole(roleSuperAdmin) || u.hasRole(roleStandard) }

// accountIDs lists the accounts u can see: all of the customer's for a customer-level role,
// else the union of its roles' accounts.
func (u user) accountIDs(c *customer) []int64 {
	var ids []int64
	for _, r := range u.Roles {
		if r.AccountIDs == nil {
			ids = ids[:0]
			for _, a := range c.Accounts {
				ids = append(ids, a.ID)
			}
			return ids
		}
		ids = append(ids, r.AccountIDs...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
