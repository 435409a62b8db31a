package graphemu

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/msidm/msidm/sandbox/demo"
)

// directory is the emulator's tenant state. One RWMutex guards it: reads (GET, list pages)
// share the lock, writes (create, PATCH, DELETE, restore, licences, membership) take it
// exclusively. Stored *user values are never mutated in place (see user), so callers may use
// them after unlocking; a group's properties are immutable too, only its members set changes,
// and that is read under the lock.
//
// Users are indexed by lower-cased id and lower-cased userPrincipalName, and live users are
// also kept in order, sorted by lower-cased id: paging resumes after the last id it returned
// (a binary search), so a skiptoken stays valid while users are added or removed.
type directory struct {
	tenantID     string
	tenantName   string
	mu           sync.RWMutex
	byID         map[string]*user
	byUPN        map[string]*user
	order        []string         // lower-cased ids of live users, ascending
	deleted      map[string]*user // soft-deleted users (/directory/deletedItems, NOTES §1.12)
	deletedOrder []string         // lower-cased ids of deleted users, ascending

	groups     map[string]*group // key: lower-cased id
	groupOrder []string          // lower-cased group ids, ascending

	roles     map[string]*directoryRole // activated directory roles, key: lower-cased id (directoryroles.go)
	roleOrder []string                  // lower-cased role ids, ascending

	skus     []*sku
	consumed map[string]int // lower-cased skuId → live users holding it (consumedUnits)

	changes []change // ordered change log for delta (changelog.go)
	// versions holds every user's version as of its last logged change (or the seed), keyed by
	// lower-cased id: logChange reads it for change.prev.
	versions map[string]*user

	// pendingRevert holds the ids of synced users with a sync revert scheduled (sync.go).
	pendingRevert map[string]bool
	// due is the earliest time (Unix ns) a maintenance task (sync revert, retention purge)
	// falls due, 0 for none. It is read without the lock, so a request with nothing due pays
	// one atomic load.
	due atomic.Int64
}

// retention is how long a soft-deleted user stays restorable (NOTES §1.5, §1.12).
const retention = 30 * 24 * time.Hour

// sku is one subscribed licence product (NOTES §1.11).
type sku struct {
	id         string
	partNumber string
	prepaid    int
	plans      []demo.ServicePlan
}

func newDirectory(t *demo.Tenant, now time.Time, rules *filterSchema) *directory {
	d := &directory{
		tenantID:      t.ID,
		tenantName:    t.Name,
		byID:          make(map[string]*user, len(t.People)),
		byUPN:         make(map[string]*user, len(t.People)),
		deleted:       make(map[string]*user),
		groups:        make(map[string]*group, len(t.Groups)),
		consumed:      make(map[string]int, len(t.SKUs)),
		pendingRevert: make(map[string]bool),
		versions:      make(map[string]*user, len(t.People)),
	}
	for _, p := range t.People {
		u := userFromPerson(p, t.Domain, now)
		d.versions[strings.ToLower(u.id)] = u
		if u.deleted {
			d.deleted[strings.ToLower(u.id)] = u
			d.deletedOrder = append(d.deletedOrder, strings.ToLower(u.id))
			d.schedule(u.deletedDateTime.Add(retention))
			continue
		}
		d.byID[strings.ToLower(u.id)] = u
		d.byUPN[strings.ToLower(u.userPrincipalName)] = u
		d.order = append(d.order, strings.ToLower(u.id))
		d.account(u, 1)
	}
	slices.Sort(d.order)
	slices.Sort(d.deletedOrder)
	for _, s := range t.SKUs {
		d.skus = append(d.skus, &sku{id: s.ID, partNumber: s.PartNumber, prepaid: s.PrepaidUnits, plans: slices.Clone(s.ServicePlans)})
	}
	for _, g := range t.Groups {
		gr := groupFromDemo(g, rules)
		d.groups[strings.ToLower(gr.id)] = gr
		d.groupOrder = append(d.groupOrder, strings.ToLower(gr.id))
	}
	slices.Sort(d.groupOrder)
	d.seedRoles(t.DirectoryRoles)
	return d
}

// account adds sign (+1/-1) to the consumed units of every SKU u holds.
func (d *directory) account(u *user, sign int) {
	for _, l := range u.licenses {
		d.consumed[strings.ToLower(l.skuID)] += sign
	}
}

// insert adds or replaces a live user. The caller holds d.mu for writing.
func (d *directory) insert(u *user) {
	id := strings.ToLower(u.id)
	if old, ok := d.byID[id]; ok {
		delete(d.byUPN, strings.ToLower(old.userPrincipalName))
		d.account(old, -1)
	} else {
		i, _ := slices.BinarySearch(d.order, id)
		d.order = slices.Insert(d.order, i, id)
	}
	d.byID[id] = u
	d.byUPN[strings.ToLower(u.userPrincipalName)] = u
	d.account(u, 1)
}

