package graphemu

import (
	"slices"
	"strings"
	"time"
)

// change is one entry of the directory's ordered change log, the raw material of a later
// /users/delta and /groups/delta. Kinds follow the delta vocabulary (NOTES §2): an upsert
// appears as the object itself, softDeleted as @removed {"reason":"changed"} (restorable) and
// deleted as @removed {"reason":"deleted"} (permanent; also items purged from deletedItems).
type change struct {
	seq        uint64
	objectID   string
	objectType string // objectUser or objectGroup
	kind       string // kindUpsert, kindSoftDeleted or kindDeleted
	at         time.Time
	// prev is a user's version just before this change (nil: it did not exist), so /users/delta
	// can tell whether a change touched a tracked ($select) property (delta.go). Stored users
	// are immutable, so keeping the pointer is a snapshot.
	prev *user
}

const (
	objectUser  = "user"
	objectGroup = "group"

	kindUpsert      = "upsert"
	kindSoftDeleted = "softDeleted"
	kindDeleted     = "deleted"
)

// logChange appends one entry. The caller holds d.mu for writing, so sequence numbers follow
// the order in which mutations became visible. Every write path logs exactly once per object
// it changes:
//   - user upsert: create, PATCH, restore, assignLicense, manager PUT/DELETE,
//     revokeSignInSessions (signInSessionsValidFromDateTime is a user property), sync revert;
//   - user softDeleted: DELETE /users/{id}; user deleted: permanent delete and retention purge;
//   - group upsert: members $ref add/remove, and a purge that drops a member.
func (d *directory) logChange(id, objectType, kind string, at time.Time) {
	var seq uint64 = 1
	if n := len(d.changes); n > 0 {
		seq = d.changes[n-1].seq + 1
	}
	c := change{seq: seq, objectID: id, objectType: objectType, kind: kind, at: at}
	if objectType == objectUser {
		lid := strings.ToLower(id)
		c.prev = d.versions[lid]
		if cur := d.byID[lid]; cur != nil {
			d.versions[lid] = cur
		} else if cur := d.deleted[lid]; cur != nil {
			d.versions[lid] = cur
		} else {
			delete(d.versions, lid)
		}
	}
	d.changes = append(d.changes, c)
}

// changeLog returns a copy of the change log, for tests (and the delta task).
func (s *Server) changeLog() []change {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	return slices.Clone(s.dir.changes)
}
