package graphemu

import (
	"slices"
	"strings"
	"sync"

	"github.com/msidm/msidm/sandbox/demo"
)

// directory is the emulator's tenant state. One RWMutex guards it: reads (GET, list pages)
// share the lock, later writes (create, PATCH, DELETE, restore) take it exclusively. Stored
// *user values are never mutated in place (see user), so callers may use them after unlocking.
//
// Users are indexed by lower-cased id and lower-cased userPrincipalName, and live users are
// also kept in order, sorted by lower-cased id: paging resumes after the last id it returned
// (a binary search), so a skiptoken stays valid while users are added or removed.
type directory struct {
	mu      sync.RWMutex
	byID    map[string]*user
	byUPN   map[string]*user
	order   []string         // lower-cased ids of live users, ascending
	deleted map[string]*user // soft-deleted users (/directory/deletedItems, a later issue)
}

func newDirectory(t *demo.Tenant) *directory {
	d := &directory{
		byID:    make(map[string]*user, len(t.People)),
		byUPN:   make(map[string]*user, len(t.People)),
		deleted: make(map[string]*user),
	}
	for _, p := range t.People {
		u := userFromPerson(p, t.Domain)
		if u.deleted {
			d.deleted[strings.ToLower(u.id)] = u
			continue
		}
		d.byID[strings.ToLower(u.id)] = u
		d.byUPN[strings.ToLower(u.userPrincipalName)] = u
		d.order = append(d.order, strings.ToLower(u.id))
	}
	slices.Sort(d.order)
	return d
}

// insert adds or replaces a live user. The caller holds d.mu for writing.
func (d *directory) insert(u *user) {
	id := strings.ToLower(u.id)
	if old, ok := d.byID[id]; ok {
		delete(d.byUPN, strings.ToLower(old.userPrincipalName))
	} else {
		i, _ := slices.BinarySearch(d.order, id)
		d.order = slices.Insert(d.order, i, id)
	}
	d.byID[id] = u
	d.byUPN[strings.ToLower(u.userPrincipalName)] = u
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
	return u
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

// page returns up to n live users whose id sorts after `after` ("" = from the start) and that
// match (nil = all), and whether at least one more matching user follows.
func (d *directory) page(after string, n int, match func(*user) bool) ([]*user, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, found := slices.BinarySearch(d.order, after)
	if found {
		i++
	}
	out := make([]*user, 0, min(n, len(d.order)-i))
	for ; i < len(d.order); i++ {
		u := d.byID[d.order[i]]
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
	if match == nil {
		return len(d.order)
	}
	n := 0
	for _, id := range d.order {
		if match(d.byID[id]) {
			n++
		}
	}
	return n
}