// remove drops a live user from the indexes. The caller holds d.mu for writing.
func (d *directory) remove(id string) *user {
	id = strings.ToLower(id)
	u, ok := d.byID[id]
	if !ok {
		return nil
	}
	delete(d.byID, id)
	delete(d.byUPN, strings.ToLower(u.userPrincipalName))
	if i, found := slices.BinarySearch(d.order, id); found {
		d.order = slices.Delete(d.order, i, i+1)
	}
	d.account(u, -1)
	return u
}

// sortedInsert and sortedDelete maintain an ascending id slice.
func sortedInsert(ids []string, id string) []string {
	i, found := slices.BinarySearch(ids, id)
	if found {
		return ids
	}
	return slices.Insert(ids, i, id)
}

func sortedDelete(ids []string, id string) []string {
	if i, found := slices.BinarySearch(ids, id); found {
		return slices.Delete(ids, i, i+1)
	}
	return ids
}

func (d *directory) userByID(id string) *user {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.byID[strings.ToLower(id)]
}

func (d *directory) userByUPN(upn string) *user {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.byUPN[strings.ToLower(upn)]
}

// lookup finds a live user by id or UPN. The caller holds d.mu.
func (d *directory) lookup(key string) *user {
	if isGUID(key) {
		return d.byID[strings.ToLower(key)]
	}
	return d.byUPN[strings.ToLower(key)]
}

// page returns up to n live users whose id sorts after `after` ("" = from the start) and that
// match (nil = all), and whether at least one more matching user follows.
func (d *directory) page(after string, n int, match func(*user) bool) ([]*user, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return pageUsers(d.order, d.byID, after, n, match)
}

// deletedPage is page over the deleted-items container.
func (d *directory) deletedPage(after string, n int, match func(*user) bool) ([]*user, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return pageUsers(d.deletedOrder, d.deleted, after, n, match)
}

func pageUsers(order []string, byID map[string]*user, after string, n int, match func(*user) bool) ([]*user, bool) {
	i, found := slices.BinarySearch(order, after)
	if found {
		i++
	}
	out := make([]*user, 0, min(n, len(order)-i))
	for ; i < len(order); i++ {
		u := byID[order[i]]
		if match != nil && !match(u) {
			continue
		}
		if len(out) == n {
			return out, true
		}
		out = append(out, u)
	}
	return out, false
}

// count returns the number of live users that match (nil = all).
func (d *directory) count(match func(*user) bool) int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return countUsers(d.order, d.byID, match)
}

func (d *directory) deletedCount(match func(*user) bool) int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return countUsers(d.deletedOrder, d.deleted, match)
}

func countUsers(order []string, byID map[string]*user, match func(*user) bool) int {
	if match == nil {
		return len(order)
	}
	n := 0
	for _, id := range order {
		if match(byID[id]) {
			n++
		}
	}
	return n
}

// schedule makes maintenance run no later than t. The caller holds d.mu for writing (or is
// the constructor).
func (d *directory) schedule(t time.Time) {
	ns := t.UnixNano()
	if ns <= 0 {
		ns = 1
	}
	if cur := d.due.Load(); cur == 0 || ns < cur {
		d.due.Store(ns)
	}
}

// maintain runs the tasks that fall due by now: sync reverts and the retention purge. They
// run lazily at the start of each request, which is indistinguishable from a background timer
// for any client, and keeps tests deterministic under an injected clock.
func (d *directory) maintain(now time.Time) {
	if due := d.due.Load(); due == 0 || now.UnixNano() < due {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.due.Store(0)
	d.runSyncReverts(now)
	d.purgeExpired(now)
}

// purgeExpired permanently deletes users soft-deleted at least retention ago (NOTES §1.5:
// "After that time, they are permanently deleted"). The caller holds d.mu for writing.
func (d *directory) purgeExpired(now time.Time) {
	for _, id := range slices.Clone(d.deletedOrder) {
		u := d.deleted[id]
		expires := u.deletedDateTime.Add(retention)
		if now.Before(expires) {
			d.schedule(expires)
			continue
		}
		d.purge(u, now)
	}
}

// purge removes a deleted user for good, with its group memberships and directory role
// assignments. The caller holds d.mu.
func (d *directory) purge(u *user, now time.Time) {
	id := strings.ToLower(u.id)
	delete(d.deleted, id)
	d.deletedOrder = sortedDelete(d.deletedOrder, id)
	d.logChange(u.id, objectUser, kindDeleted, now)
	for _, gid := range d.groupOrder {
		if g := d.groups[gid]; g.members[id] {
			delete(g.members, id)
			d.logChange(g.id, objectGroup, kindUpsert, now)
		}
	}
	d.dropRoleMember(id)
}
